"""The day's work: what is waiting, counted, with the one definition of each queue.

The home page (admin_views/home.py), the list filters it links to and the queue pages all read
their criteria from here, so a count and the list behind it can never disagree. Each count is
part of a grouped query: the home page runs the same number of statements however many rows
there are (tests/test_home.py).

B2a: "make a decision on the application within 5 working days"; "At busy periods (July –
September), this guideline is dis-applied". Each application's target is stored with it
(`decision_target_on`, `decision_target_busy`), worked out once by `services.years.
DecisionTargets` from its receipt date and its year's dated figures; the queues read those
columns, so the home page, the lists and the application's own page give the one date.
"""

from __future__ import annotations

from calendar import month_name
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

import rules
from models import (
    Appeal,
    CaseAssignment,
    Communication,
    ConcessionaryApplication,
    EligibilityDecision,
    ImportRun,
    Instalment,
    TransportApplication,
)
from models.enums import (
    AppealOutcome,
    AppealStage,
    ApplicationStatus,
    CommunicationStatus,
    ConcessionaryStatus,
    Outcome,
)
from rules.parameters import PolicyParameters
from services import import_runs
from services.contributions import overdue_clause
from services.letters.kinds import kinds_of
from services.letters.owed import owed_by_kind
from services.policy import parameters_for_stored_years
from services.seats import over_capacity_ids, usage_stmt
from services.sign_off import awaiting_sign_off

_LONDON = ZoneInfo("Europe/London")
TA = TransportApplication
# Appendix C deadlines "due soon": within this many working days (a working week).
SOON_WORKING_DAYS = 5
CHART_WEEKS = 8
# The seats-used chart shows this many routes, the fullest: readable at a glance.
CHART_ROUTES = 12

B2Kind = Literal["past", "within", "busy"]
B2_LABELS: dict[str, str] = {
    "past": "Past the B2 target",
    "within": "Within the B2 target",
    "busy": "Past the target, received in B2a's busy period (the target is dis-applied)",
}


# --- what each queue is ----------------------------------------------------------------------


def awaiting_decision() -> ColumnElement[bool]:
    """Received and neither decided nor withdrawn: the B2 clock is running."""
    return TA.status == ApplicationStatus.RECEIVED


def outcome_queue(outcome: Outcome) -> ColumnElement[bool]:
    """Applications whose current decision is `outcome` (measure: A3b, refer: A11/A13/A21)."""
    return and_(
        TA.current_decision.has(EligibilityDecision.outcome == outcome),
        TA.status != ApplicationStatus.WITHDRAWN,
    )


def awaiting_sign_off_count(session: Session) -> int:
    """Decisions waiting for an officer's sign-off (services.sign_off), on live applications."""
    ed = EligibilityDecision
    return int(
        session.scalar(
            select(func.count())
            .select_from(ed)
            .join(TA, TA.id == ed.application_id)
            .where(awaiting_sign_off(), TA.status != ApplicationStatus.WITHDRAWN)
        )
        or 0
    )


def assigned_to(user_id: int | None) -> ColumnElement[bool]:
    """Applications held by `user_id`; None: held by nobody."""
    if user_id is None:
        return ~TA.assignment.has()
    return TA.assignment.has(CaseAssignment.user_id == user_id)


def b2_position(kind: B2Kind, today: date) -> ColumnElement[bool]:
    """Where an application's stored B2a target (`decision_target_on`/`_busy`, kept by
    `services.years.DecisionTargets` from its receipt date and its year's figures) stands on
    `today`. An application with no stored target counts as past it: nothing says it is
    within."""
    due = TA.decision_target_on
    if kind == "within":
        return due >= today
    late = or_(due.is_(None), due < today)
    busy = TA.decision_target_busy.is_(True)
    return and_(late, busy) if kind == "busy" else and_(late, ~busy)


@dataclass
class B2Clock:
    """Each awaiting application's place against B2 on `today`, read from its stored target
    (`b2_position`): the counts and the list filter share the clause."""

    today: date
    counts: dict[str, int] = field(default_factory=dict)

    def clause(self, kind: B2Kind) -> ColumnElement[bool]:
        """The applications awaiting a decision that are `kind` against B2 (SQL)."""
        return and_(awaiting_decision(), b2_position(kind, self.today))


def figures_by_year(session: Session) -> dict[str, PolicyParameters]:
    """Every stored academic year's dated figures (`services.policy.parameters_for_stored_years`);
    a year with no figures at all is left out (the screen quotes the earliest, `_figures`)."""
    return parameters_for_stored_years(session)


def _figures(by_year: dict[str, PolicyParameters], label: str) -> PolicyParameters:
    if label in by_year:
        return by_year[label]
    if by_year:
        return by_year[min(by_year)]
    return rules.parameters_for(label)


def b2_clock(session: Session, today: date) -> B2Clock:
    """Count every awaiting application against B2 (one statement)."""
    kinds: tuple[B2Kind, ...] = ("within", "busy", "past")
    row = session.execute(
        select(*(_sum(b2_position(kind, today), kind) for kind in kinds)).where(awaiting_decision())
    ).one()
    return B2Clock(today, {kind: int(row._mapping[kind]) for kind in kinds})


def appeal_due(stage: AppealStage, when: Literal["overdue", "soon"], today: date) -> Any:
    """Pending appeals of `stage` whose Appendix C decision date has passed, or is near."""
    pending = and_(Appeal.stage == stage, Appeal.outcome == AppealOutcome.PENDING)
    if when == "overdue":
        return and_(pending, Appeal.decision_due < today)
    soon = rules.add_working_days(today, SOON_WORKING_DAYS)
    return and_(pending, Appeal.decision_due >= today, Appeal.decision_due <= soon)


# --- the counts ------------------------------------------------------------------------------


@dataclass
class WeekBar:
    """Decisions made in one week, and how many met the B2 target (or fell in B2a's months)."""

    monday: date
    decided: int = 0
    in_target: int = 0
    busy: int = 0

    @property
    def late(self) -> int:
        return self.decided - self.in_target - self.busy


@dataclass(frozen=True)
class RouteUse:
    """Seats used on one route in each session of a year (entitled pupils and seats held)."""

    route_id: int
    code: str
    seats: int
    am: int
    pm: int

    @property
    def over(self) -> bool:
        return max(self.am, self.pm) > self.seats


@dataclass
class DayWork:
    today: date
    years: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    weeks: list[WeekBar] = field(default_factory=list)
    routes: list[RouteUse] = field(default_factory=list)
    # B2a's figures for the year in force, for the screen to quote (never a fixed text).
    b2_days: int = 0
    busy_months: str = ""


def _sum(clause: Any, label: str) -> Any:
    return func.coalesce(func.sum(case((clause, 1), else_=0)), 0).label(label)


def application_counts(session: Session, today: date, user_id: int | None) -> dict[str, int]:
    """To measure, to refer (one grouped query on the current decisions: `outcome_queue` as a
    join, which reads only those decisions), awaiting sign-off, the B2 clock, and "mine"."""
    found = {"to_measure": 0, "to_refer": 0}
    ed = EligibilityDecision
    for outcome, n in session.execute(
        select(ed.outcome, func.count())
        .join(TA, TA.id == ed.application_id)
        .where(
            ed.superseded_at.is_(None),
            ed.outcome.in_([Outcome.MEASURE, Outcome.REFER]),
            TA.status != ApplicationStatus.WITHDRAWN,
        )
        .group_by(ed.outcome)
    ):
        found["to_measure" if outcome == Outcome.MEASURE else "to_refer"] = int(n)
    found["awaiting_sign_off"] = awaiting_sign_off_count(session)
    clock = b2_clock(session, today)
    found.update({f"b2_{kind}": n for kind, n in clock.counts.items()})
    found["mine"] = 0
    if user_id is not None:
        found["mine"] = int(
            session.scalar(
                select(func.count())
                .select_from(CaseAssignment)
                .join(TA, TA.id == CaseAssignment.application_id)
                .where(CaseAssignment.user_id == user_id, TA.status != ApplicationStatus.WITHDRAWN)
            )
            or 0
        )
    return found


def appeal_counts(session: Session, today: date) -> dict[str, int]:
    columns = [
        _sum(appeal_due(stage, when, today), f"appeal_{stage.value}_{when}")
        for stage in AppealStage
        for when in ("overdue", "soon")
    ]
    row = session.execute(select(*columns).select_from(Appeal)).one()
    return {key: int(value or 0) for key, value in row._mapping.items()}


def waiting_with_seat_ids(years: list[str], today: date, usage: Any = None) -> Any:
    """Waiting-list applications (Appendix F) whose route has a seat free in every session
    they asked for, in `years` (the ids, for the count and the list filter); `usage`:
    `usage_stmt(years, today)` already made (a CTE other counts share)."""
    usage = usage_stmt(years, today) if usage is None else usage
    ca = ConcessionaryApplication
    return (
        select(ca.id)
        .join(
            usage, and_(usage.c.route_id == ca.route_id, usage.c.academic_year == ca.academic_year)
        )
        .where(
            ca.status == ConcessionaryStatus.WAITING,
            or_(
                and_(ca.sessions == "am", usage.c.am > 0),
                and_(ca.sessions == "pm", usage.c.pm > 0),
                and_(ca.sessions == "both", usage.c.am > 0, usage.c.pm > 0),
            ),
        )
        .distinct()
    )


def money_and_seat_counts(session: Session, today: date, years: list[str]) -> dict[str, int]:
    """Overdue instalments (B1j), letters failed or unsent (a statement each), and waiting
    lists with a free seat and routes over capacity (Appendix F): one statement, the seats
    used worked out once for both (a CTE; each is a scan of the year's decisions)."""
    found: dict[str, int] = {}
    found["instalments_overdue"] = int(
        session.scalar(select(func.count()).select_from(Instalment).where(overdue_clause(today)))
        or 0
    )
    letters = session.execute(
        select(
            _sum(Communication.status == CommunicationStatus.FAILED, "failed"),
            _sum(Communication.status == CommunicationStatus.QUEUED, "queued"),
        ).select_from(Communication)
    ).one()
    found["letters_failed"], found["letters_queued"] = int(letters[0]), int(letters[1])
    if not years:
        found["waiting_with_seats"] = found["routes_over"] = 0
        return found
    usage = usage_stmt(years, today).element.cte("usage")
    waiting = waiting_with_seat_ids(years, today, usage).subquery()
    over = over_capacity_ids(years, today, usage).subquery()
    seats = session.execute(
        select(
            select(func.count()).select_from(waiting).scalar_subquery(),
            select(func.count(func.distinct(over.c.route_id))).scalar_subquery(),
        )
    ).one()
    found["waiting_with_seats"], found["routes_over"] = int(seats[0] or 0), int(seats[1] or 0)
    return found


def letters_owed_by_kind(session: Session, years: list[str], today: date) -> Counter[str]:
    """Letters owed (B1i) per kind over `years`: services.letters.owed's one definition of
    what the stored state calls for and no live letter answers, counted by the database (one
    statement per year)."""
    owed: Counter[str] = Counter()
    for label in years:
        owed.update(
            {
                kind.value: n
                for kind, n in owed_by_kind(session, label, kinds_of(None), today).items()
            }
        )
    return owed


def letter_and_import_counts(session: Session, today: date, years: list[str]) -> dict[str, int]:
    """Letters owed (B1i) and imports refused and not yet put right: a fixed number of
    statements (the letters' per year in force, one for the imports)."""
    problems = select(func.count()).select_from(ImportRun).where(import_runs.with_problems())
    return {
        "letters_owed": sum(letters_owed_by_kind(session, years, today).values()),
        "imports_problems": int(session.scalar(problems) or 0),
    }


def _london_midnight(day: date) -> datetime:
    """The UTC instant a day in England begins (decided_at is stored in UTC)."""
    return datetime.combine(day, datetime.min.time(), tzinfo=_LONDON).astimezone(UTC)


def _day_in_england(moment: Any, days: list[date], starts: list[datetime]) -> Any:
    """The day in England of a UTC `moment` from `starts[n]`, the instant `days[n]` begins
    (one more start ends the last day): a balanced tree of CASEs, a handful of comparisons
    a row rather than one per day."""
    if len(days) == 1:
        return literal(days[0], Date)
    mid = len(days) // 2
    return case(
        (moment < starts[mid], _day_in_england(moment, days[:mid], starts[: mid + 1])),
        else_=_day_in_england(moment, days[mid:], starts[mid:]),
    )


def decisions_per_week(session: Session, today: date, weeks: int = CHART_WEEKS) -> list[WeekBar]:
    """Each application's first eligible/refused decision in the last `weeks` weeks, by the
    week it was made (in England), against its B2 target (one grouped query).

    The day in England of each decision is found in SQL from the UTC instants the chart's days
    begin (so a change between GMT and BST falls where it should), and compared with the
    application's stored target (`decision_target_on`, `services.years.DecisionTargets`: B2a
    under its year's figures); only the days' totals come back."""
    monday = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    days = [monday + timedelta(days=n) for n in range(weeks * 7)]
    starts = [_london_midnight(d) for d in [*days, monday + timedelta(weeks=weeks)]]
    ed, earlier = EligibilityDecision, aliased(EligibilityDecision)
    outcomes = [Outcome.ELIGIBLE, Outcome.NOT_ELIGIBLE]
    # An application's first decision: none of its own came before it (by time, then id).
    # Read from the decided_at index, only the decisions made in the chart's weeks: the
    # other outcomes are left out rather than these listed, or with no statistics SQLite
    # would read every decision by its outcome index.
    firsts = (
        select(ed.application_id, ed.decided_at.label("first"))
        .where(
            ed.outcome.not_in([o for o in Outcome if o not in outcomes]),
            ed.decided_at >= starts[0],
            ed.decided_at < starts[-1],
            ~select(earlier.id)
            .where(
                earlier.application_id == ed.application_id,
                earlier.outcome.in_(outcomes),
                or_(
                    earlier.decided_at < ed.decided_at,
                    and_(earlier.decided_at == ed.decided_at, earlier.id < ed.id),
                ),
            )
            .exists(),
        )
        .subquery()
    )
    day = _day_in_england(firsts.c.first, days, starts)
    decided = (
        select(day.label("day"), TA.decision_target_on, TA.decision_target_busy)
        .join(TA, TA.id == firsts.c.application_id)
        .subquery()
    )
    in_target = decided.c.day <= decided.c.decision_target_on
    rows = session.execute(
        select(
            decided.c.day,
            func.count(),
            _sum(in_target, "in_target"),
            _sum(and_(~in_target, decided.c.decision_target_busy), "busy"),
        ).group_by(decided.c.day)
    ).all()
    bars = [WeekBar(monday + timedelta(weeks=n)) for n in range(weeks)]
    for on, n, within, busy in rows:
        bar = bars[(on - monday).days // 7]
        bar.decided += int(n)
        bar.in_target += int(within)
        bar.busy += int(busy)
    return bars


def seats_used_per_route(
    session: Session, today: date, years: list[str], top: int = CHART_ROUTES
) -> list[RouteUse]:
    """The `top` fullest routes of the current year (the first in force), fullest first by the
    busier session's share of the seats, so every route over capacity (A1, Appendix F) leads
    the chart; one query over `usage_stmt`, the capacity screens' own figures."""
    if not years:
        return []
    usage = usage_stmt(years[:1], today)
    am = usage.c.entitled_am + usage.c.held_am
    pm = usage.c.entitled_pm + usage.c.held_pm
    busier = case((am > pm, am), else_=pm)
    rows = session.execute(
        select(usage.c.route_id, usage.c.code, usage.c.seats, am, pm)
        .where(usage.c.seats > 0)
        .order_by((busier * 1.0 / usage.c.seats).desc(), usage.c.code)
        .limit(top)
    ).all()
    return [RouteUse(*row) for row in rows]


def quoted_year(by_year: dict[str, PolicyParameters], today: date) -> str:
    """The year whose figures the screen quotes: today's, else the latest before it."""
    label = rules.academic_year_of(today).label
    if label in by_year or not by_year:
        return label
    earlier = [y for y in by_year if y <= label]
    return max(earlier) if earlier else min(by_year)


def day_work(
    session: Session, today: date, user_id: int | None, years: list[str], *, chart: bool
) -> DayWork:
    """Everything the home page counts (a fixed number of statements)."""
    work = DayWork(today, years)
    by_year = figures_by_year(session)
    figures = _figures(by_year, quoted_year(by_year, today))
    work.b2_days = figures.decision_target_working_days
    work.busy_months = (
        f"{month_name[figures.busy_period_first_month]}–"
        f"{month_name[figures.busy_period_last_month]}"
    )
    work.counts.update(application_counts(session, today, user_id))
    work.counts.update(appeal_counts(session, today))
    work.counts.update(money_and_seat_counts(session, today, years))
    work.counts.update(letter_and_import_counts(session, today, years))
    if chart:
        work.weeks = decisions_per_week(session, today)
        work.routes = seats_used_per_route(session, today, years)
    return work
