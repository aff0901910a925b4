"""a vehicle's seats bound entitled pupils put on a route too: database-level guard

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 02:00:00

Migration 0003 makes the database refuse a concessionary seat that would put more passengers
on a route, in a session, than the vehicle has seats. The other way to add a passenger is to
put an entitled pupil on the route (`transport_application.route_id` / `route_sessions`, the
transport-applications screen), so that now gets the same guard: an application changed so
that its pupil rides a route, or more of its sessions, is refused if the vehicle would then
carry more passengers in one of those sessions than it has seats. Passengers are counted as in
0003 (active seats of the year, plus applications of the year on the route with a current,
unended eligible decision), a subset of what `services.seats` counts, so the guard never
refuses what the service allows. Only an application counted as carried takes a seat, so the
guard fires on UPDATE: a new application has no decision yet. A decision that makes a pupil
already on a route eligible is not refused here: the decision is the pupil's legal right.

PostgreSQL: a row trigger (a column list and transition tables do not go together) that takes
the route's row lock first, as allocation and the seat check do, so a concurrent allocation
either commits first and is counted or waits and counts this pupil; it counts with 0008's
`route_passengers`. SQLite has a single writer: the same check as a row trigger, starting from
the route as 0003's does. Triggers are not compared by autogenerate.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = (
    "Vehicle capacity: an entitled pupil put on this route would carry more passengers than "
    "the vehicle has seats"
)
NAME = "transport_application_route_capacity"
COLUMNS = "route_id, route_sessions, academic_year, status"


def _changed(differs: str) -> str:
    """A real change of what the pupil rides (OLD withdrawn: the pupil rode nothing).

    `differs` is "IS DISTINCT FROM" on PostgreSQL, "IS NOT" on SQLite (NULL-safe both).
    """
    return (
        f"NEW.route_id IS NOT NULL AND NEW.status <> 'withdrawn' AND ("
        f"OLD.route_id {differs} NEW.route_id "
        f"OR OLD.route_sessions {differs} NEW.route_sessions "
        f"OR OLD.academic_year {differs} NEW.academic_year OR OLD.status = 'withdrawn')"
    )


def _passengers(session: str, sqlite: bool) -> str:
    """Passengers on NEW's route in NEW's year, in `session` (SQL text; NEW is the row).

    SQLite has no functions of its own: the counts are written out, starting from the route's
    applications (INDEXED BY, and CROSS JOIN, which fixes its join order; as in 0003).
    """
    if not sqlite:
        return f"route_passengers(NEW.route_id, NEW.academic_year, '{session}')"
    return f"""
        (SELECT count(*) FROM concessionary_seat cs
           JOIN concessionary_application ca ON ca.id = cs.application_id
          WHERE cs.route_id = NEW.route_id AND cs.status = 'active'
            AND cs.sessions IN ('{session}', 'both') AND ca.academic_year = NEW.academic_year)
      + (SELECT count(*) FROM transport_application ta
           INDEXED BY ix_transport_application_route_id
           CROSS JOIN eligibility_decision d
             ON d.application_id = ta.id AND d.superseded_at IS NULL
          WHERE ta.route_id = NEW.route_id AND d.outcome = 'eligible'
            AND d.ended_on IS NULL AND ta.status <> 'withdrawn'
            AND coalesce(ta.route_sessions, 'both') IN ('{session}', 'both')
            AND ta.academic_year = NEW.academic_year)
    """


def _newly_rides(session: str) -> str:
    """NEW rides `session` and did not already ride it on the same route and year."""
    return f"""
        coalesce(NEW.route_sessions, 'both') IN ('{session}', 'both')
        AND NOT (coalesce(OLD.route_id = NEW.route_id, false)
                 AND OLD.academic_year = NEW.academic_year
                 AND OLD.status <> 'withdrawn'
                 AND coalesce(OLD.route_sessions, 'both') IN ('{session}', 'both'))
    """


def _over(session: str, sqlite: bool) -> str:
    seats = "(SELECT seats FROM route WHERE id = NEW.route_id)"
    return f"(({_newly_rides(session)}) AND {_passengers(session, sqlite)} > {seats})"


_CARRIED = """
    EXISTS (SELECT 1 FROM eligibility_decision d
             WHERE d.application_id = NEW.id AND d.superseded_at IS NULL
               AND d.outcome = 'eligible' AND d.ended_on IS NULL)
"""

_PG_FUNCTION = f"""
CREATE FUNCTION {NAME}() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    over_am boolean;
    over_pm boolean;
BEGIN
    IF NOT {_CARRIED} THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM route WHERE id = NEW.route_id FOR UPDATE;
    over_am := {_over("am", sqlite=False)};
    over_pm := {_over("pm", sqlite=False)};
    IF over_am OR over_pm THEN
        RAISE EXCEPTION '%: route % in the %', '{MESSAGE}',
            (SELECT code FROM route WHERE id = NEW.route_id),
            CASE WHEN over_am THEN 'morning' ELSE 'afternoon' END
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$
"""

_SQLITE_TRIGGER = f"""
CREATE TRIGGER {NAME} AFTER UPDATE OF {COLUMNS} ON transport_application
WHEN {_changed("IS NOT")}
BEGIN
    SELECT RAISE(ABORT, '{MESSAGE}')
    WHERE {_CARRIED}
      AND ({_over("am", sqlite=True)} OR {_over("pm", sqlite=True)});
END
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            f"CREATE TRIGGER {NAME} AFTER UPDATE OF {COLUMNS} ON transport_application "
            f"FOR EACH ROW WHEN ({_changed('IS DISTINCT FROM')}) EXECUTE FUNCTION {NAME}()"
        )
    else:
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {NAME} ON transport_application")
        op.execute(f"DROP FUNCTION IF EXISTS {NAME}()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {NAME}")
