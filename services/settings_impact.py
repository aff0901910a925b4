"""What changing a year's charges or policy figures touches, counted before it is saved (issue 14).

A supervisor changing the figures of the year in force sees, in words, how many stored records
the change reaches and what stays as it is, and saves only on confirming. The words follow what
the code does on and after such a save, nothing more:

* policy figures: a decision stores its facts and the figures' year, and its facts hash covers
  the figures, so each current decision stays as it is until the year is assessed again, when
  each is decided afresh (a changed outcome supersedes the old one and its letter follows);
  applications awaiting a decision are decided on the new figures; changing B2a's figures works
  out every application's decision target again on saving (`services.years`);
* charges (A7 post-16 contribution, A9 concessionary charge, B1j plans): a contribution stores
  its own amount and instalments, so only contributions raised after the save take the new
  figures (seats allocated from the waiting list and pending applications, post-16 awards not
  yet charged);
* either way: contributions already raised, their instalments and payments, withdrawals and
  their dates, appeals and their deadlines, and letters already made keep their figures.

One grouped count per table, so the page costs the same however many rows the year holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from models import (
    Appeal,
    Communication,
    ConcessionaryApplication,
    ConcessionarySeat,
    Contribution,
    EligibilityDecision,
    Instalment,
    Payment,
    TransportApplication,
    Withdrawal,
)
from models.enums import (
    ApplicationStatus,
    Charge,
    CommunicationStatus,
    ConcessionaryStatus,
    ContributionKind,
    Outcome,
)

Kind = Literal["parameters", "charges"]
# B2a's figures: changing one works out the year's decision targets again on saving.
B2_FIGURES = frozenset(
    {"decision_target_working_days", "busy_period_first_month", "busy_period_last_month"}
)
POST16_CHARGES = frozenset({"post16_contribution", "offers_full", "offers_three", "offers_six"})
SEAT_CHARGES = frozenset(
    {"concessionary_annual_charge", "offers_full", "offers_three", "offers_six"}
)


@dataclass
class Impact:
    """The change in words: the figures changed, what it reaches, and what stays as it is."""

    year: str
    changed: list[str] = field(default_factory=list)
    affected: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _count(session: Session, stmt: Any) -> int:
    return int(session.scalar(stmt) or 0)


def _kept(session: Session, year: str) -> list[str]:
    """What no change to a year's figures rewrites: money raised, notices, appeals, letters."""
    c = Contribution
    money = session.execute(
        select(
            func.count(func.distinct(c.id)),
            func.count(func.distinct(Instalment.id)),
        )
        .select_from(c)
        .outerjoin(Instalment, Instalment.contribution_id == c.id)
        .where(c.academic_year == year)
    ).one()
    payments = _count(
        session,
        select(func.count(Payment.id))
        .join(c, c.id == Payment.contribution_id)
        .where(c.academic_year == year),
    )
    dec, ta = EligibilityDecision, TransportApplication
    seat, ca = ConcessionarySeat, ConcessionaryApplication
    withdrawals = _count(
        session,
        select(func.count(Withdrawal.id)).where(
            Withdrawal.decision_id.in_(
                select(dec.id).join(ta, ta.id == dec.application_id).where(ta.academic_year == year)
            )
            | Withdrawal.concessionary_seat_id.in_(
                select(seat.id)
                .join(ca, ca.id == seat.application_id)
                .where(ca.academic_year == year)
            )
        ),
    )
    appeals = _count(
        session,
        select(func.count(Appeal.id))
        .join(dec, dec.id == Appeal.decision_id)
        .join(ta, ta.id == dec.application_id)
        .where(ta.academic_year == year),
    )
    letters = session.execute(
        select(
            func.count(Communication.id),
            func.coalesce(
                func.sum(case((Communication.status != CommunicationStatus.QUEUED, 1), else_=0)),
                0,
            ),
        ).where(
            Communication.academic_year == year,
            Communication.status != CommunicationStatus.CANCELLED,
        )
    ).one()
    return [
        f"{_plural(money[0], 'contribution')} already raised, with "
        f"{_plural(money[1], 'instalment')} and {_plural(payments, 'payment')} recorded: "
        "amounts and due dates unchanged.",
        f"{_plural(withdrawals, 'withdrawal')}: notice and effective dates unchanged.",
        f"{_plural(appeals, 'appeal')}: Appendix C deadlines unchanged.",
        f"{_plural(int(letters[0]), 'letter')} already made ({int(letters[1]):,} sent): the "
        "figures they quote unchanged.",
        "Other academic years: figures, decisions and money not touched.",
    ]


def _parameters(session: Session, year: str, names: set[str], impact: Impact) -> None:
    ta, dec = TransportApplication, EligibilityDecision
    live = and_(ta.academic_year == year, ta.status != ApplicationStatus.WITHDRAWN)
    awaiting = _count(
        session,
        select(func.count(ta.id)).where(
            ta.academic_year == year, ta.status == ApplicationStatus.RECEIVED
        ),
    )
    current = _count(
        session,
        select(func.count(dec.id))
        .join(ta, ta.id == dec.application_id)
        .where(live, dec.superseded_at.is_(None)),
    )
    impact.affected.append(
        f"{_plural(awaiting, 'application')} awaiting a decision: decided on the new figures "
        "when assessed."
    )
    impact.affected.append(
        f"{_plural(current, 'current decision')} made on the old figures: each is decided "
        "afresh the next time the year is assessed; a changed outcome supersedes the old "
        "decision (kept in the history) and its letter follows."
    )
    if names & B2_FIGURES:
        every = _count(session, select(func.count(ta.id)).where(ta.academic_year == year))
        impact.affected.append(
            f"{_plural(every, 'application')} of the year: the B2 decision target of each is "
            "worked out again on saving."
        )
    impact.unchanged.insert(
        0,
        f"{_plural(current, 'current decision')}: unchanged until then; nothing is re-decided "
        "on saving, and no letter goes because of the change alone.",
    )


def _charges(session: Session, year: str, names: set[str], impact: Impact) -> None:
    ca, seat = ConcessionaryApplication, ConcessionarySeat
    ta, dec = TransportApplication, EligibilityDecision
    if names & SEAT_CHARGES:
        waiting = _count(
            session,
            select(func.count(ca.id)).where(
                ca.academic_year == year,
                ca.status.in_([ConcessionaryStatus.PENDING, ConcessionaryStatus.WAITING]),
            ),
        )
        held = _count(
            session,
            select(func.count(seat.id))
            .join(ca, ca.id == seat.application_id)
            .where(ca.academic_year == year),
        )
        impact.affected.append(
            f"{_plural(waiting, 'concessionary seat application')} pending or on a waiting "
            "list: charged the new figures (pro rata, A9) if a seat is allocated."
        )
        impact.unchanged.insert(
            0,
            f"{_plural(held, 'concessionary seat')} already allocated: each keeps the "
            "contribution worked out when it was allocated.",
        )
    if names & POST16_CHARGES:
        charged = select(Contribution.transport_application_id).where(
            Contribution.kind == ContributionKind.POST16,
            Contribution.transport_application_id.is_not(None),
        )
        not_yet = _count(
            session,
            select(func.count(dec.id))
            .join(ta, ta.id == dec.application_id)
            .where(
                ta.academic_year == year,
                ta.status != ApplicationStatus.WITHDRAWN,
                dec.superseded_at.is_(None),
                dec.outcome == Outcome.ELIGIBLE,
                dec.charge == Charge.CONTRIBUTION,
                ta.id.not_in(charged),
            ),
        )
        awaiting = _count(
            session,
            select(func.count(ta.id)).where(
                ta.academic_year == year, ta.status == ApplicationStatus.RECEIVED
            ),
        )
        impact.affected.append(
            f"{_plural(not_yet, 'post-16 award')} charging a contribution not yet raised, and "
            f"{_plural(awaiting, 'application')} awaiting a decision: charged the new figures "
            "if and when a contribution is raised (A7, B1j)."
        )


def impact_of(
    session: Session, kind: Kind, year: str, changed: dict[str, tuple[str, str, str]]
) -> Impact:
    """What saving `changed` ({figure's name: (its label, old value, new value), in words})
    for `year` would touch."""
    impact = Impact(
        year, changed=[f"{label}: {old} → {new}" for label, old, new in changed.values()]
    )
    impact.unchanged = _kept(session, year)
    if kind == "parameters":
        _parameters(session, year, set(changed), impact)
    else:
        _charges(session, year, set(changed), impact)
    return impact
