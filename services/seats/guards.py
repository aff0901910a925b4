"""The screens' seat guards: putting an entitled pupil on a route, lowering a route's seats or
switching off a session never overfills a vehicle (A1, Appendix F).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    func,
    inspect,
    or_,
    select,
)
from sqlalchemy.orm import Session

import rules
from models import (
    EligibilityDecision,
    Route,
    TransportApplication,
)
from models.enums import (
    ApplicationStatus,
    Outcome,
    SeatStatus,
    Sessions,
)
from services.seats.capacity import (
    carrying_decision,
    covers,
    lock_routes,
    spare_seats_stmt,
    usage_stmt,
)
from services.seats.common import CA, CS, SESSION_KEYS, SESSION_WORDS, WANTS, SeatError, count_of
from services.years import policy_for, years_in_force


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
                carrying_decision(ed),
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
            rode = WANTS[stored.route_sessions or Sessions.BOTH]
        needed = [k for k in WANTS[application.route_sessions or Sessions.BOTH] if k not in rode]
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
            entitled = count_of(use._mapping[f"entitled_{key}"], "entitled pupil")
            held = count_of(use._mapping[f"held_{key}"], "concessionary seat")
            reason = (
                f"is full in the {{when}}: its {count_of(route.seats, 'seat')} are taken by "
                f"{entitled} and {held}" + _freeing(session, route_id, year, on, key)
            )
        why.setdefault(reason, []).append(SESSION_WORDS[key])
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
            covers(CS.sessions, key),
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
        f"in the {SESSION_WORDS[key]} of {year}, {count_of(entitled, 'entitled pupil')} and "
        f"{count_of(held, 'concessionary seat')}{_freeing(session, route.id, year, on, key)} "
        "ride it"
        for year, key, entitled, held in riders
    ]
    sessions = " or ".join(dict.fromkeys(SESSION_WORDS[key] for _, key, _, _ in riders))
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
            f"in the {SESSION_WORDS[key]} of {year} it carries {entitled + held} passengers "
            f"({count_of(entitled, 'entitled pupil')} and {count_of(held, 'concessionary seat')}"
            f"{_freeing(session, route.id, year, on, key)})"
        )
    return (
        f"Route {route.code} cannot go down to {count_of(new, 'seat')}: "
        + "; ".join(said)
        + ". Entitled pupils have a legal right to transport (A1), so their seats stay. To "
        "lower the seats, first "
        + _withdraw_with_notice(session, route, over[0][0], on)
        + " and lower the seats once they are free, or move pupils to another route."
    )
