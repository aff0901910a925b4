"""The council's contact details every letter carries (Appendix C: where to write and ring).

They are the council's, not policy figures, so they come from the environment, with the
details the policy itself publishes (Appendix C) as the defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Council:
    name: str
    team: str
    address: tuple[str, ...]
    phone: str
    email: str
    website: str


def council_details() -> Council:
    env = os.environ.get
    address = env("COUNCIL_ADDRESS", "County Offices|Newland|Lincoln|LN1 1YL")
    return Council(
        name=env("COUNCIL_NAME", "Lincolnshire County Council"),
        team=env("COUNCIL_TEAM", "The Transport Eligibility Team"),
        address=tuple(part.strip() for part in address.split("|") if part.strip()),
        phone=env("COUNCIL_PHONE", "01522 782020"),
        email=env("COUNCIL_EMAIL", "SchoolTransportApplications@lincolnshire.gov.uk"),
        website=env("COUNCIL_WEBSITE", "www.lincolnshire.gov.uk/school-college-transport"),
    )
