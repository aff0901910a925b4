"""On PostgreSQL the panel runs as a role that may only add to and read the audit trail.

Two roles (README, "On PostgreSQL"): the **owner** runs the migrations (``alembic upgrade head``
with ``MIGRATION_DATABASE_URL``) and owns every table, its triggers and sequences; the
**runtime** role, named by ``APP_DB_ROLE`` and used in the app's ``DATABASE_URL``, owns nothing.
A table's owner can always TRUNCATE it, drop or disable its triggers and change its
privileges; a role that is not the owner can do none of these without a grant. So the runtime
role gets SELECT, INSERT, UPDATE and DELETE on the working tables and only SELECT and INSERT on
``audit_log``: with the app's own credentials the trail cannot be emptied, rewritten or
unguarded (issue 16). The one sanctioned change, redacting an anonymised pupil's personal
values (services/anonymise.py), is the owner's SECURITY DEFINER function ``audit_log_redact``
(migration 0023): the runtime role may EXECUTE it, and it can do nothing else to the trail.
The grants are re-applied after every migration run (migrations/env.py),
so a table a later migration adds is covered too.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text

AUDIT_TABLE = "audit_log"
REDACT_FUNCTION = "audit_log_redact(integer, integer, text)"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_runtime_role(connection: Any, role: str) -> None:
    """Give `role` exactly the runtime privileges on every table of the current schema."""
    if connection.dialect.name != "postgresql":
        return
    if not _ROLE_NAME.match(role):
        raise ValueError(f"not a plain role name: {role!r}")
    quoted = f'"{role}"'
    tables = [
        name
        for (name,) in connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        )
    ]
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
    for name in tables:
        connection.execute(text(f'REVOKE ALL ON TABLE "{name}" FROM {quoted}'))
        if name == AUDIT_TABLE:
            connection.execute(text(f'GRANT SELECT, INSERT ON TABLE "{name}" TO {quoted}'))
        else:
            connection.execute(
                text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "{name}" TO {quoted}')
            )
    connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}"))
    if connection.execute(text(f"SELECT to_regprocedure('{REDACT_FUNCTION}')")).scalar():
        connection.execute(text(f"GRANT EXECUTE ON FUNCTION {REDACT_FUNCTION} TO {quoted}"))
