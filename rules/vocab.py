"""The closed vocabularies of the rules contract (RULES.md), as string enums.

They compare equal to their JSON spelling, so decisions serialise without translation.
"""

from __future__ import annotations

from enum import StrEnum


class SchoolType(StrEnum):
    MAINTAINED = "maintained"
    ACADEMY = "academy"
    SPECIAL = "special"
    FE_COLLEGE = "fe_college"
    ALTERNATIVE_PROVISION = "alternative_provision"
    INDEPENDENT = "independent"  # A2a: outside the policy


class MedicalWho(StrEnum):
    CHILD = "child"  # A13
    PARENT = "parent"  # A13 "Medical condition of parent", B1e


class CareBy(StrEnum):
    COUNCIL = "council"  # A21
    OTHER_LA = "other_la"  # A22


class Placement(StrEnum):
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


class Outcome(StrEnum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    REFER = "refer"
    MEASURE = "measure"


class Charge(StrEnum):
    FREE = "free"
    CONTRIBUTION = "contribution"
    HOME_LA = "home_la"


class Stage(StrEnum):
    BELOW_SCHOOL_AGE = "below_school_age"
    PRIMARY = "primary"  # Reception to Year 6
    SECONDARY = "secondary"  # Years 7 to 11
    POST16 = "post16"  # Year 12 and above


class Sessions(StrEnum):
    """Appendix F: a concessionary seat for the morning, the afternoon, or both."""

    AM = "am"
    PM = "pm"
    BOTH = "both"


class Plan(StrEnum):
    """B1j: the contribution is paid in full, in three instalments or in six."""

    FULL = "full"
    THREE = "3"
    SIX = "6"


def expected_values(enum_cls: type[StrEnum]) -> str:
    """The spelling a refusal message lists, e.g. ``am, pm, both``."""
    return ", ".join(member.value for member in enum_cls)
