"""Concessionary seats in the database: spare seats, allocation, offers, withdrawal, lapse.

The decisions are the rules module's (`rules.allocate`, `rules.withdraw`, `rules.register`,
`rules.contribution`, `rules.refund`); this module gathers their facts from the database in a
handful of set-based queries and writes the outcome back in one transaction per call.

Overbooking is prevented by serialising seat changes per route: every writer locks the route
rows it touches (``SELECT ... FOR UPDATE`` in id order on PostgreSQL, so two runs over
overlapping routes cannot deadlock; SQLite has a single writer and we take its write lock
up front) and only then recomputes spare seats and re-reads the applications. A second
allocation on the same route therefore waits for the first to commit and sees its seats.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    inspect,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session

import rules
from models import (
    AcademicYear,
    ConcessionaryApplication,
    ConcessionarySeat,
    Contribution,
    ContributionSetting,
    DesignatedTransportArea,
    DtaArea,
    EligibilityDecision,
    Instalment,
    Payment,
    Postcode,
    Pupil,
    Refund,
    Route,
    School,
    TransportApplication,
    Withdrawal,
    db,
)
from models.base import MONEY, utcnow
from models.enums import (
    ApplicationStatus,
    ConcessionaryStatus,
    ContributionKind,
    EstablishmentType,
    Outcome,
    PaymentPlan,
    Phase,
    SeatStatus,
    Sessions,
    WithdrawalKind,
)
from models.school import has_post16_provision

CA = ConcessionaryApplication
CS = ConcessionarySeat
SESSION_KEYS = ("am", "pm")
# Bound ids per IN list: well under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
_IDS_PER_STATEMENT = 10_000
_WANTS = {Sessions.AM: ("am",), Sessions.PM: ("pm",), Sessions.BOTH: ("am", "pm")}

# Appendix F: the two reasons a route offers no concessionary seats at all, in words for staff
# and families.
REFUSAL_TEXT = {
    "fare_paying_alternative": (
        "Appendix F: a local fare-paying bus service makes this journey, so no concessionary "
        "seat can be offered"
    ),
    "additional_cost": (
        "Appendix F: a concessionary seat on this route would cost the council extra, so none "
        "can be offered"
    ),
}


def today() -> date:
    """The date screens and commands act on (one place, so tests can fix it)."""
    return date.today()


class SeatError(Exception):
    """A request that cannot be carried out; the message is for the user, nothing was changed."""


# --------------------------------------------------------------------------- policy figures


def policy_for(academic_year: str, session: Session | None = None) -> rules.PolicyParameters:
    """The dated policy parameters for a year: the supervisors' stored row, else the defaults."""
    from services.policy import PolicyUnavailable, parameters_for_year

    try:
        return parameters_for_year(academic_year, session)
    except PolicyUnavailable as exc:
        raise SeatError(f"No policy parameters for {academic_year}: {exc}") from None


def current_year_label(session: Session, today: date) -> str | None:
    """The academic year containing `today`, else the latest one that has started, else any."""
    label = session.scalar(
        select(AcademicYear.label)
        .where(AcademicYear.starts <= today)
        .order_by(AcademicYear.starts.desc())
        .limit(1)
    )
    if label is None:
        label = session.scalar(select(AcademicYear.label).order_by(AcademicYear.starts).limit(1))
    return label


@dataclass(frozen=True)
class Calendar:
    year: str
    ends: date
    terms: list[tuple[date, date]]
    closures: list[date]
    days: list[date]


def calendar_for(session: Session, year: str) -> Calendar:
    row = session.scalar(select(AcademicYear).where(AcademicYear.label == year))
    if row is None:
        raise SeatError(f"There is no academic year {year}; add it under Settings first.")
    terms = [(t.starts, t.ends) for t in row.terms]
    closures = [c.day for c in row.closures]
    days = rules.operational_days(terms, closures) if terms else []
    if not days:
        raise SeatError(
            f"The {year} calendar has no term dates, so no contribution can be worked out "
            "(A9: it is per operational day). Add the terms under Settings first."
        )
    return Calendar(year, row.ends, terms, closures, days)


# --------------------------------------------------------------------------- spare seats


def _covers(column: Any, key: str) -> ColumnElement[bool]:
    wanted = [Sessions.BOTH, Sessions.AM if key == "am" else Sessions.PM]
    return column.in_(wanted)


def spare_seats_stmt(year: str, on: date) -> Select[Any]:
    """Spare seats per route and session, for every route, in ONE grouped query.

    spare = vehicle seats - entitled pupils carried - concessionary seats held (A9, Appendix F).
    Entitled: the year's transport applications carried on the route whose current decision is
    eligible (and not ended). Held: active seats, and withdrawn ones whose effective date of
    withdrawal (their end date) is still ahead: the seat becomes free on the effective date.
    A session the route does not run has no spare seats.
    """
    ta, ed = TransportApplication, EligibilityDecision
    carried_any = ta.route_sessions.is_(None)  # carried without a recorded session: both
    entitled = (
        select(
            ta.route_id.label("route_id"),
            func.sum(case((or_(carried_any, _covers(ta.route_sessions, "am")), 1), else_=0)).label(
                "am"
            ),
            func.sum(case((or_(carried_any, _covers(ta.route_sessions, "pm")), 1), else_=0)).label(
                "pm"
            ),
        )
        .join(ed, and_(ed.application_id == ta.id, ed.superseded_at.is_(None)))
        .where(
            ta.academic_year == year,
            ta.route_id.is_not(None),
            ta.status != ApplicationStatus.WITHDRAWN,
            ed.outcome == Outcome.ELIGIBLE,
            or_(ed.ended_on.is_(None), ed.ended_on > on),
        )
        .group_by(ta.route_id)
        .subquery("entitled")
    )
    held = (
        select(
            CS.route_id.label("route_id"),
            func.sum(case((_covers(CS.sessions, "am"), 1), else_=0)).label("am"),
            func.sum(case((_covers(CS.sessions, "pm"), 1), else_=0)).label("pm"),
        )
        .join(CA, CA.id == CS.application_id)
        .where(
            CA.academic_year == year,
            or_(
                CS.status == SeatStatus.ACTIVE,
                and_(CS.status == SeatStatus.WITHDRAWN, CS.end_date > on),
            ),
        )
        .group_by(CS.route_id)
        .subquery("held")
    )

    def spare(runs: Any, key: str) -> Any:
        used = func.coalesce(entitled.c[key], 0) + func.coalesce(held.c[key], 0)
        return case((runs, Route.seats - used), else_=literal(0))

    return (
        select(
            Route.id.label("route_id"),
            spare(Route.runs_am, "am").label("am"),
            spare(Route.runs_pm, "pm").label("pm"),
            func.coalesce(entitled.c.am, 0).label("entitled_am"),
            func.coalesce(entitled.c.pm, 0).label("entitled_pm"),
            func.coalesce(held.c.am, 0).label("held_am"),
            func.coalesce(held.c.pm, 0).label("held_pm"),
        )
        .outerjoin(entitled, entitled.c.route_id == Route.id)
        .outerjoin(held, held.c.route_id == Route.id)
    )


def spare_seats(
    session: Session, year: str, on: date, route_ids: Iterable[int] | None = None
) -> dict[int, dict[str, int]]:
    """{route id: {"am": n, "pm": n}}; negative when a vehicle is already overfull."""
    stmt = spare_seats_stmt(year, on)
    if route_ids is not None:
        stmt = stmt.where(Route.id.in_(list(route_ids)))
    return {r.route_id: {"am": r.am, "pm": r.pm} for r in session.execute(stmt)}


# --------------------------------------------------------------------------- locking


def lock_routes(session: Session, route_ids: Iterable[int]) -> None:
    """Serialise seat changes per route for the rest of this transaction (see module doc).

    PostgreSQL: row locks taken in id order (no deadlock between overlapping runs). SQLite:
    a no-op write takes the database's single write lock now (BEGIN IMMEDIATE semantics), so
    everything read afterwards in this transaction is what we will write against.
    """
    ids = sorted(set(route_ids))
    if not ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(Route.id).where(Route.id.in_(ids)).order_by(Route.id).with_for_update()
        )
    else:
        session.execute(
            text("UPDATE route SET seats = seats WHERE id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": ids},
        )


# --------------------------------------------------------------------------- entitled pupils


_SESSION_WORDS = {"am": "morning", "pm": "afternoon"}


def check_entitled_pupil_fits(
    session: Session, application: TransportApplication, *, on: date
) -> None:
    """Before an application's route, sessions, year or status change is saved: the vehicle
    must have a seat for the entitled pupil in every session the change newly puts them in.

    Takes the route lock that allocation and withdrawal take (`lock_routes`), so a concurrent
    allocation on the route either commits first and is counted here, or waits for this change
    to commit and counts the pupil. `application` carries the unsaved values; the stored row
    says which sessions the pupil already rode (those need no new seat). Only a pupil counted
    as carried takes a seat: a current eligible decision not ended by `on` (as `spare_seats`).
    Raises SeatError in words for the officer; nothing is withdrawn here (Appendix F: seats
    "can be withdrawn at short notice if a seat is needed for an entitled child", but that is
    the officer's decision, made with `withdraw`). The database refuses the same (migration
    0009), for writers that bypass this check.
    """
    ta, ed = TransportApplication, EligibilityDecision
    # No autoflush: even reading an expired attribute would write the change before the lock.
    with session.no_autoflush:
        route_id, year = _new_route_id(application), application.academic_year
        if route_id is None or application.status == ApplicationStatus.WITHDRAWN:
            return
        lock_routes(session, [route_id])
        if application.id is None:
            return  # a new application has no decision yet, so it is not carried
        counted = session.scalar(
            select(ed.id).where(
                ed.application_id == application.id,
                ed.superseded_at.is_(None),
                ed.outcome == Outcome.ELIGIBLE,
                or_(ed.ended_on.is_(None), ed.ended_on > on),
            )
        )
        if counted is None:
            return
        stored = session.execute(
            select(ta.route_id, ta.route_sessions, ta.academic_year, ta.status).where(
                ta.id == application.id
            )
        ).one()
        rode: tuple[str, ...] = ()
        if (stored.route_id, stored.academic_year) == (route_id, year) and (
            stored.status != ApplicationStatus.WITHDRAWN
        ):
            rode = _WANTS[stored.route_sessions or Sessions.BOTH]
        needed = [k for k in _WANTS[application.route_sessions or Sessions.BOTH] if k not in rode]
        if not needed:
            return
        use = session.execute(spare_seats_stmt(year, on).where(Route.id == route_id)).one_or_none()
        if use is None:
            raise SeatError("That route no longer exists; choose another. Nothing was saved.")
        full = [k for k in needed if use._mapping[k] < 1]
        if full:
            raise SeatError(_no_room(session, route_id, year, on, full, use))


def _new_route_id(application: TransportApplication) -> int | None:
    """The route a form chose (it sets the relationship; `route_id` follows only at flush)."""
    chosen = inspect(application).attrs.route.history
    if chosen.has_changes():
        return next((r.id for r in chosen.added if r is not None), None)
    return application.route_id


def _no_room(
    session: Session, route_id: int, year: str, on: date, full: list[str], use: Any
) -> str:
    """Why the pupil cannot go on the route, and what the officer can do about it."""
    route = session.get(Route, route_id)
    if route is None:
        raise SeatError("That route no longer exists; choose another. Nothing was saved.")
    runs = {"am": route.runs_am, "pm": route.runs_pm}
    why: dict[str, list[str]] = {}  # the same words for both sessions are said once
    for key in full:
        if not runs[key]:
            reason = "does not run in the {when}"
        else:
            entitled = _count(use._mapping[f"entitled_{key}"], "entitled pupil")
            held = _count(use._mapping[f"held_{key}"], "concessionary seat")
            reason = (
                f"is full in the {{when}}: its {_count(route.seats, 'seat')} are taken by "
                f"{entitled} and {held}" + _freeing(session, route_id, year, on, key)
            )
        why.setdefault(reason, []).append(_SESSION_WORDS[key])
    said = ", and ".join(r.format(when=" and the ".join(w)) for r, w in why.items())
    if not any(runs[k] for k in full):
        return f"Route {route.code} {said}. Choose the sessions it runs, or another route."
    return (
        f"Route {route.code} {said}. This pupil is entitled to transport, so a seat must be "
        f"made for them: withdraw a concessionary seat on this route (Routes: tick {route.code}, "
        "then 'Withdraw seats for entitled children'; Appendix F lets a seat be withdrawn at "
        f"short notice when an entitled child needs it{_notice(session, year, on)}), or carry "
        "the pupil on another route. Nothing was saved."
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _freeing(session: Session, route_id: int, year: str, on: date, key: str) -> str:
    """Seats already withdrawn but still held until their effective date (Appendix F notice)."""
    count, first = session.execute(
        select(func.count(), func.min(CS.end_date))
        .join(CA, CA.id == CS.application_id)
        .where(
            CS.route_id == route_id,
            CA.academic_year == year,
            CS.status == SeatStatus.WITHDRAWN,
            CS.end_date > on,
            _covers(CS.sessions, key),
        )
    ).one()
    if not count:
        return ""
    return f" ({count} of them already withdrawn, the first free from {first:%d %B %Y})"


def _notice(session: Session, year: str, on: date) -> str:
    try:
        days = policy_for(year, session).concessionary_withdrawal_notice_days
    except SeatError:
        return ""
    free = rules.add_working_days(on, days)
    return f"; one withdrawn now is free from {free:%d %B %Y}, after {days} working days' notice"


# --------------------------------------------------------------------------- vehicle capacity


def years_in_force(session: Session, on: date) -> list[str]:
    """The academic years whose passengers a vehicle must still seat: the current one and any
    later ones (ending on or after `on`); with none, the latest that has started, the year the
    routes list shows as current (`current_year_label`)."""
    labels = list(
        session.scalars(
            select(AcademicYear.label).where(AcademicYear.ends >= on).order_by(AcademicYear.starts)
        )
    )
    if not labels:
        latest = current_year_label(session, on)
        labels = [latest] if latest is not None else []
    return labels


def usage_stmt(years: Sequence[str], on: date, route_ids: Iterable[int] | None = None) -> Any:
    """`spare_seats_stmt` for several years in ONE query (UNION ALL, a part per year), each row
    with its year and its route's code and seats: what the capacity screens and checks read."""
    ids = None if route_ids is None else sorted(set(route_ids))
    parts = []
    for year in years:
        part = spare_seats_stmt(year, on).add_columns(
            Route.code.label("code"),
            Route.seats.label("seats"),
            cast(literal(year), String).label("academic_year"),
        )
        if ids is not None:
            part = part.where(Route.id.in_(ids))
        parts.append(part)
    return union_all(*parts).subquery("usage")


@dataclass(frozen=True)
class Overfull:
    """A route carrying more passengers than it has seats in one session of a year.

    A pupil already recorded on a route and then assessed eligible is carried whatever the
    spare seats (A1: transport for qualifying pupils is the council's legal duty), so this is
    shown to the officer rather than refused; Appendix F lets concessionary seats be withdrawn
    at short notice to make room.
    """

    route_id: int
    code: str
    year: str
    session: str
    seats: int
    entitled: int
    held: int

    @property
    def passengers(self) -> int:
        return self.entitled + self.held

    def words(self) -> str:
        return (
            f"{self.code} ({self.year} {_SESSION_WORDS[self.session]}: {self.passengers} "
            f"passengers in {_count(self.seats, 'seat')})"
        )


def over_capacity_ids(years: Sequence[str], on: date) -> Select[Any]:
    """The ids of routes with negative spare seats in a session of `years` (for a filter)."""
    usage = usage_stmt(years, on)
    return select(usage.c.route_id).where(or_(usage.c.am < 0, usage.c.pm < 0))


def over_capacity(
    session: Session, years: Sequence[str], on: date, route_ids: Iterable[int] | None = None
) -> list[Overfull]:
    """Every route and session of `years` with negative spare seats, in ONE grouped query
    (a session a route does not run has no spare seats, as in `spare_seats`)."""
    if not years:
        return []
    usage = usage_stmt(years, on, route_ids)
    rows = session.execute(select(usage).where(or_(usage.c.am < 0, usage.c.pm < 0))).mappings()
    found = [
        Overfull(
            r["route_id"],
            r["code"],
            r["academic_year"],
            key,
            r["seats"],
            r[f"entitled_{key}"],
            r[f"held_{key}"],
        )
        for r in rows
        for key in SESSION_KEYS
        if r[key] < 0
    ]
    return sorted(found, key=lambda o: (o.code, o.year, o.session))


def check_seats_fit(session: Session, route: Route, *, on: date) -> None:
    """Before a route's seats are lowered or a session is switched off: the vehicle must still
    carry everyone it carries, in every session of every current or later year
    (`years_in_force`).

    Carried: entitled pupils (A1: the council's legal duty) and concessionary seats held,
    including seats withdrawn whose notice has not yet run (Appendix F), counted as in
    `spare_seats`, whether or not the route runs the session. Lowering the seats below the
    passengers of a session, or switching off (`runs_am`/`runs_pm` true to false) a session
    anyone rides, would leave pupils with no seat or no bus. Takes the route lock that
    allocation takes (`lock_routes`) before reading, so a concurrent allocation either commits
    first and is counted or waits for this change. Raising the seats, lowering them to exactly
    the passengers, switching a session on, or off when nobody rides it, are always allowed.
    Raises SeatError in words for the user; the database refuses the same (migrations 0010,
    0011) for writers that bypass this check.
    """
    # No autoflush: the lock must come before the new values are written.
    with session.no_autoflush:
        new = route.seats
        if route.id is None or new is None:
            return
        lock_routes(session, [route.id])
        stored = session.execute(
            select(Route.seats, Route.runs_am, Route.runs_pm).where(Route.id == route.id)
        ).one_or_none()
        if stored is None:
            return
        lowered = new < stored.seats
        off = [
            key
            for key in SESSION_KEYS
            if getattr(stored, f"runs_{key}") and not getattr(route, f"runs_{key}")
        ]
        if not lowered and not off:
            return
        years = years_in_force(session, on)
        if not years:
            return
        rows = list(session.execute(select(usage_stmt(years, on, [route.id]))).mappings())
        riders = sorted(
            (r["academic_year"], key, r[f"entitled_{key}"], r[f"held_{key}"])
            for r in rows
            for key in off
            if r[f"entitled_{key}"] + r[f"held_{key}"] > 0
        )
        over = sorted(
            (r["academic_year"], key, r[f"entitled_{key}"], r[f"held_{key}"])
            for r in rows
            for key in SESSION_KEYS
            if lowered and key not in off and r[f"entitled_{key}"] + r[f"held_{key}"] > new
        )
        said = []
        if riders:
            said.append(_session_still_ridden(session, route, riders, on))
        if over:
            said.append(_too_few_seats(session, route, new, over, on))
        if said:
            raise SeatError(" ".join(said) + " Nothing was saved.")


def _withdraw_with_notice(session: Session, route: Route, year: str, on: date) -> str:
    """How to free concessionary seats (Appendix F), in the routes screen's words."""
    return (
        f"withdraw concessionary seats with notice (Routes: tick {route.code}, then 'Withdraw "
        f"seats for entitled children'; Appendix F{_notice(session, year, on)})"
    )


def _session_still_ridden(
    session: Session, route: Route, riders: list[tuple[str, str, int, int]], on: date
) -> str:
    """Which sessions being switched off still carry passengers, and what to do first."""
    said = [
        f"in the {_SESSION_WORDS[key]} of {year}, {_count(entitled, 'entitled pupil')} and "
        f"{_count(held, 'concessionary seat')}{_freeing(session, route.id, year, on, key)} "
        "ride it"
        for year, key, entitled, held in riders
    ]
    sessions = " or ".join(dict.fromkeys(_SESSION_WORDS[key] for _, key, _, _ in riders))
    steps = []
    if any(entitled for _, _, entitled, _ in riders):
        steps.append(
            "Entitled pupils have a legal right to transport (A1), so first move them to "
            "another route (Transport applications: change their route or sessions)"
        )
    held_year = next((year for year, _, _, held in riders if held), None)
    if held_year is not None:
        steps.append(
            ("then " if steps else "First ") + _withdraw_with_notice(session, route, held_year, on)
        )
    return (
        f"Route {route.code} cannot stop running in the {sessions}: "
        + "; ".join(said)
        + ", and they would be left with no bus. "
        + "; ".join(steps)
        + "; switch the session off once nobody rides it."
    )


def _too_few_seats(
    session: Session,
    route: Route,
    new: int,
    over: list[tuple[str, str, int, int]],
    on: date,
) -> str:
    """Which sessions would be overfull, with what, and what the user can do about it."""
    said = []
    for year, key, entitled, held in over:
        said.append(
            f"in the {_SESSION_WORDS[key]} of {year} it carries {entitled + held} passengers "
            f"({_count(entitled, 'entitled pupil')} and {_count(held, 'concessionary seat')}"
            f"{_freeing(session, route.id, year, on, key)})"
        )
    return (
        f"Route {route.code} cannot go down to {_count(new, 'seat')}: "
        + "; ".join(said)
        + ". Entitled pupils have a legal right to transport (A1), so their seats stay. To "
        "lower the seats, first "
        + _withdraw_with_notice(session, route, over[0][0], on)
        + " and lower the seats once they are free, or move pupils to another route."
    )


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Candidate:
    """One application with the Appendix F facts the register needs."""

    application_id: int
    route_id: int
    pupil_id: int
    status: ConcessionaryStatus
    position: int | None
    reason: str | None
    plan: PaymentPlan
    applicant: rules.Applicant


# A school "suitable" as the nearest for a year group: the phases that teach it. Special
# schools and alternative provision are suitable only for particular children, so they are
# never "the nearest" for the register.
_PHASES_FOR = {
    "primary": {Phase.PRIMARY, Phase.ALL_THROUGH},
    "secondary": {Phase.SECONDARY, Phase.ALL_THROUGH},
    "post16": {Phase.SECONDARY, Phase.ALL_THROUGH, Phase.SIXTH_FORM, Phase.FE_COLLEGE},
}


def _stage(group: int) -> str:
    if group <= 6:
        return "primary"
    return "secondary" if group <= 11 else "post16"


def exam_course_year(group: int) -> bool:
    """Appendix F 4th tier, "part way through an exam course": the second year of a two-year
    course, i.e. Year 11 (GCSE) or Year 13 (A level / level 3). Project rule: the policy does
    not define it; a pupil entering Year 10 or 12 is starting a course, not part way through."""
    return group in (11, 13)


def _straight_line(e1: int | None, n1: int | None, e2: int | None, n2: int | None) -> int | None:
    if None in (e1, n1, e2, n2):
        return None
    return round(math.hypot(e1 - e2, n1 - n2))  # type: ignore[operator]


def gather_candidates(
    session: Session, where: Sequence[ColumnElement[bool]], year: str
) -> list[Candidate]:
    """The applications matching `where`, with their Appendix F facts, in a fixed few queries.

    Facts: living in the county (the pupil record); sessions; attending the designated or
    nearest school (the school's DTA lists the home's parish or postcode, or the school is the
    nearest open school of a phase that teaches the pupil's year group, by straight line);
    part way through an exam course (Year 11 or 13, see `exam_course_year`); distance to
    that school (the measured route distance of the pupil's transport application to the same
    school this year, else the straight line; for a pupil not at the designated or nearest
    school, the straight line to the nearest one: the 5th tier measures from "their
    designated or nearest school"); date of birth; date received.
    """
    rows = session.execute(
        select(
            CA.id,
            CA.reference,
            CA.route_id,
            CA.pupil_id,
            CA.school_id,
            CA.sessions,
            CA.received_on,
            CA.status,
            CA.waitlist_position,
            CA.refusal_reason,
            CA.payment_plan,
            Pupil.lives_in_county,
            Pupil.date_of_birth,
            Pupil.year_group_override,
            Pupil.easting,
            Pupil.northing,
            School.easting.label("school_e"),
            School.northing.label("school_n"),
        )
        .join(Pupil, Pupil.id == CA.pupil_id)
        .join(School, School.id == CA.school_id)
        .where(CA.academic_year == year, *where)
    ).all()
    if not rows:
        return []

    # In the DTA of the school attended (A14: the home's parish or postcode listed), one query.
    in_dta_stmt = (
        select(CA.id)
        .join(Pupil, Pupil.id == CA.pupil_id)
        .outerjoin(Postcode, Postcode.postcode == Pupil.postcode)
        .where(CA.academic_year == year, *where)
        .where(
            exists()
            .where(DesignatedTransportArea.school_id == CA.school_id)
            .where(DtaArea.dta_id == DesignatedTransportArea.id)
            .where(
                or_(
                    and_(Pupil.parish_id.is_not(None), DtaArea.parish_id == Pupil.parish_id),
                    DtaArea.postcode_id == Postcode.id,
                )
            )
        )
    )
    in_dta = set(session.scalars(in_dta_stmt))

    # Measured distances (A3b) of the same pupil to the same school this year.
    ta = TransportApplication
    measured: dict[tuple[int, int], int] = {}
    pairs = (
        select(CA.pupil_id, CA.school_id).where(CA.academic_year == year, *where).distinct()
    ).subquery("pairs")
    for pupil_id, school_id, distance in session.execute(
        select(ta.pupil_id, ta.school_id, func.min(ta.distance_m))
        .join(pairs, and_(pairs.c.pupil_id == ta.pupil_id, pairs.c.school_id == ta.school_id))
        .where(ta.academic_year == year, ta.distance_m.is_not(None))
        .group_by(ta.pupil_id, ta.school_id)
    ):
        measured[(pupil_id, school_id)] = distance

    schools = session.execute(
        select(School.id, School.phase, School.sixth_form, School.easting, School.northing).where(
            School.is_open.is_(True),
            School.establishment_type != EstablishmentType.INDEPENDENT,
            School.easting.is_not(None),
            School.northing.is_not(None),
        )
    ).all()
    by_stage: dict[str, list[tuple[int, int, int]]] = {
        stage: [
            (s.id, s.easting, s.northing)
            for s in schools
            if s.phase in phases
            # A7b: a post-16 student's nearest school is one "with a sixth form provision".
            and (stage != "post16" or has_post16_provision(s.phase, s.sixth_form))
        ]
        for stage, phases in _PHASES_FOR.items()
    }
    academic = rules.parse_academic_year(year)

    groups = [
        r.year_group_override
        if r.year_group_override is not None
        else rules.year_group(r.date_of_birth, academic)
        for r in rows
    ]
    nearest_of = _nearest_schools(rows, groups, by_stage, skip=in_dta)

    found: list[Candidate] = []
    for r, group in zip(rows, groups, strict=True):
        nearest = nearest_of.get(r.id)  # (school id, metres), None without a location
        attends = r.id in in_dta or (nearest is not None and nearest[0] == r.school_id)
        if attends:
            distance = measured.get((r.pupil_id, r.school_id))
            if distance is None:
                distance = _straight_line(r.easting, r.northing, r.school_e, r.school_n)
        else:
            distance = nearest[1] if nearest is not None else None
        found.append(
            Candidate(
                application_id=r.id,
                route_id=r.route_id,
                pupil_id=r.pupil_id,
                status=r.status,
                position=r.waitlist_position,
                reason=r.refusal_reason,
                plan=r.payment_plan,
                applicant=rules.Applicant(
                    id=r.reference,
                    lives_in_county=r.lives_in_county,
                    sessions=rules.Sessions(r.sessions.value),
                    attends_designated_or_nearest=attends,
                    part_way_through_exam_course=exam_course_year(group),
                    # No location and no measurement: ranked as nearest (project rule).
                    distance_m=distance or 0,
                    date_of_birth=r.date_of_birth,
                    received=r.received_on,
                ),
            )
        )
    return found


def _nearest_schools(
    rows: Sequence[Any],
    groups: Sequence[int],
    by_stage: dict[str, list[tuple[int, int, int]]],
    skip: set[int],
) -> dict[int, tuple[int, int]]:
    """Nearest suitable school (straight line) per application, vectorised per stage.

    Only needed where the DTA has not already settled the 3rd tier; thousands of homes against
    a few hundred schools is a small matrix, far quicker than a Python loop.
    """
    wanted: dict[str, list[Any]] = defaultdict(list)
    for r, group in zip(rows, groups, strict=True):
        if r.id not in skip and r.easting is not None and r.northing is not None:
            wanted[_stage(group)].append(r)
    found: dict[int, tuple[int, int]] = {}
    for stage, homes in wanted.items():
        schools = by_stage[stage]
        if not schools:
            continue
        ids = np.array([sid for sid, _, _ in schools])
        xy = np.array([(e, n) for _, e, n in schools], dtype=float)
        for chunk in range(0, len(homes), 2000):
            part = homes[chunk : chunk + 2000]
            here = np.array([(r.easting, r.northing) for r in part], dtype=float)
            metres = np.hypot(here[:, None, 0] - xy[None, :, 0], here[:, None, 1] - xy[None, :, 1])
            best = metres.argmin(axis=1)
            for r, k, row in zip(part, best, metres, strict=True):
                found[r.id] = (int(ids[k]), round(float(row[k])))
    return found


# --------------------------------------------------------------------------- reports


@dataclass
class RouteReport:
    code: str
    spare_before: dict[str, int]
    allocated: list[str] = field(default_factory=list)
    waiting: list[tuple[str, int]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"{self.code} (spare AM {self.spare_before['am']}, PM {self.spare_before['pm']})"]
        if self.allocated:
            parts.append(f"allocated {len(self.allocated)}: {', '.join(self.allocated)}")
        if self.waiting:
            parts.append(
                f"waiting {len(self.waiting)}: "
                + ", ".join(f"{ref} (#{pos})" for ref, pos in self.waiting)
            )
        if self.refused:
            parts.append(
                f"refused {len(self.refused)}: {', '.join(ref for ref, _ in self.refused)} "
                f"({self.refused[0][1]})"
            )
        if self.withdrawn:
            parts.append(f"withdrawn {len(self.withdrawn)}: {', '.join(self.withdrawn)}")
        parts.extend(self.notes)
        if len(parts) == 1:
            parts.append("nothing to do")
        return "; ".join(parts)


@dataclass
class SeatReport:
    routes: list[RouteReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def allocated(self) -> int:
        return sum(len(r.allocated) for r in self.routes)

    @property
    def waiting(self) -> int:
        return sum(len(r.waiting) for r in self.routes)

    @property
    def refused(self) -> int:
        return sum(len(r.refused) for r in self.routes)

    @property
    def withdrawn(self) -> int:
        return sum(len(r.withdrawn) for r in self.routes)

    def summary(self) -> str:
        text_ = (
            f"{self.allocated} allocated, {self.waiting} on waiting lists, {self.refused} refused"
        )
        if self.withdrawn:
            text_ += f", {self.withdrawn} withdrawn"
        return text_ + f" across {len(self.routes)} route(s)."


# --------------------------------------------------------------------------- allocation


def _start_date(cal: Calendar, on: date) -> date:
    """Appendix F: the seat runs from allocation (or the first day of travel, if later)."""
    start = max(on, cal.days[0])
    if start > cal.days[-1]:
        raise SeatError(
            f"The last day of transport in {cal.year} was {cal.days[-1]:%d %B %Y}; there is "
            "nothing left of the year to allocate a seat for (Appendix F)."
        )
    return start


class _SeatWriter:
    """Creates seats and their contributions in bulk: a few INSERTs for the whole run."""

    def __init__(self, session: Session, year: str, on: date) -> None:
        self.session = session
        self.year = year
        self.cal = calendar_for(session, year)
        self.start = _start_date(self.cal, on)
        setting = session.scalar(
            select(ContributionSetting).where(ContributionSetting.academic_year == year)
        )
        if setting is None:
            raise SeatError(
                f"There is no contribution setting for {year}; a supervisor must set the "
                "concessionary seat charge first (A9, Appendix F)."
            )
        self.annual = setting.concessionary_annual_charge
        self._plans: dict[str, tuple[rules.Contribution, str, str | None]] = {}
        self._queued: list[Candidate] = []

    def _plan(self, plan: PaymentPlan) -> tuple[rules.Contribution, str, str | None]:
        """rules.contribution per plan (all seats of a run share a start date), with the plan
        actually used and why it differs from the one asked for."""
        if plan.value not in self._plans:
            try:
                result = rules.contribution(
                    self.annual, self.start, plan.value, self.cal.terms, self.cal.closures
                )
                self._plans[plan.value] = (result, plan.value, None)
            except rules.ContributionError as exc:
                # B1j: too few days left for that many instalments: payment in full instead.
                result = rules.contribution(
                    self.annual, self.start, "full", self.cal.terms, self.cal.closures
                )
                note = f"plan {plan.value} changed to full ({exc})"
                self._plans[plan.value] = (result, "full", note)
        return self._plans[plan.value]

    def seat(self, cand: Candidate, notes: list[str]) -> None:
        """Queue a seat and its contribution; `write` inserts them all."""
        _, _, note = self._plan(cand.plan)
        if note:
            notes.append(f"{cand.applicant.id}: {note}")
        self._queued.append(cand)

    def write(self) -> None:
        """Seats, contributions and instalments for the whole run: three INSERT ... SELECTs.

        Every seat of a run starts on the same day, so a payment plan has one amount and one
        instalment schedule (`_plan`); a seat's other facts (route, sessions, pupil, plan) are
        its application's. So the statements carry the allocated application ids and a few
        schedule rows, and the database copies the rest: on PostgreSQL, sending 4,100 seats,
        4,100 contributions and 13,500 instalments as rows of values cost more than the rest
        of the allocation, in parameter handling and per-row executions (bench/profiles/NOTES.md).
        """
        if not self._queued:
            return
        s = self.session
        plans = _literal_rows(
            "plans",
            (("asked", CA.payment_plan.type), ("used", Contribution.plan.type), ("amount", MONEY)),
            [
                (PaymentPlan(asked), PaymentPlan(used), result.amount)
                for asked, (result, used, _) in self._plans.items()
            ],
        )
        dues = _literal_rows(
            "dues",
            (
                ("asked", CA.payment_plan.type),
                ("number", Integer()),
                ("due_on", Date()),
                ("amount", MONEY),
            ),
            [
                (PaymentPlan(asked), k, i.due, i.amount)
                for asked, (result, _, _) in self._plans.items()
                for k, i in enumerate(result.instalments, start=1)
            ],
        )
        ids = sorted(cand.application_id for cand in self._queued)
        for k in range(0, len(ids), _IDS_PER_STATEMENT):
            chunk = ids[k : k + _IDS_PER_STATEMENT]
            new_seat = and_(CS.application_id.in_(chunk), CS.status == SeatStatus.ACTIVE)
            seats = _rows_written(
                s,
                insert(CS).from_select(
                    ["application_id", "route_id", "sessions", "start_date", "end_date", "status"],
                    select(
                        CA.id,
                        CA.route_id,
                        CA.sessions,
                        literal(self.start, Date()),
                        # Appendix F: offered for the duration of the academic year.
                        literal(self.cal.ends, Date()),
                        literal(SeatStatus.ACTIVE, CS.status.type),
                    )
                    .where(CA.id.in_(chunk))
                    .order_by(CA.id),
                ),
            )
            if seats != len(chunk):
                raise SeatError(
                    "Some applications changed while seats were being allocated; nothing was "
                    "changed. Run the allocation again."
                )
            _rows_written(
                s,
                insert(Contribution).from_select(
                    [
                        "kind",
                        "pupil_id",
                        "academic_year",
                        "concessionary_seat_id",
                        "annual_amount",
                        "amount",
                        "start_date",
                        "plan",
                    ],
                    select(
                        literal(ContributionKind.CONCESSIONARY, Contribution.kind.type),
                        CA.pupil_id,
                        literal(self.year, CA.academic_year.type),
                        CS.id,
                        literal(self.annual, MONEY),
                        plans.c.amount,  # A9: pro rata on the days remaining
                        literal(self.start, Date()),
                        plans.c.used,
                    )
                    .join_from(CS, CA, CA.id == CS.application_id)
                    .join(plans, plans.c.asked == CA.payment_plan)
                    .where(new_seat)
                    .order_by(CS.id),
                ),
            )
            _rows_written(
                s,
                insert(Instalment).from_select(
                    ["contribution_id", "number", "due_on", "amount"],
                    select(Contribution.id, dues.c.number, dues.c.due_on, dues.c.amount)
                    .join_from(Contribution, CS, CS.id == Contribution.concessionary_seat_id)
                    .join(CA, CA.id == CS.application_id)
                    .join(dues, dues.c.asked == CA.payment_plan)
                    .where(new_seat)
                    .order_by(Contribution.id, dues.c.number),
                ),
            )
        self._queued = []


def _rows_written(s: Session, statement: Any) -> int:
    """Run an INSERT ... SELECT and say how many rows it wrote (the audit records it too)."""
    return int(s.execute(statement, execution_options={"preserve_rowcount": True}).rowcount)


def _literal_rows(
    name: str, columns: Sequence[tuple[str, Any]], rows: Sequence[Sequence[Any]]
) -> Any:
    """A few rows of values as a table in a FROM clause (SQLite has no `VALUES ... AS t (a, b)`)."""
    selects = [
        select(
            *(
                literal(value, type_).label(col)
                for (col, type_), value in zip(columns, row, strict=True)
            )
        )
        for row in rows
    ]
    return (selects[0] if len(selects) == 1 else union_all(*selects)).subquery(name)


def _transaction(session: Session, work: Any) -> Any:
    """Run `work` as one all-or-nothing transaction."""
    try:
        result = work()
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise


def _route_codes(session: Session, route_ids: Iterable[int]) -> dict[int, Route]:
    return {
        r.id: r for r in session.scalars(select(Route).where(Route.id.in_(sorted(set(route_ids)))))
    }


def allocate(
    year: str,
    *,
    on: date,
    route_ids: Iterable[int] | None = None,
    application_ids: Iterable[int] | None = None,
    session: Session | None = None,
) -> SeatReport:
    """Allocate spare seats on routes by the Appendix F register (A9), all or nothing.

    Candidates per route: its pending applications (all of them, or only `application_ids`),
    plus everyone already on its waiting list, so the list is re-ranked with the newcomers.
    Applications already allocated, refused, withdrawn or lapsed are left alone, so running
    it again changes nothing unless seats or applications changed.
    """
    s = session or db.session
    selected = sorted(set(application_ids)) if application_ids is not None else None

    def work() -> SeatReport:
        ids = set(route_ids or ())
        if selected is not None:
            ids |= set(
                s.scalars(select(CA.route_id).where(CA.id.in_(selected), CA.academic_year == year))
            )
        if route_ids is None and selected is None:
            ids = set(
                s.scalars(
                    select(CA.route_id)
                    .where(
                        CA.academic_year == year,
                        CA.status.in_([ConcessionaryStatus.PENDING, ConcessionaryStatus.WAITING]),
                    )
                    .distinct()
                )
            )
        if not ids:
            return SeatReport(notes=[f"No pending applications for {year} to allocate."])
        lock_routes(s, ids)
        routes = _route_codes(s, ids)
        spare = spare_seats(s, year, on, ids)
        pending: ColumnElement[bool] = CA.status == ConcessionaryStatus.PENDING
        if selected is not None:
            pending = and_(pending, CA.id.in_(selected))
        cands = gather_candidates(
            s,
            [CA.route_id.in_(sorted(ids)), or_(pending, CA.status == ConcessionaryStatus.WAITING)],
            year,
        )
        return _allocate_routes(s, year, on, routes, spare, cands)

    return _transaction(s, work)


def _allocate_routes(
    s: Session,
    year: str,
    on: date,
    routes: dict[int, Route],
    spare: dict[int, dict[str, int]],
    cands: list[Candidate],
) -> SeatReport:
    by_route: dict[int, list[Candidate]] = defaultdict(list)
    for c in cands:
        by_route[c.route_id].append(c)
    by_id = {c.application_id: c for c in cands}
    report = SeatReport()
    writer: _SeatWriter | None = None
    updates: list[dict[str, Any]] = []
    for route_id in sorted(routes):
        route = routes[route_id]
        free = {k: max(spare.get(route_id, {}).get(k, 0), 0) for k in SESSION_KEYS}
        rr = RouteReport(route.code, dict(free))
        report.routes.append(rr)
        group = by_route.get(route_id, [])
        if not group:
            continue
        result = rules.allocate(
            rules.AllocationRequest(
                seats=free,
                applicants=[c.applicant for c in group],
                fare_paying_alternative=route.fare_paying_alternative,
                additional_cost=route.additional_cost,
            )
        )
        by_ref = {c.applicant.id: c for c in group}
        for ref in result.allocated:
            writer = writer or _SeatWriter(s, year, on)
            cand = by_ref[ref]
            writer.seat(cand, rr.notes)
            updates.append(_status(cand, ConcessionaryStatus.ALLOCATED))
            rr.allocated.append(ref)
        for position, ref in enumerate(result.waitlist, start=1):
            updates.append(_status(by_ref[ref], ConcessionaryStatus.WAITING, position=position))
            rr.waiting.append((ref, position))
        for refusal in result.refused:
            reason = REFUSAL_TEXT.get(refusal.reason, refusal.reason)
            updates.append(_status(by_ref[refusal.id], ConcessionaryStatus.REFUSED, reason=reason))
            rr.refused.append((refusal.id, reason))
    if writer is not None:
        writer.write()
    _write_statuses(s, [u for u in updates if _changed(by_id[u["id"]], u)])
    return report


def _changed(cand: Candidate, update_: dict[str, Any]) -> bool:
    """Only outcomes that differ are written, so a re-run writes nothing (idempotent)."""
    return (cand.status, cand.position, cand.reason) != (
        update_["status"],
        update_["waitlist_position"],
        update_["refusal_reason"],
    )


def _write_statuses(s: Session, updates: list[dict[str, Any]]) -> None:
    """Every application's new status, one UPDATE per distinct outcome (by primary keys).

    An executemany by primary key is one statement per row on PostgreSQL (5,000 round trips
    and executions for the county's run, 0.65 s of server time); the outcomes of a run are
    few (allocated, each refusal reason, each waiting-list position), so grouping the rows by
    outcome writes the same thing in a few dozen statements (bench/profiles/NOTES.md).
    """
    if not updates:
        return
    by_outcome: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for u in updates:
        by_outcome[(u["status"], u["waitlist_position"], u["refusal_reason"])].append(u["id"])
    now = utcnow()
    for (status, position, reason), ids in by_outcome.items():
        for chunk in range(0, len(ids), _IDS_PER_STATEMENT):
            s.execute(
                update(CA)
                .where(CA.id.in_(ids[chunk : chunk + _IDS_PER_STATEMENT]))
                .values(
                    status=status,
                    waitlist_position=position,
                    refusal_reason=reason,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )


def _status(
    cand: Candidate,
    status: ConcessionaryStatus,
    *,
    position: int | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "id": cand.application_id,
        "status": status,
        "waitlist_position": position,
        "refusal_reason": reason,
    }


def offer_next(
    year: str, *, on: date, route_ids: Iterable[int], session: Session | None = None
) -> SeatReport:
    """Appendix F waiting list: a freed seat goes to the highest waiting applicant (register
    order) whose sessions all have a spare seat; one per route per run. The offer is made by
    allocating the seat: it stays "awaiting payment" until the first instalment is paid (B1j).
    The rest of the list is renumbered."""
    s = session or db.session

    def work() -> SeatReport:
        ids = sorted(set(route_ids))
        lock_routes(s, ids)
        routes = _route_codes(s, ids)
        spare = spare_seats(s, year, on, ids)
        cands = gather_candidates(
            s, [CA.route_id.in_(ids), CA.status == ConcessionaryStatus.WAITING], year
        )
        by_route: dict[int, list[Candidate]] = defaultdict(list)
        for c in cands:
            by_route[c.route_id].append(c)
        report = SeatReport()
        writer: _SeatWriter | None = None
        updates: list[dict[str, Any]] = []
        for route_id in ids:
            route = routes[route_id]
            free = {k: max(spare.get(route_id, {}).get(k, 0), 0) for k in SESSION_KEYS}
            rr = RouteReport(route.code, dict(free))
            report.routes.append(rr)
            group = by_route.get(route_id, [])
            by_ref = {c.applicant.id: c for c in group}
            ordered = [a.id for a in rules.register([c.applicant for c in group])]
            chosen = None
            if not (route.fare_paying_alternative or route.additional_cost):
                chosen = next(
                    (
                        ref
                        for ref in ordered
                        if all(
                            free[k] > 0 for k in _WANTS[Sessions(by_ref[ref].applicant.sessions)]
                        )
                    ),
                    None,
                )
            if chosen is None:
                rr.notes.append(
                    "no one on the waiting list"
                    if not group
                    else "no waiting applicant's sessions fit the spare seats"
                )
                continue
            writer = writer or _SeatWriter(s, year, on)
            writer.seat(by_ref[chosen], rr.notes)
            updates.append(_status(by_ref[chosen], ConcessionaryStatus.ALLOCATED))
            rr.allocated.append(chosen)
            rest = [ref for ref in ordered if ref != chosen]
            for position, ref in enumerate(rest, start=1):
                updates.append(_status(by_ref[ref], ConcessionaryStatus.WAITING, position=position))
                rr.waiting.append((ref, position))
        if writer is not None:
            writer.write()
        by_id = {c.application_id: c for c in cands}
        _write_statuses(s, [u for u in updates if _changed(by_id[u["id"]], u)])
        return report

    return _transaction(s, work)


# --------------------------------------------------------------------------- withdrawal


def withdraw(
    route_id: int,
    needed: dict[str, int],
    *,
    year: str,
    on: date,
    reason: str,
    family_told_of_appeal: bool,
    decided_by_id: int | None,
    session: Session | None = None,
) -> SeatReport:
    """Free seats for entitled children (Appendix F: concessionary seats "can be withdrawn at
    short notice if a seat is needed for an entitled child").

    Holders go lowest in the register first (project rule, `rules.withdraw`). Notice is given
    today; the seat becomes free after the notice period from the dated policy parameters
    (`concessionary_withdrawal_notice_days` working days). The family is refunded, per day,
    for the operational days from the effective date (project rule, `rules.refund`).
    """
    s = session or db.session
    for key in SESSION_KEYS:
        if type(needed.get(key)) is not int or needed[key] < 0:
            raise SeatError(f"Seats needed ({key.upper()}) must be a whole number, 0 or more.")
    if not any(needed.values()):
        raise SeatError("Say how many morning or afternoon seats entitled children need.")

    def work() -> SeatReport:
        lock_routes(s, [route_id])
        route = s.get(Route, route_id)
        if route is None:
            raise SeatError("That route no longer exists.")
        params = policy_for(year, s)
        effective = rules.add_working_days(on, params.concessionary_withdrawal_notice_days)
        seats = {
            seat.application_id: seat
            for seat in s.scalars(
                select(CS)
                .join(CA, CA.id == CS.application_id)
                .where(
                    CS.route_id == route_id,
                    CS.status == SeatStatus.ACTIVE,
                    CA.academic_year == year,
                )
            )
        }
        holders = gather_candidates(s, [CA.id.in_(sorted(seats))], year) if seats else []
        # A holder holds the sessions of its seat (which may differ from what it asked for).
        by_ref = {c.applicant.id: c for c in holders}
        applicants = [
            _with_sessions(c.applicant, seats[c.application_id].sessions) for c in holders
        ]
        result = rules.withdraw(rules.WithdrawalRequest(needed=needed, holders=applicants))
        rr = RouteReport(route.code, spare_seats(s, year, on, [route_id]).get(route_id, {}))
        rr.spare_before = {k: rr.spare_before.get(k, 0) for k in SESSION_KEYS}
        cal = calendar_for(s, year) if result.withdrawn else None
        contributions = _contributions_by_seat(
            s, [seats[by_ref[r].application_id].id for r in result.withdrawn]
        )
        for ref in result.withdrawn:
            seat = seats[by_ref[ref].application_id]
            contrib = contributions.get(seat.id)
            refund_due = Decimal("0.00")
            if contrib is not None and cal is not None:
                paid = _paid_net(s, contrib.id)
                refund_due = rules.refund(
                    contrib.annual_amount, paid, effective, cal.terms, cal.closures
                )
            withdrawal = Withdrawal(
                kind=WithdrawalKind.CONCESSIONARY_SEAT,
                concessionary_seat_id=seat.id,
                clause="Appendix F",
                reason=reason,
                notice_on=on,
                effective_on=effective,
                refund_amount=refund_due,
                family_told_of_appeal=family_told_of_appeal,
                decided_by_id=decided_by_id,
            )
            s.add(withdrawal)
            s.flush()  # the refund names the withdrawal it comes from
            if refund_due > 0 and contrib is not None:
                s.add(
                    Refund(
                        contribution_id=contrib.id,
                        withdrawal_id=withdrawal.id,
                        amount=refund_due,
                        reason=(
                            f"Appendix F: seat withdrawn from {effective:%d %B %Y} for an "
                            "entitled child; refund for the days not travelled"
                        ),
                        due_on=effective,
                    )
                )
            seat.status = SeatStatus.WITHDRAWN
            # The seat is held until the effective date, then free (never before it started).
            seat.end_date = max(effective, seat.start_date)
            rr.withdrawn.append(ref)
            rr.notes.append(
                f"{ref}: notice {on:%d %b %Y}, effective {effective:%d %b %Y}, refund £{refund_due}"
            )
        s.flush()
        if result.withdrawn:
            s.execute(
                update(CA)
                .where(CA.id.in_([by_ref[r].application_id for r in result.withdrawn]))
                .values(status=ConcessionaryStatus.WITHDRAWN, waitlist_position=None)
            )
        unmet = {k: v for k, v in result.unmet.items() if v}
        if unmet:
            rr.notes.append(
                "not enough concessionary seats to free: still needed "
                + ", ".join(f"{k.upper()} {v}" for k, v in unmet.items())
            )
        return SeatReport(routes=[rr])

    return _transaction(s, work)


def _fits(free: dict[str, int], sessions: str) -> bool:
    return all(free[k] > 0 for k in _WANTS[Sessions(str(sessions))])


def _with_sessions(a: rules.Applicant, sessions: Sessions) -> rules.Applicant:
    from dataclasses import replace

    return replace(a, sessions=rules.Sessions(sessions.value))


def _contributions_by_seat(s: Session, seat_ids: list[int]) -> dict[int, Contribution]:
    if not seat_ids:
        return {}
    return {
        c.concessionary_seat_id: c
        for c in s.scalars(
            select(Contribution).where(Contribution.concessionary_seat_id.in_(seat_ids))
        )
        if c.concessionary_seat_id is not None
    }


def _paid_net(s: Session, contribution_id: int) -> Decimal:
    paid = s.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.contribution_id == contribution_id
        )
    )
    refunded = s.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.contribution_id == contribution_id
        )
    )
    return Decimal(paid) - Decimal(refunded)


# --------------------------------------------------------------------------- year end


def lapse(year: str, *, on: date, session: Session | None = None) -> dict[str, int]:
    """Year end (Appendix F: "Re-application must be made annually"): every active seat of a
    finished year lapses, and so does every application still allocated, pending or waiting.
    Refused and withdrawn ones keep their outcome. Running it twice changes nothing more."""
    s = session or db.session
    row = s.scalar(select(AcademicYear).where(AcademicYear.label == year))
    if row is None:
        raise SeatError(f"There is no academic year {year}.")
    if on <= row.ends:
        raise SeatError(
            f"{year} has not finished (it ends {row.ends:%d %B %Y}); seats lapse only after "
            "the end of the academic year (Appendix F)."
        )

    def work() -> dict[str, int]:
        in_year = select(CA.id).where(CA.academic_year == year).scalar_subquery()
        seats = s.execute(
            update(CS)
            .where(CS.status == SeatStatus.ACTIVE, CS.application_id.in_(in_year))
            .values(status=SeatStatus.LAPSED)
            .execution_options(synchronize_session=False)
        ).rowcount
        apps = s.execute(
            update(CA)
            .where(
                CA.academic_year == year,
                CA.status.in_(
                    [
                        ConcessionaryStatus.ALLOCATED,
                        ConcessionaryStatus.PENDING,
                        ConcessionaryStatus.WAITING,
                    ]
                ),
            )
            .values(status=ConcessionaryStatus.LAPSED, waitlist_position=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        return {"seats": seats, "applications": apps}

    return _transaction(s, work)


def years_of_routes(session: Session, route_ids: Iterable[int]) -> list[str]:
    """Academic years with pending or waiting applications on these routes (for the actions)."""
    return list(
        session.scalars(
            select(CA.academic_year)
            .where(
                CA.route_id.in_(sorted(set(route_ids))),
                CA.status.in_([ConcessionaryStatus.PENDING, ConcessionaryStatus.WAITING]),
            )
            .distinct()
            .order_by(CA.academic_year)
        )
    )
