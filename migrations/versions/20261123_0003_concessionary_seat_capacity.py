"""concessionary seats never outnumber a vehicle's spare seats: database-level guard

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 23:00:00

Appendix F offers only *spare* seats. The allocation service locks the route and recomputes
spare seats before writing; these triggers are the backstop that makes the database itself
refuse an active concessionary seat that would put more passengers on a route, in a session,
than the vehicle has seats (active seats of the same academic year plus entitled pupils
carried under a current, unended eligible decision). They count a subset of what the service
counts, so they never refuse what the service allows.

PostgreSQL: a statement-level trigger locks the routes touched (in id order) and checks them,
so a concurrent transaction that bypassed the service still waits and then sees the other's
seats. SQLite has a single writer; a row trigger checks each insert or activation, starting
from the route's own rows (INDEXED BY, and CROSS JOIN, which fixes SQLite's join order: left
to itself the planner walked every eligible decision for each seat, 21 ms a seat, which made
allocating 5,000 seats take minutes; now 0.1 ms).
Triggers are not compared by autogenerate, so the model/migration diff stays empty.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "Appendix F: more concessionary seats than the vehicle has spare seats"

# Passengers per route, academic year and session: active seats plus entitled pupils.
_PG_CHECK = """
CREATE FUNCTION concessionary_seat_capacity() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    PERFORM 1 FROM route
    WHERE id IN (SELECT route_id FROM new_rows WHERE status = 'active')
    ORDER BY id FOR UPDATE;
    WITH touched AS (
        SELECT DISTINCT n.route_id, a.academic_year
        FROM new_rows n JOIN concessionary_application a ON a.id = n.application_id
        WHERE n.status = 'active'
    ), riders AS (
        SELECT cs.route_id, ca.academic_year, cs.sessions AS sessions
        FROM concessionary_seat cs
        JOIN concessionary_application ca ON ca.id = cs.application_id
        JOIN touched t ON t.route_id = cs.route_id AND t.academic_year = ca.academic_year
        WHERE cs.status = 'active'
        UNION ALL
        SELECT ta.route_id, ta.academic_year, coalesce(ta.route_sessions, 'both')
        FROM transport_application ta
        JOIN eligibility_decision d
          ON d.application_id = ta.id AND d.superseded_at IS NULL
        JOIN touched t ON t.route_id = ta.route_id AND t.academic_year = ta.academic_year
        WHERE d.outcome = 'eligible' AND d.ended_on IS NULL AND ta.status <> 'withdrawn'
    )
    SELECT r.code, s.session, count(*) AS used, r.seats INTO bad
    FROM riders x
    CROSS JOIN (VALUES ('am'), ('pm')) AS s(session)
    JOIN route r ON r.id = x.route_id
    WHERE x.sessions = 'both' OR x.sessions = s.session
    GROUP BY r.code, r.seats, x.academic_year, s.session
    HAVING count(*) > r.seats
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '%: route % would carry % passengers (%) in % seats',
            '__MESSAGE__', bad.code, bad.used, bad.session, bad.seats
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$
""".replace("__MESSAGE__", MESSAGE)


def _sqlite_used(session: str) -> str:
    return f"""
        (SELECT count(*) FROM concessionary_seat cs
           JOIN concessionary_application ca ON ca.id = cs.application_id
          WHERE cs.route_id = NEW.route_id AND cs.status = 'active'
            AND cs.sessions IN ('{session}', 'both')
            AND ca.academic_year = (SELECT academic_year FROM concessionary_application
                                     WHERE id = NEW.application_id))
      + (SELECT count(*) FROM transport_application ta
           INDEXED BY ix_transport_application_route_id
           CROSS JOIN eligibility_decision d
             ON d.application_id = ta.id AND d.superseded_at IS NULL
          WHERE ta.route_id = NEW.route_id AND d.outcome = 'eligible'
            AND d.ended_on IS NULL AND ta.status <> 'withdrawn'
            AND coalesce(ta.route_sessions, 'both') IN ('{session}', 'both')
            AND ta.academic_year = (SELECT academic_year FROM concessionary_application
                                     WHERE id = NEW.application_id))
    """


def _sqlite_trigger(name: str, event: str) -> str:
    limit = "(SELECT seats FROM route WHERE id = NEW.route_id)"
    return f"""
        CREATE TRIGGER {name} AFTER {event} ON concessionary_seat
        WHEN NEW.status = 'active'
        BEGIN
            SELECT RAISE(ABORT, '{MESSAGE}')
            WHERE {_sqlite_used("am")} > {limit} OR {_sqlite_used("pm")} > {limit};
        END
    """


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_CHECK)
        op.execute(
            "CREATE TRIGGER concessionary_seat_capacity_insert AFTER INSERT ON concessionary_seat "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
            "EXECUTE FUNCTION concessionary_seat_capacity()"
        )
        op.execute(
            "CREATE TRIGGER concessionary_seat_capacity_update AFTER UPDATE ON concessionary_seat "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
            "EXECUTE FUNCTION concessionary_seat_capacity()"
        )
    else:
        op.execute(_sqlite_trigger("concessionary_seat_capacity_insert", "INSERT"))
        op.execute(
            _sqlite_trigger(
                "concessionary_seat_capacity_update", "UPDATE OF status, route_id, sessions"
            )
        )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in ("concessionary_seat_capacity_update", "concessionary_seat_capacity_insert"):
        op.execute(
            f"DROP TRIGGER IF EXISTS {name}" + (" ON concessionary_seat" if postgresql else "")
        )
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS concessionary_seat_capacity()")
