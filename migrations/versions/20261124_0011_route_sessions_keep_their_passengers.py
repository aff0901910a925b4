"""a route cannot stop running a session its passengers ride: database-level guard

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 04:00:00

Migration 0010 refuses lowering `route.seats` below the passengers a route carries. Switching
a session off (`runs_am` or `runs_pm` from true to false) on a route that still carries
passengers in it leaves them with no bus at all, so 0010's trigger is replaced by one that
also fires on UPDATE OF runs_am, runs_pm and refuses switching off a session in which, in a
current or later academic year (one ending on or after today), anyone rides the route. The
seat check is 0010's, unchanged, and runs only when the seats are lowered (a route already
over capacity in one session may still switch off another that nobody rides). Passengers are
counted as in 0003/0008/0009/0010 (active seats of the year plus the year's applications on
the route with a current, unended eligible decision), a subset of what
`services.seats.check_seats_fit` counts (it also counts seats under notice), so the guard never
refuses what the routes screen allows. Switching a session on, or off when nobody rides it, is
never refused. Entitled pupils are moved to another route first (A1); concessionary seats are
withdrawn with notice first (Appendix F).

Self-contained: 0010's trigger is written out again here for the downgrade, so this revision
does not depend on 0010's module. PostgreSQL counts with 0008's `route_passengers`; SQLite
writes the counts out, starting from the route as 0003 does. Triggers are not compared by
autogenerate.
"""

import textwrap
from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "route_seats_cover_passengers"
SEATS_MESSAGE = (
    "Vehicle capacity: the seats of a route cannot be lowered below the passengers it carries; "
    "withdraw concessionary seats or move pupils first"
)
SESSION_MESSAGE = (
    "Vehicle capacity: a route cannot stop running a session its passengers ride; "
    "move the entitled pupils to another route and withdraw the concessionary seats first"
)
SWITCHED_OFF = "(OLD.runs_am AND NOT NEW.runs_am) OR (OLD.runs_pm AND NOT NEW.runs_pm)"


def _sqlite_passengers(session: str) -> str:
    """Passengers on NEW's route in year y.label, in `session` (SQL text), as 0010 writes it."""
    return f"""
        (SELECT count(*) FROM concessionary_seat cs
           JOIN concessionary_application ca ON ca.id = cs.application_id
          WHERE cs.route_id = NEW.id AND cs.status = 'active'
            AND cs.sessions IN ('{session}', 'both') AND ca.academic_year = y.label)
      + (SELECT count(*) FROM transport_application ta
           INDEXED BY ix_transport_application_route_id
           CROSS JOIN eligibility_decision d
             ON d.application_id = ta.id AND d.superseded_at IS NULL
          WHERE ta.route_id = NEW.id AND d.outcome = 'eligible'
            AND d.ended_on IS NULL AND ta.status <> 'withdrawn'
            AND coalesce(ta.route_sessions, 'both') IN ('{session}', 'both')
            AND ta.academic_year = y.label)
    """


# The seat check, 0010's words: the first session of a year in force with more passengers
# than NEW.seats.
_PG_SEATS_CHECK = f"""    SELECT y.label, s.session, route_passengers(NEW.id, y.label, s.session) AS used
    INTO bad
    FROM academic_year y
    CROSS JOIN (VALUES ('am'), ('pm')) AS s(session)
    WHERE y.ends >= CURRENT_DATE
      AND route_passengers(NEW.id, y.label, s.session) > NEW.seats
    ORDER BY y.starts, s.session
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '%: route % would carry % passengers (% %) in % seats',
            '{SEATS_MESSAGE}', NEW.code, bad.used, bad.label, bad.session, NEW.seats
            USING ERRCODE = 'check_violation';
    END IF;
"""


def _sqlite_seats_check(lowered: str) -> str:
    """0010's statement; `lowered` is "NEW.seats < OLD.seats AND " where the trigger also
    fires for other columns, "" in 0010 itself (its trigger fires only on lowering)."""
    return f"""    SELECT RAISE(ABORT, '{SEATS_MESSAGE}')
    WHERE {lowered}EXISTS (
        SELECT 1 FROM academic_year y
        WHERE y.ends >= date('now')
          AND ({_sqlite_passengers("am")} > NEW.seats
               OR {_sqlite_passengers("pm")} > NEW.seats));
"""


def _pg_function(body: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {NAME}() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
{body}    RETURN NULL;
END
$$
"""


# --------------------------------------------------------------------------- 0011

_PG_FUNCTION = _pg_function(
    "    IF NEW.seats < OLD.seats THEN\n"
    + textwrap.indent(_PG_SEATS_CHECK, "    ")
    + f"""    END IF;
    SELECT y.label, s.session, route_passengers(NEW.id, y.label, s.session) AS used
    INTO bad
    FROM academic_year y
    CROSS JOIN (VALUES ('am'), ('pm')) AS s(session)
    WHERE y.ends >= CURRENT_DATE
      AND ((s.session = 'am' AND OLD.runs_am AND NOT NEW.runs_am)
           OR (s.session = 'pm' AND OLD.runs_pm AND NOT NEW.runs_pm))
      AND route_passengers(NEW.id, y.label, s.session) > 0
    ORDER BY y.starts, s.session
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '%: route % still carries % passengers in the % session of %',
            '{SESSION_MESSAGE}', NEW.code, bad.used, bad.session, bad.label
            USING ERRCODE = 'check_violation';
    END IF;
"""
)

_PG_TRIGGER = (
    f"CREATE TRIGGER {NAME} AFTER UPDATE OF seats, runs_am, runs_pm ON route "
    f"FOR EACH ROW WHEN (NEW.seats < OLD.seats OR {SWITCHED_OFF}) EXECUTE FUNCTION {NAME}()"
)

_SQLITE_TRIGGER = f"""
CREATE TRIGGER {NAME} AFTER UPDATE OF seats, runs_am, runs_pm ON route
WHEN NEW.seats < OLD.seats OR {SWITCHED_OFF}
BEGIN
{_sqlite_seats_check("NEW.seats < OLD.seats AND ")}    SELECT RAISE(ABORT, '{SESSION_MESSAGE}')
    WHERE EXISTS (
        SELECT 1 FROM academic_year y
        WHERE y.ends >= date('now')
          AND ((OLD.runs_am AND NOT NEW.runs_am AND {_sqlite_passengers("am")} > 0)
               OR (OLD.runs_pm AND NOT NEW.runs_pm AND {_sqlite_passengers("pm")} > 0)));
END
"""

# --------------------------------------------------------------------------- 0010, as it was

_PG_FUNCTION_0010 = _pg_function(_PG_SEATS_CHECK)

_PG_TRIGGER_0010 = (
    f"CREATE TRIGGER {NAME} AFTER UPDATE OF seats ON route "
    f"FOR EACH ROW WHEN (NEW.seats < OLD.seats) EXECUTE FUNCTION {NAME}()"
)

_SQLITE_TRIGGER_0010 = f"""
CREATE TRIGGER {NAME} AFTER UPDATE OF seats ON route
WHEN NEW.seats < OLD.seats
BEGIN
{_sqlite_seats_check("")}END
"""


def _replace(pg_function: str, pg_trigger: str, sqlite_trigger: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {NAME} ON route")
        op.execute(pg_function)
        op.execute(pg_trigger)
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {NAME}")
        op.execute(sqlite_trigger)


def upgrade() -> None:
    _replace(_PG_FUNCTION, _PG_TRIGGER, _SQLITE_TRIGGER)


def downgrade() -> None:
    _replace(_PG_FUNCTION_0010, _PG_TRIGGER_0010, _SQLITE_TRIGGER_0010)
