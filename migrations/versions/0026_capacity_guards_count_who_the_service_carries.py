"""capacity guards count who the service carries; an award stands pending a re-check

Revision ID: 0026
Revises: 0019
Create Date: 2026-12-03 06:30:00

Two things that must agree with `services.seats.capacity` (`carrying_decision`,
`spare_seats_stmt`), the one definition of who rides a vehicle:

* `eligibility_decision.stands_pending_recheck`: an eligible award superseded by a re-check not
  decided yet (`refer`, `measure`) stays in force, carrying the pupil, until a final decision
  (A12a "removed with reasonable notice", A15 "at one term's notice": never silently;
  `services.assessment`). False for every existing row, which is what was assumed before.
* The database's capacity guards (0003/0008 concessionary seats, 0009 a pupil put on a route,
  0010/0011 a route's seats lowered or a session switched off) counted only active seats and
  pupils with a current, unended eligible decision: a subset of the service's count. Pupils in
  their notice period were left out: an eligibility withdrawn with notice (A12a, A15) carries
  the pupil until its effective date (`ended_on` ahead), and a concessionary seat withdrawn with
  notice (Appendix F) is held until its end date. So a direct write could fill a seat the
  service knows is taken. Now the guards count what the service counts: active seats and
  withdrawn ones whose end date is ahead; pupils whose carrying decision (current, withdrawn
  with notice, or standing pending a re-check) is eligible and not ended by today.

"Today" is England's date on PostgreSQL (`now()` in Europe/London, as `services.years`);
SQLite has no time zones, so its guards use `date('now')` (UTC): from midnight to 1 a.m. in
British Summer Time a notice ending that day still counts for an hour there.

PostgreSQL: `route_passengers` (0008), which every guard counts with, is replaced, and 0009's
function, whose "is this pupil carried" test changes. SQLite writes the counts out in each
trigger, starting from the route (INDEXED BY, CROSS JOIN, as 0003): those triggers are
re-created. Downgrading puts 0003/0008/0009/0011's own text back (read from their modules)
before dropping the column, which the new triggers name; every row is kept. Triggers are not
compared by autogenerate.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_TODAY = "(now() AT TIME ZONE 'Europe/London')::date"
SQLITE_TODAY = "date('now')"
SEAT_TRIGGERS = ("concessionary_seat_capacity_insert", "concessionary_seat_capacity_update")
ROUTE_TRIGGER = "route_seats_cover_passengers"
PUPIL_TRIGGER = "transport_application_route_capacity"


def _revision(filename: str) -> ModuleType:
    """An earlier revision's own text (its messages, and its triggers again on downgrade)."""
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"revision_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _r0003() -> ModuleType:
    return _revision("20261123_0003_concessionary_seat_capacity.py")


def _r0008() -> ModuleType:
    return _revision("20261124_0008_seat_capacity_check_starts_from_the_route.py")


def _r0009() -> ModuleType:
    return _revision("20261124_0009_route_capacity_for_entitled_pupils.py")


def _r0011() -> ModuleType:
    return _revision("20261124_0011_route_sessions_keep_their_passengers.py")


def carrying(d: str, today: str) -> str:
    """`d` is an eligibility decision carrying its pupil today (`carrying_decision` and the
    outcome and `ended_on` tests of `spare_seats_stmt`, as SQL text)."""
    return f"""{d}.outcome = 'eligible'
           AND ({d}.ended_on IS NULL OR {d}.ended_on > {today})
           AND ({d}.superseded_at IS NULL OR {d}.stands_pending_recheck
                OR {d}.id IN (SELECT w.decision_id FROM withdrawal w
                               WHERE w.kind = 'eligibility'))"""


def held(cs: str, today: str) -> str:
    """`cs` is a concessionary seat taking its place today: active, or withdrawn with notice
    and its end date ahead (Appendix F; `spare_seats_stmt`)."""
    return f"({cs}.status = 'active' OR ({cs}.status = 'withdrawn' AND {cs}.end_date > {today}))"


def passengers(route: str, year: str, session: str, *, sqlite: bool) -> str:
    """Passengers on `route` in `year` and `session` (SQL expressions), as the service counts.

    SQLite starts from the route's own rows (INDEXED BY, and CROSS JOIN, which fixes its join
    order; 0003); PostgreSQL's planner needs no help."""
    today = SQLITE_TODAY if sqlite else PG_TODAY
    by_route = "INDEXED BY ix_transport_application_route_id CROSS " if sqlite else ""
    return f"""
        (SELECT count(*) FROM concessionary_seat cs
           JOIN concessionary_application ca ON ca.id = cs.application_id
          WHERE cs.route_id = {route} AND {held("cs", today)}
            AND cs.sessions IN ({session}, 'both') AND ca.academic_year = {year})
      + (SELECT count(*) FROM transport_application ta
           {by_route}JOIN eligibility_decision d ON d.application_id = ta.id
          WHERE ta.route_id = {route} AND ta.academic_year = {year}
            AND ta.status <> 'withdrawn'
            AND coalesce(ta.route_sessions, 'both') IN ({session}, 'both')
            AND {carrying("d", today)})
    """


# --------------------------------------------------------------------------- PostgreSQL

PG_ROUTE_PASSENGERS = f"""
CREATE OR REPLACE FUNCTION route_passengers(p_route integer, p_year varchar, p_session varchar)
RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT {passengers("p_route", "p_year", "p_session", sqlite=False)}
$$
"""


def _pg_pupil_function(carried: str) -> str:
    """0009's function with `carried` as its "is NEW's pupil carried" test."""
    r = _r0009()
    return r._PG_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION").replace(
        r._CARRIED, carried
    )


def _carried(today: str) -> str:
    return f"""
    EXISTS (SELECT 1 FROM eligibility_decision d
             WHERE d.application_id = NEW.id AND {carrying("d", today)})
"""


# --------------------------------------------------------------------------- SQLite


def _sqlite_seat_trigger(name: str, event: str) -> str:
    """0003's concessionary seat guard, counting as the service does."""
    year = "(SELECT academic_year FROM concessionary_application WHERE id = NEW.application_id)"
    limit = "(SELECT seats FROM route WHERE id = NEW.route_id)"
    am = passengers("NEW.route_id", year, "'am'", sqlite=True)
    pm = passengers("NEW.route_id", year, "'pm'", sqlite=True)
    return f"""
        CREATE TRIGGER {name} AFTER {event} ON concessionary_seat
        WHEN NEW.status = 'active'
        BEGIN
            SELECT RAISE(ABORT, '{_r0003().MESSAGE}')
            WHERE {am} > {limit} OR {pm} > {limit};
        END
    """


def _sqlite_pupil_trigger() -> str:
    """0009's guard on putting a carried pupil on a route, counting as the service does."""
    r = _r0009()
    seats = "(SELECT seats FROM route WHERE id = NEW.route_id)"

    def over(session: str) -> str:
        used = passengers("NEW.route_id", "NEW.academic_year", f"'{session}'", sqlite=True)
        return f"(({r._newly_rides(session)}) AND {used} > {seats})"

    return f"""
CREATE TRIGGER {PUPIL_TRIGGER} AFTER UPDATE OF {r.COLUMNS} ON transport_application
WHEN {r._changed("IS NOT")}
BEGIN
    SELECT RAISE(ABORT, '{r.MESSAGE}')
    WHERE {_carried(SQLITE_TODAY)}
      AND ({over("am")} OR {over("pm")});
END
"""


def _sqlite_route_trigger() -> str:
    """0011's guard on lowering seats or switching a session off, counting as the service."""
    r = _r0011()

    def used(session: str) -> str:
        return passengers("NEW.id", "y.label", f"'{session}'", sqlite=True)

    return f"""
CREATE TRIGGER {ROUTE_TRIGGER} AFTER UPDATE OF seats, runs_am, runs_pm ON route
WHEN NEW.seats < OLD.seats OR {r.SWITCHED_OFF}
BEGIN
    SELECT RAISE(ABORT, '{r.SEATS_MESSAGE}')
    WHERE NEW.seats < OLD.seats AND EXISTS (
        SELECT 1 FROM academic_year y
        WHERE y.ends >= date('now')
          AND ({used("am")} > NEW.seats OR {used("pm")} > NEW.seats));
    SELECT RAISE(ABORT, '{r.SESSION_MESSAGE}')
    WHERE EXISTS (
        SELECT 1 FROM academic_year y
        WHERE y.ends >= date('now')
          AND ((OLD.runs_am AND NOT NEW.runs_am AND {used("am")} > 0)
               OR (OLD.runs_pm AND NOT NEW.runs_pm AND {used("pm")} > 0)));
END
"""


def _sqlite_replace(seat: list[str], pupil: str, route: str) -> None:
    for name in (*SEAT_TRIGGERS, PUPIL_TRIGGER, ROUTE_TRIGGER):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in (*seat, pupil, route):
        op.execute(statement)


def upgrade() -> None:
    op.add_column(
        "eligibility_decision",
        sa.Column(
            "stands_pending_recheck", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_ROUTE_PASSENGERS)
        op.execute(_pg_pupil_function(_carried(PG_TODAY)))
    else:
        _sqlite_replace(
            [
                _sqlite_seat_trigger(SEAT_TRIGGERS[0], "INSERT"),
                _sqlite_seat_trigger(SEAT_TRIGGERS[1], "UPDATE OF status, route_id, sessions"),
            ],
            _sqlite_pupil_trigger(),
            _sqlite_route_trigger(),
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            _r0008().ROUTE_PASSENGERS.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
        )
        op.execute(_pg_pupil_function(_r0009()._CARRIED))
    else:
        r3, r11 = _r0003(), _r0011()
        _sqlite_replace(
            [
                r3._sqlite_trigger(SEAT_TRIGGERS[0], "INSERT"),
                r3._sqlite_trigger(SEAT_TRIGGERS[1], "UPDATE OF status, route_id, sessions"),
            ],
            _r0009()._SQLITE_TRIGGER,
            r11._SQLITE_TRIGGER,
        )
    op.drop_column("eligibility_decision", "stands_pending_recheck")
