"""The waiting list explains itself: a route's register for a year, in Appendix F order, with
each applicant's facts and the tier or tie-break that put them below the one above.

The order is `rules.register` over `services.seats.gather_candidates`' facts: the very order
allocation uses, so what staff tell a parent is what the allocation did.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import rules
from models import ConcessionaryApplication, Pupil
from models.enums import ConcessionaryStatus
from rules.register import priority_key
from services.seats import gather_candidates

CA = ConcessionaryApplication
# What each place in `rules.register.priority_key` is, in words (Appendix F, then the project's
# tie-breaks).
KEY_WORDS = (
    "1st tier: lives in the county",
    "2nd tier: wants both sessions",
    "3rd tier: attends the designated or nearest school",
    "4th tier: part way through an exam course",
    "5th tier: lives further away",
    "6th tier: is younger",
    "tie-break: applied earlier",
    "tie-break: lower application reference",
)
ON_REGISTER = (ConcessionaryStatus.PENDING, ConcessionaryStatus.WAITING)


@dataclass(frozen=True)
class Place:
    position: int
    reference: str
    application_id: int
    pupil_id: int
    child: str
    status: ConcessionaryStatus
    waitlist_position: int | None
    applicant: rules.Applicant
    placed_by: str


def placed_by(above: rules.Applicant | None, this: rules.Applicant) -> str:
    """Why `this` comes after `above`: the first part of the priority key that differs."""
    if above is None:
        return "first on the register"
    for words, a, b in zip(KEY_WORDS, priority_key(above), priority_key(this), strict=True):
        if a != b:
            rank, why = words.split(": ")
            return f"below {above.id} on the {rank} (the one above {why})"
    return "identical to the one above"


def route_register(session: Session, route_id: int, year: str) -> list[Place]:
    """The pending and waiting applicants on the route for the year, in register order."""
    candidates = gather_candidates(
        session, [CA.route_id == route_id, CA.status.in_(ON_REGISTER)], year
    )
    by_ref = {c.applicant.id: c for c in candidates}
    names = dict(
        session.execute(
            select(Pupil.id, Pupil.first_name + " " + Pupil.last_name).where(
                Pupil.id.in_([c.pupil_id for c in candidates])
            )
        ).all()
    )
    ordered = rules.register([c.applicant for c in candidates])
    places = []
    above: rules.Applicant | None = None
    for n, applicant in enumerate(ordered, start=1):
        c = by_ref[applicant.id]
        places.append(
            Place(
                n,
                applicant.id,
                c.application_id,
                c.pupil_id,
                names.get(c.pupil_id, ""),
                c.status,
                c.position,
                applicant,
                placed_by(above, applicant),
            )
        )
        above = applicant
    return places
