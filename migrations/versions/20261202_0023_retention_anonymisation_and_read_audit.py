"""retention settings, pupil anonymisation with trail redaction, and read/export audit actions

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-02 15:55:23.461153

Issue 16 (UK GDPR):

* ``audit_log.action`` also takes ``read``, ``export``, ``download`` (reads and exports of
  personal data are recorded) and ``anonymise``, ``redact``;
* ``pupil.anonymised_at``, ``retention_setting`` (the dated retention period and its legal
  basis) and ``audit_redaction`` (what the trail must stop holding about an anonymised pupil);
* the one sanctioned change to the append-only trail: an UPDATE of ``audit_log.changes`` alone,
  of a record named by a pending ``audit_redaction`` row of a pupil already anonymised. Every
  other UPDATE and every DELETE is still refused by the triggers. On PostgreSQL the exception
  also needs the transaction-local flag that only ``audit_log_redact(pupil, user, name)`` sets:
  a SECURITY DEFINER function owned by the migration role, so the runtime role (which has no
  UPDATE privilege on the trail, services/db_roles.py) can redact through it and nothing else.
  The function records its own ``redact`` row.

Downgrade keeps every row: the widened CHECK on ``audit_log.action`` stays (trail rows cannot
be changed or deleted, so ``read`` rows must remain valid), the triggers go back to refusing
every UPDATE, and the two tables and the column are dropped.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "audit_log is append-only: rows cannot be changed or deleted"
ACTIONS = ("insert", "update", "delete", "read", "export", "download", "anonymise", "redact")
ACTION_CHECK = "action IN (" + ", ".join(f"'{a}'" for a in ACTIONS) + ")"
# The one update the triggers let through (module docstring).
PERMITTED = (
    "NEW.id = OLD.id AND NEW.at IS NOT DISTINCT FROM OLD.at "
    "AND NEW.user_id IS NOT DISTINCT FROM OLD.user_id "
    "AND NEW.username IS NOT DISTINCT FROM OLD.username "
    "AND NEW.action IS NOT DISTINCT FROM OLD.action "
    "AND NEW.table_name IS NOT DISTINCT FROM OLD.table_name "
    "AND NEW.record_id IS NOT DISTINCT FROM OLD.record_id "
    "AND EXISTS (SELECT 1 FROM audit_redaction r JOIN pupil p ON p.id = r.pupil_id "
    "WHERE r.table_name = OLD.table_name AND r.record_id = OLD.record_id "
    "AND r.redacted_at IS NULL AND p.anonymised_at IS NOT NULL)"
)
PG_GUARD = f"""
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('audit_log.redacting', true) = 'on'
       AND {PERMITTED} THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END
$$
"""
PG_GUARD_BEFORE = f"""
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END
$$
"""
REDACTED_VALUE = """
CASE json_typeof(e.value)
    WHEN 'null' THEN e.value
    WHEN 'array' THEN (
        SELECT coalesce(json_agg(CASE WHEN json_typeof(t.x) = 'null' THEN t.x
                                      ELSE to_json('[redacted]'::text) END ORDER BY t.n),
                        '[]'::json)
        FROM json_array_elements(e.value) WITH ORDINALITY AS t(x, n))
    ELSE to_json('[redacted]'::text)
END
"""
PG_REDACT = f"""
CREATE FUNCTION audit_log_redact(p_pupil_id integer, p_user_id integer, p_username text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    total integer := 0;
    n integer;
    r record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pupil WHERE id = p_pupil_id AND anonymised_at IS NOT NULL) THEN
        RAISE EXCEPTION 'pupil % is not anonymised: nothing of theirs may be redacted',
            p_pupil_id USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM set_config('audit_log.redacting', 'on', true);
    FOR r IN SELECT id, table_name, record_id, fields FROM audit_redaction
             WHERE pupil_id = p_pupil_id AND redacted_at IS NULL ORDER BY id LOOP
        UPDATE audit_log a SET changes = (
            SELECT coalesce(json_object_agg(e.key,
                       CASE WHEN e.key IN (SELECT json_array_elements_text(r.fields))
                            THEN {REDACTED_VALUE} ELSE e.value END), '{{}}'::json)
            FROM json_each(a.changes) e)
        WHERE a.table_name = r.table_name AND a.record_id = r.record_id
          AND EXISTS (SELECT 1 FROM json_each(a.changes) f
                      WHERE f.key IN (SELECT json_array_elements_text(r.fields)));
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
        UPDATE audit_redaction SET redacted_at = now() WHERE id = r.id;
    END LOOP;
    PERFORM set_config('audit_log.redacting', 'off', true);
    INSERT INTO audit_log (at, user_id, username, action, table_name, record_id, changes)
    VALUES (now(), p_user_id, left(p_username, 60), 'redact', 'pupil', p_pupil_id::text,
            json_build_object('trail_rows_redacted', total));
    RETURN total;
END
$$
"""
SQLITE_NO_UPDATE = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    f"WHEN NOT ({PERMITTED.replace('IS NOT DISTINCT FROM', 'IS')}) "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
)
SQLITE_NO_UPDATE_BEFORE = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
)
SQLITE_OTHERS = (
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
    "WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
)
SQLITE_TRIGGERS = ("audit_log_no_update", "audit_log_no_delete", "audit_log_no_replace")


def _widen_actions() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS ck_audit_log_audit_action")
        op.execute(
            f"ALTER TABLE audit_log ADD CONSTRAINT ck_audit_log_audit_action CHECK ({ACTION_CHECK})"
        )
        return
    # SQLite changes a CHECK only by rebuilding the table; its triggers go with the old one
    # (DROP TABLE removes them before its implicit delete, so none fires) and are re-made.
    for name in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("audit_log", recreate="always") as batch_op:
        batch_op.drop_constraint(op.f("ck_audit_log_audit_action"), type_="check")
        batch_op.create_check_constraint("audit_action", ACTION_CHECK)
    for statement in (SQLITE_NO_UPDATE, *SQLITE_OTHERS):
        op.execute(statement)


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "retention_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("academic_year", sa.String(length=7), nullable=False),
        sa.Column("keep_years", sa.Integer(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint("keep_years >= 1", name=op.f("ck_retention_setting_keep_years")),
        sa.ForeignKeyConstraint(
            ["academic_year"],
            ["academic_year.label"],
            name=op.f("fk_retention_setting_academic_year_academic_year"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_setting")),
        sa.UniqueConstraint("academic_year", name=op.f("uq_retention_setting_academic_year")),
    )
    op.create_table(
        "audit_redaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=60), nullable=False),
        sa.Column("record_id", sa.String(length=60), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["pupil_id"],
            ["pupil.id"],
            name=op.f("fk_audit_redaction_pupil_id_pupil"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_redaction")),
    )
    with op.batch_alter_table("audit_redaction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_redaction_pupil_id"), ["pupil_id"], unique=False)
        batch_op.create_index(
            "ix_audit_redaction_record", ["table_name", "record_id"], unique=False
        )

    with op.batch_alter_table("pupil", schema=None) as batch_op:
        batch_op.add_column(sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))

    # ### end Alembic commands ###
    _widen_actions()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_GUARD)
        op.execute(PG_REDACT)
        op.execute("REVOKE ALL ON FUNCTION audit_log_redact(integer, integer, text) FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_redact(integer, integer, text)")
        op.execute(PG_GUARD_BEFORE)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute(SQLITE_NO_UPDATE_BEFORE)
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("pupil", schema=None) as batch_op:
        batch_op.drop_column("anonymised_at")

    with op.batch_alter_table("audit_redaction", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_redaction_record")
        batch_op.drop_index(batch_op.f("ix_audit_redaction_pupil_id"))

    op.drop_table("audit_redaction")
    op.drop_table("retention_setting")
    # ### end Alembic commands ###
