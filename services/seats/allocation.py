"""Allocation and offers of concessionary seats in register order (Appendix F, A9).

The decisions are the rules module's (`rules.allocate`, `rules.register`, `rules.contribution`);
this module gathers their facts in a handful of set-based queries and writes the outcome back in
one transaction per call.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    and_,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

import rules
from models import (
    Contribution,
    ContributionSetting,
    Instalment,
    Route,
    TermDateVariation,
    db,
)
from models.base import MONEY, utcnow
from models.enums import (
    ConcessionaryStatus,
    ContributionKind,
    PaymentPlan,
    SeatStatus,
    Sessions,
    VariationStatus,
)
from services.letters.follow_up import Changed, queue_letters
from services.seats.capacity import lock_routes, spare_seats
from services.seats.common import (
    CA,
    CS,
    IDS_PER_STATEMENT,
    REFUSAL_TEXT,
    SESSION_KEYS,
    WANTS,
    SeatError,
    literal_rows,
    route_codes,
    rows_written,
)
from services.seats.register_facts import Candidate, gather_candidates
from services.transaction import transaction
from services.years import Calendar, calendar_for, school_calendars


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

    def overview(self, most: int = 12) -> str:
        """The whole run in one paragraph, for one message on screen rather than one per route:
        the totals, the refusals by reason, the routes something happened on, the notes (the
        same note on many routes once, with how many)."""
        parts = [self.summary()]
        reasons = Counter(reason for r in self.routes for _ref, reason in r.refused)
        parts += [f"Refused, {n}: {reason}." for reason, n in reasons.most_common()]
        touched = [r.code for r in self.routes if r.allocated or r.waiting or r.refused]
        touched += [r.code for r in self.routes if r.withdrawn and r.code not in touched]
        if touched:
            more = f" and {len(touched) - most} more" if len(touched) > most else ""
            parts.append(f"Routes with outcomes: {', '.join(touched[:most])}{more}.")
        notes = Counter(n for r in self.routes for n in r.notes)
        for note, n in list(notes.most_common())[:most]:
            parts.append(f"{note[:1].upper()}{note[1:]}" + (f" ({n} routes)." if n > 1 else "."))
        if len(notes) > most:
            parts.append(f"... and {len(notes) - most} other notes.")
        parts += self.notes
        return " ".join(parts)


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
    """Creates seats and their contributions in bulk, a few INSERTs per calendar.

    A9: the contribution "is reduced in proportion to the number of school/college days
    remaining", so a seat to a school with an accepted term-date variation (A23) is priced and
    scheduled on that school's own days (`services.years.school_calendars`); every other seat
    on the council's. One query finds the year's applications to such schools (usually none).
    """

    def __init__(self, session: Session, year: str, on: date) -> None:
        self.session, self.year, self.on = session, year, on
        setting = session.scalar(
            select(ContributionSetting).where(ContributionSetting.academic_year == year)
        )
        if setting is None:
            raise SeatError(
                f"There is no contribution setting for {year}; a supervisor must set the "
                "concessionary seat charge first (A9, Appendix F)."
            )
        self.annual = setting.concessionary_annual_charge
        council = _CalendarWriter(session, year, calendar_for(session, year), on, self.annual)
        self._writers: dict[int | None, _CalendarWriter] = {None: council}
        varied = select(TermDateVariation.school_id).where(
            TermDateVariation.academic_year == year,
            TermDateVariation.status == VariationStatus.ACCEPTED,
            or_(TermDateVariation.first_day.is_not(None), TermDateVariation.last_day.is_not(None)),
        )
        self._school_of = dict(
            session.execute(
                select(CA.id, CA.school_id).where(
                    CA.academic_year == year, CA.school_id.in_(varied)
                )
            ).all()
        )

    def _writer(self, cand: Candidate) -> _CalendarWriter:
        school_id = self._school_of.get(cand.application_id)
        if school_id not in self._writers:
            assert school_id is not None
            cal = school_calendars(self.session, self.year, [school_id])[school_id]
            self._writers[school_id] = _CalendarWriter(
                self.session, self.year, cal, self.on, self.annual
            )
        return self._writers[school_id]

    def seat(self, cand: Candidate, notes: list[str]) -> None:
        self._writer(cand).seat(cand, notes)

    def write(self) -> None:
        for writer in self._writers.values():
            writer.write()


class _CalendarWriter:
    """The seats of a run that share one calendar: one start date, one schedule per plan."""

    def __init__(
        self, session: Session, year: str, cal: Calendar, on: date, annual: Decimal
    ) -> None:
        self.session = session
        self.year = year
        self.cal = cal
        self.start = _start_date(self.cal, on)
        self.annual = annual
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
        plans = literal_rows(
            "plans",
            (("asked", CA.payment_plan.type), ("used", Contribution.plan.type), ("amount", MONEY)),
            [
                (PaymentPlan(asked), PaymentPlan(used), result.amount)
                for asked, (result, used, _) in self._plans.items()
            ],
        )
        dues = literal_rows(
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
        for k in range(0, len(ids), IDS_PER_STATEMENT):
            chunk = ids[k : k + IDS_PER_STATEMENT]
            new_seat = and_(CS.application_id.in_(chunk), CS.status == SeatStatus.ACTIVE)
            seats = rows_written(
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
            rows_written(
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
            rows_written(
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
    changed = Changed()

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
        routes = route_codes(s, ids)
        spare = spare_seats(s, year, on, ids)
        pending: ColumnElement[bool] = CA.status == ConcessionaryStatus.PENDING
        if selected is not None:
            pending = and_(pending, CA.id.in_(selected))
        cands = gather_candidates(
            s,
            [CA.route_id.in_(sorted(ids)), or_(pending, CA.status == ConcessionaryStatus.WAITING)],
            year,
        )
        return _per_route(s, year, on, routes, spare, cands, _by_register, changed)

    report = transaction(s, work)
    queue_letters(changed)  # Appendix F: offers, waiting-list places and refusals, now
    return report


@dataclass
class _Outcome:
    """What a run decides on one route: who is seated, the waiting list in order, refusals."""

    allocated: list[str] = field(default_factory=list)
    waitlist: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


# decide(route, free seats by session, the route's candidates, its report) -> the outcome, or
# None to leave the route's applications as they are.
Decide = Callable[[Route, dict[str, int], list[Candidate], RouteReport], _Outcome | None]


def _per_route(
    s: Session,
    year: str,
    on: date,
    routes: dict[int, Route],
    spare: dict[int, dict[str, int]],
    cands: list[Candidate],
    decide: Decide,
    changed: Changed,
    *,
    write: bool = True,
) -> SeatReport:
    """The one per-route loop `allocate` and `offer_next` share: each route's spare seats and
    candidates go to `decide`; its outcome is written the same way for both (new seats with
    their contributions, then every changed status in a few set-based UPDATEs). The new
    seats and the applications now waiting or refused go in `changed`, for their letters.
    With `write` False it only reports (the confirmation page's numbers are the run's own)."""
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
        outcome = decide(route, free, group, rr)
        if outcome is None:
            continue
        by_ref = {c.applicant.id: c for c in group}
        for ref in outcome.allocated:
            writer = writer or _SeatWriter(s, year, on)
            cand = by_ref[ref]
            writer.seat(cand, rr.notes)
            updates.append(_status(cand, ConcessionaryStatus.ALLOCATED))
            rr.allocated.append(ref)
        for position, ref in enumerate(outcome.waitlist, start=1):
            updates.append(_status(by_ref[ref], ConcessionaryStatus.WAITING, position=position))
            rr.waiting.append((ref, position))
        for ref, reason in outcome.refused:
            updates.append(_status(by_ref[ref], ConcessionaryStatus.REFUSED, reason=reason))
            rr.refused.append((ref, reason))
    if not write:
        return report
    if writer is not None:
        writer.write()
    written = [u for u in updates if _changed(by_id[u["id"]], u)]
    _write_statuses(s, written)
    seated = [u["id"] for u in written if u["status"] is ConcessionaryStatus.ALLOCATED]
    for start in range(0, len(seated), IDS_PER_STATEMENT):
        chunk = seated[start : start + IDS_PER_STATEMENT]
        new_seats = select(CS.id).where(
            CS.application_id.in_(chunk), CS.status == SeatStatus.ACTIVE
        )
        changed.add(year, "seat", s.scalars(new_seats))
    told = (ConcessionaryStatus.WAITING, ConcessionaryStatus.REFUSED)
    changed.add(year, "seat_application", (u["id"] for u in written if u["status"] in told))
    return report


def _by_register(
    route: Route, free: dict[str, int], group: list[Candidate], _rr: RouteReport
) -> _Outcome | None:
    """A9, Appendix F: the route's candidates ranked by the register for its spare seats."""
    if not group:
        return None
    result = rules.allocate(
        rules.AllocationRequest(
            seats=free,
            applicants=[c.applicant for c in group],
            fare_paying_alternative=route.fare_paying_alternative,
            additional_cost=route.additional_cost,
        )
    )
    return _Outcome(
        allocated=list(result.allocated),
        waitlist=list(result.waitlist),
        refused=[(r.id, REFUSAL_TEXT.get(r.reason, r.reason)) for r in result.refused],
    )


def _next_waiting(
    route: Route, free: dict[str, int], group: list[Candidate], rr: RouteReport
) -> _Outcome | None:
    """Appendix F waiting list: every spare seat is offered, in register order, to each waiting
    applicant in turn whose sessions all still have one (`rules.allocate`: a lower applicant
    may take a morning seat a higher one wanting both could not use); the rest renumbered."""
    if not group:
        rr.notes.append("no one on the waiting list")
        return None
    if route.fare_paying_alternative or route.additional_cost:
        rr.notes.append("no concessionary seats on this route (Appendix F)")
        return None
    result = rules.allocate(
        rules.AllocationRequest(seats=free, applicants=[c.applicant for c in group])
    )
    if not result.allocated:
        rr.notes.append("no waiting applicant's sessions fit the spare seats")
        return None
    return _Outcome(allocated=list(result.allocated), waitlist=list(result.waitlist))


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
        for chunk in range(0, len(ids), IDS_PER_STATEMENT):
            s.execute(
                update(CA)
                .where(CA.id.in_(ids[chunk : chunk + IDS_PER_STATEMENT]))
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


def _offers(
    s: Session, year: str, on: date, ids: list[int], changed: Changed, *, write: bool
) -> SeatReport:
    """The waiting lists of `ids` through the per-route loop; the routes are locked only
    for a run that writes."""
    if write:
        lock_routes(s, ids)
    routes = route_codes(s, ids)
    spare = spare_seats(s, year, on, ids)
    cands = gather_candidates(
        s, [CA.route_id.in_(ids), CA.status == ConcessionaryStatus.WAITING], year
    )
    return _per_route(s, year, on, routes, spare, cands, _next_waiting, changed, write=write)


def offer_next(
    year: str, *, on: date, route_ids: Iterable[int], session: Session | None = None
) -> SeatReport:
    """Appendix F waiting list: freed seats go to the waiting applicants in register order,
    as many as the spare seats of each route and session allow, in one run (`_next_waiting`).
    An offer is made by allocating the seat: it stays "awaiting payment" until the first
    instalment is paid (B1j). The rest of the list is renumbered."""
    s = session or db.session
    ids = sorted(set(route_ids))
    changed = Changed()
    report = transaction(s, lambda: _offers(s, year, on, ids, changed, write=True))
    queue_letters(changed)  # Appendix F: the freed seat's offer, now
    return report


def offers_planned(
    year: str, *, on: date, route_ids: Iterable[int], session: Session | None = None
) -> SeatReport:
    """What `offer_next` would do now, written nowhere: the same loop, for the page that asks
    to confirm (how many offers, who stays waiting)."""
    s = session or db.session
    return _offers(s, year, on, sorted(set(route_ids)), Changed(), write=False)


def _fits(free: dict[str, int], sessions: str) -> bool:
    return all(free[k] > 0 for k in WANTS[Sessions(str(sessions))])


def with_sessions(a: rules.Applicant, sessions: Sessions) -> rules.Applicant:
    from dataclasses import replace

    return replace(a, sessions=rules.Sessions(sessions.value))
