"""a route's seats cannot be lowered below the passengers it carries: database-level guard

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 03:00:00

Migrations 0003 and 0009 refuse a concessionary seat or an entitled pupil that would put more
passengers on a route than its vehicle has seats. The third way to overfill a vehicle is to
lower `route.seats` (the routes screen, an import, any service), so that gets the same guard:
an UPDATE that lowers a route's seats is refused if, in a session of a current or later
academic year (one ending on or after today), the route carries more passengers than the new
number. Passengers are counted as in 0003/0008/0009 (active seats of the year plus the year's
applications on the route with a current, unended eligible decision), a subset of what
`services.seats.check_seats_fit` counts (it also counts seats under notice), so the guard
never refuses what the routes screen allows. Raising the seats, lowering them to exactly the
passengers, and `lock_routes`' no-op `SET seats = seats` are never refused. Entitled pupils
come first (A1: the council's legal duty); concessionary seats only use spare seats
(Appendix F), so the way to lower seats is to withdraw concessionary seats first.

PostgreSQL: a row trigger on UPDATE OF seats (the UPDATE itself holds the route's row lock,
the lock allocation and route assignment take), counting with 0008's `route_passengers`.
SQLite: the same check written out, starting from the route as 0003's does. Triggers are not
compared by autogenerate.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = (
    "Vehicle capacity: the seats of a route cannot be lowered below the passengers it carries; "
    "withdraw concessionary seats or move pupils first"
)
NAME = "route_seats_cover_passengers"


def _sqlite_passengers(session: str) -> str:
    """Passengers on NEW's route in year y.label, in `session` (SQL text), as 0009 writes it."""
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


_PG_FUNCTION = f"""
CREATE FUNCTION {NAME}() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT y.label, s.session, route_passengers(NEW.id, y.label, s.session) AS used
    INTO bad
    FROM academic_year y
    CROSS JOIN (VALUES ('am'), ('pm')) AS s(session)
    WHERE y.ends >= CURRENT_DATE
      AND route_passengers(NEW.id, y.label, s.session) > NEW.seats
    ORDER BY y.starts, s.session
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '%: route % would carry % passengers (% %) in % seats',
            '{MESSAGE}', NEW.code, bad.used, bad.label, bad.session, NEW.seats
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$
"""

_SQLITE_TRIGGER = f"""
CREATE TRIGGER {NAME} AFTER UPDATE OF seats ON route
WHEN NEW.seats < OLD.seats
BEGIN
    SELECT RAISE(ABORT, '{MESSAGE}')
    WHERE EXISTS (
        SELECT 1 FROM academic_year y
        WHERE y.ends >= date('now')
          AND ({_sqlite_passengers("am")} > NEW.seats
               OR {_sqlite_passengers("pm")} > NEW.seats));
END
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            f"CREATE TRIGGER {NAME} AFTER UPDATE OF seats ON route "
            f"FOR EACH ROW WHEN (NEW.seats < OLD.seats) EXECUTE FUNCTION {NAME}()"
        )
    else:
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {NAME} ON route")
        op.execute(f"DROP FUNCTION IF EXISTS {NAME}()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {NAME}")
