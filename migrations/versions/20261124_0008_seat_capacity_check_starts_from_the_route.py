"""concessionary seat capacity check (0003) counts each touched route from the route itself

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 01:30:00

Found by the allocation benchmark (bench/profiles/NOTES.md). 0003's PostgreSQL check joins
the routes an INSERT or UPDATE touched to the county's passengers; once the year has been
assessed, the planner starts that join from every current eligible decision (10,420 in the
benchmark county, none of them on a touched route) and compares each with every touched
route: 0.7 s of the 2.5 s allocation of 4,109 seats, and it grows with the county's decisions,
not with the routes touched. Now each touched route and session is counted by
`route_passengers(route, year, session)`, whose two counts start from the route (its seats
by ix_concessionary_seat_route_status, its applications by ix_transport_application_route_id).

Same guarantee, same error: the routes are locked in id order first, then the active seats of
the year plus the entitled pupils carried (a current, unended eligible decision) must fit the
vehicle. SQLite is unchanged: its row trigger already starts from the route (0003).
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision_0003() -> ModuleType:
    """0003's own text: its message here, its function again on downgrade."""
    path = Path(__file__).with_name("20261123_0003_concessionary_seat_capacity.py")
    spec = importlib.util.spec_from_file_location("revision_0003", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Passengers on a route in a year and session: active seats plus entitled pupils carried.
ROUTE_PASSENGERS = """
CREATE FUNCTION route_passengers(p_route integer, p_year varchar, p_session varchar)
RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM concessionary_seat cs
              JOIN concessionary_application ca ON ca.id = cs.application_id
             WHERE cs.route_id = p_route AND cs.status = 'active'
               AND cs.sessions IN (p_session, 'both') AND ca.academic_year = p_year)
         + (SELECT count(*) FROM transport_application ta
              JOIN eligibility_decision d
                ON d.application_id = ta.id AND d.superseded_at IS NULL
             WHERE ta.route_id = p_route AND ta.academic_year = p_year
               AND ta.status <> 'withdrawn' AND d.outcome = 'eligible' AND d.ended_on IS NULL
               AND coalesce(ta.route_sessions, 'both') IN (p_session, 'both'))
$$
"""

_CHECK = """
CREATE OR REPLACE FUNCTION concessionary_seat_capacity() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    PERFORM 1 FROM route
    WHERE id IN (SELECT route_id FROM new_rows WHERE status = 'active')
    ORDER BY id FOR UPDATE;
    SELECT r.code, s.session, r.seats,
           route_passengers(t.route_id, t.academic_year, s.session) AS used
    INTO bad
    FROM (SELECT DISTINCT n.route_id, a.academic_year
            FROM new_rows n JOIN concessionary_application a ON a.id = n.application_id
           WHERE n.status = 'active') t
    JOIN route r ON r.id = t.route_id
    CROSS JOIN (VALUES ('am'), ('pm')) AS s(session)
    WHERE route_passengers(t.route_id, t.academic_year, s.session) > r.seats
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '%: route % would carry % passengers (%) in % seats',
            '__MESSAGE__', bad.code, bad.used, bad.session, bad.seats
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(ROUTE_PASSENGERS)
    op.execute(_CHECK.replace("__MESSAGE__", _revision_0003().MESSAGE))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_revision_0003()._PG_CHECK.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    op.execute("DROP FUNCTION IF EXISTS route_passengers(integer, varchar, varchar)")
