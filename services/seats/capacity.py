"""Spare seats and capacity per route and session (Appendix F), and the route lock every seat writer
takes first.

Overbooking is prevented by serialising seat changes per route: every writer locks the route
rows it touches (``SELECT ... FOR UPDATE`` in id order on PostgreSQL, so two runs over
overlapping routes cannot deadlock; SQLite has a single writer and we take its write lock
up front) and only then recomputes spare seats and re-reads the applications. A second
allocation on the same route therefore waits for the first to commit and sees its seats.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from typing import cast as typing_cast

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from models import (
    EligibilityDecision,
    Route,
    TransportApplication,
    Withdrawal,
)
from models.enums import (
    ApplicationStatus,
    ConcessionaryStatus,
    Outcome,
    SeatStatus,
    Sessions,
    WithdrawalKind,
)
from services.seats.common import CA, CS, SESSION_KEYS, SESSION_WORDS, count_of


def covers(column: Any, key: str) -> ColumnElement[bool]:
    wanted = [Sessions.BOTH, Sessions.AM if key == "am" else Sessions.PM]
    return typing_cast(ColumnElement[bool], column.in_(wanted))


def carrying_decision(ed: Any) -> ColumnElement[bool]:
    """The decision that carries a pupil: the current one; an eligibility superseded by a
    refusal but withdrawn with notice (A12a, A15), which carries the pupil until its
    `ended_on`, the withdrawal's effective date; or an award standing pending a re-check
    (refer or measure: not decided yet, so not ended, A12a, A15). Callers also test outcome
    and `ended_on`. The database's capacity guards count the same (migration 0026)."""
    return or_(
        ed.superseded_at.is_(None),
        ed.stands_pending_recheck.is_(True),
        ed.id.in_(
            select(Withdrawal.decision_id).where(Withdrawal.kind == WithdrawalKind.ELIGIBILITY)
        ),
    )


def spare_seats_stmt(year: str | ColumnElement[Any], on: date | ColumnElement[Any]) -> Select[Any]:
    """Spare seats per route and session, for every route, in ONE grouped query.

    spare = vehicle seats - entitled pupils carried - concessionary seats held (A9, Appendix F).
    Entitled: the year's transport applications carried on the route whose current decision is
    eligible (and not ended), or whose eligibility is being withdrawn with notice and has not
    reached its effective date (A12a, A15: transport stays until then), or whose award stands
    pending a re-check (`carrying_decision`). Held: active seats,
    and withdrawn ones whose effective date of withdrawal (their end date) is still ahead: the
    seat becomes free on the effective date. A session the route does not run has no spare seats.
    """
    ta, ed = TransportApplication, EligibilityDecision
    carried_any = ta.route_sessions.is_(None)  # carried without a recorded session: both
    entitled = (
        select(
            ta.route_id.label("route_id"),
            func.sum(case((or_(carried_any, covers(ta.route_sessions, "am")), 1), else_=0)).label(
                "am"
            ),
            func.sum(case((or_(carried_any, covers(ta.route_sessions, "pm")), 1), else_=0)).label(
                "pm"
            ),
        )
        .join(ed, and_(ed.application_id == ta.id, carrying_decision(ed)))
        .where(
            ta.academic_year == year,
            ta.route_id.is_not(None),
            ta.status != ApplicationStatus.WITHDRAWN,
            # Eligible, spelt as "none of the others": with no statistics SQLite would read
            # every year's eligible decisions by the outcome index, not the routed pupils.
            ed.outcome.not_in([o for o in Outcome if o is not Outcome.ELIGIBLE]),
            or_(ed.ended_on.is_(None), ed.ended_on > on),
        )
        .group_by(ta.route_id)
        .subquery("entitled")
    )
    held = (
        select(
            CS.route_id.label("route_id"),
            func.sum(case((covers(CS.sessions, "am"), 1), else_=0)).label("am"),
            func.sum(case((covers(CS.sessions, "pm"), 1), else_=0)).label("pm"),
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


# The statements the routes list and record pages run on every request, built once per
# process with their values bound at execution: building `spare_seats_stmt` (three per routes
# list) cost more of the request than the database's work (bench.pages_cpu, issue 18). The
# SQL is the same as `spare_seats_stmt`'s and `usage_stmt`'s with the values in place.
_YEAR, _ON, _IDS = "capacity_year", "capacity_on", "capacity_ids"


@functools.cache
def _spare_seats_bound(with_ids: bool) -> Select[Any]:
    stmt = spare_seats_stmt(bindparam(_YEAR, type_=String), bindparam(_ON, type_=Date))
    if with_ids:
        stmt = stmt.where(Route.id.in_(bindparam(_IDS, expanding=True)))
    return stmt


@functools.cache
def _over_capacity_bound(years: int, with_ids: bool) -> Select[Any]:
    """`usage_stmt` of `years` years (values capacity_year_0, ...), over capacity only."""
    parts = []
    for i in range(years):
        year = bindparam(f"{_YEAR}_{i}", type_=String)
        part = spare_seats_stmt(year, bindparam(_ON, type_=Date)).add_columns(
            Route.code.label("code"),
            Route.seats.label("seats"),
            cast(year, String).label("academic_year"),
        )
        if with_ids:
            part = part.where(Route.id.in_(bindparam(_IDS, expanding=True)))
        parts.append(part)
    usage = union_all(*parts).subquery("usage")
    return select(usage).where(or_(usage.c.am < 0, usage.c.pm < 0))


def spare_seats(
    session: Session, year: str, on: date, route_ids: Iterable[int] | None = None
) -> dict[int, dict[str, int]]:
    """{route id: {"am": n, "pm": n}}; negative when a vehicle is already overfull."""
    values: dict[str, Any] = {_YEAR: year, _ON: on}
    if route_ids is not None:
        values[_IDS] = list(route_ids)
    rows = session.execute(_spare_seats_bound(route_ids is not None), values)
    return {r.route_id: {"am": r.am, "pm": r.pm} for r in rows}


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
            f"{self.code} ({self.year} {SESSION_WORDS[self.session]}: {self.passengers} "
            f"passengers in {count_of(self.seats, 'seat')})"
        )


def over_capacity_ids(years: Sequence[str], on: date, usage: Any = None) -> Select[Any]:
    """The ids of routes with negative spare seats in a session of `years` (for a filter);
    `usage`: `usage_stmt(years, on)` already made (a CTE other counts share)."""
    usage = usage_stmt(years, on) if usage is None else usage
    return select(usage.c.route_id).where(or_(usage.c.am < 0, usage.c.pm < 0))


def over_capacity(
    session: Session, years: Sequence[str], on: date, route_ids: Iterable[int] | None = None
) -> list[Overfull]:
    """Every route and session of `years` with negative spare seats, in ONE grouped query
    (a session a route does not run has no spare seats, as in `spare_seats`)."""
    if not years:
        return []
    values: dict[str, Any] = {_ON: on, **{f"{_YEAR}_{i}": y for i, y in enumerate(years)}}
    if route_ids is not None:
        values[_IDS] = sorted(set(route_ids))
    stmt = _over_capacity_bound(len(years), route_ids is not None)
    rows = session.execute(stmt, values).mappings()
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
