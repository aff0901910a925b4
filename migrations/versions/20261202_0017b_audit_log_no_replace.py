"""audit_log: on SQLite no INSERT (INSERT OR REPLACE included) can replace a row

Revision ID: 0017b
Revises: 0017
Create Date: 2026-12-02 08:00:00

SQLite's REPLACE conflict resolution deletes the clashing row without firing DELETE triggers
(unless recursive_triggers is on), so migration 0002's triggers let ``INSERT OR REPLACE INTO
audit_log`` overwrite history (issue 16). A BEFORE INSERT trigger refuses any insert whose id
is already in the trail; it runs before the conflict is resolved. PostgreSQL needs nothing
new: ``INSERT ... ON CONFLICT DO UPDATE`` fires 0002's UPDATE trigger, and the runtime role's
privileges (services/db_roles.py) refuse TRUNCATE and trigger changes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017b"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "audit_log is append-only: rows cannot be changed or deleted"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
            "WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_replace")
