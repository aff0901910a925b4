"""the audit trail's redaction also covers deleted records and the text of reads and summaries

Revision ID: 0029
Revises: 0019
Create Date: 2026-12-03 06:20:00

Issue 16 (UK GDPR Art. 17): deleting a pupil, a contact, a letter or a document kept their
personal values in the trail for ever, and a search for a surname stayed in the trail's read
rows after the pupil was anonymised. The one sanctioned change to the append-only trail
(migration 0023) is widened, and nothing else:

* ``audit_redaction.pupil_id`` may be empty: a permit for a record that was deleted (no pupil
  is anonymised for it), and a deleted pupil's spent permits outlive it (ON DELETE SET NULL);
* a permit ``audit_log`` / ``*`` carries the personal values to take out of the text of read,
  export and download rows and statement summaries (``record_id '*'``); spent, it is emptied;
* the triggers let a row's ``changes`` change while a permit for it is pending and either its
  pupil is anonymised (as before) or the permit is for a deleted record (the trail holds its
  delete row); on PostgreSQL still only inside ``audit_log_redact``, which for deletions
  (``p_pupil_id`` NULL) first checks each record is really gone from its table, and which
  replaces whole-word occurrences of the values in the text (``audit_log_scrub``).

Downgrade: permits without a pupil cannot be kept under 0023's NOT NULL; they are spent
records of redactions already done (the trail's ``redact`` rows say so), so the downgrade
refuses while there are any, unless told to drop them (services/migration_guards.py).
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

from services.migration_guards import refuse_data_loss

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision_0023() -> ModuleType:
    """0023's definitions, which the downgrade puts back as they were."""
    path = Path(__file__).with_name("20261202_0023_retention_anonymisation_and_read_audit.py")
    spec = importlib.util.spec_from_file_location("revision_0023", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MESSAGE = "audit_log is append-only: rows cannot be changed or deleted"
TEXT_PERMIT = "r.table_name = 'audit_log' AND r.record_id = '*'"
READ_OR_SUMMARY = "(OLD.action IN ('read', 'export', 'download') OR OLD.record_id = '*')"
# The one update the triggers let through (module docstring).
PERMITTED = (
    "NEW.id = OLD.id AND NEW.at IS NOT DISTINCT FROM OLD.at "
    "AND NEW.user_id IS NOT DISTINCT FROM OLD.user_id "
    "AND NEW.username IS NOT DISTINCT FROM OLD.username "
    "AND NEW.action IS NOT DISTINCT FROM OLD.action "
    "AND NEW.table_name IS NOT DISTINCT FROM OLD.table_name "
    "AND NEW.record_id IS NOT DISTINCT FROM OLD.record_id "
    "AND EXISTS (SELECT 1 FROM audit_redaction r LEFT JOIN pupil p ON p.id = r.pupil_id "
    "WHERE r.redacted_at IS NULL "
    "AND ((r.table_name = OLD.table_name AND r.record_id = OLD.record_id) "
    f"OR ({TEXT_PERMIT} AND {READ_OR_SUMMARY})) "
    "AND (p.anonymised_at IS NOT NULL OR (r.pupil_id IS NULL AND EXISTS ("
    "SELECT 1 FROM audit_redaction q JOIN audit_log d ON d.table_name = q.table_name "
    "AND d.record_id = q.record_id AND d.action = 'delete' "
    "WHERE q.pupil_id IS NULL AND q.redacted_at IS NULL "
    "AND (q.id = r.id OR r.table_name = 'audit_log')))))"
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
# Every string inside a JSON value with the pattern's matches replaced; keys and shape kept.
PG_SCRUB = """
CREATE FUNCTION audit_log_scrub(v json, pattern text) RETURNS json
LANGUAGE plpgsql IMMUTABLE SET search_path = public, pg_temp AS $$
BEGIN
    RETURN CASE json_typeof(v)
        WHEN 'string' THEN to_json(regexp_replace(v #>> '{}', pattern, '[redacted]', 'gi'))
        WHEN 'array' THEN (
            SELECT coalesce(json_agg(audit_log_scrub(t.x, pattern) ORDER BY t.n), '[]'::json)
            FROM json_array_elements(v) WITH ORDINALITY AS t(x, n))
        WHEN 'object' THEN (
            SELECT coalesce(json_object_agg(e.key, audit_log_scrub(e.value, pattern)),
                            '{}'::json)
            FROM json_each(v) AS e)
        ELSE v
    END;
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
IS_TEXT = "table_name = 'audit_log' AND record_id = '*'"
PG_REDACT = f"""
CREATE OR REPLACE FUNCTION audit_log_redact(p_pupil_id integer, p_user_id integer,
                                            p_username text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    total integer := 0;
    n integer;
    r record;
    still boolean;
    pattern text;
    deleted json;
BEGIN
    IF p_pupil_id IS NOT NULL THEN
        IF NOT EXISTS (SELECT 1 FROM pupil WHERE id = p_pupil_id
                       AND anonymised_at IS NOT NULL) THEN
            RAISE EXCEPTION 'pupil % is not anonymised: nothing of theirs may be redacted',
                p_pupil_id USING ERRCODE = 'insufficient_privilege';
        END IF;
    ELSE
        FOR r IN SELECT table_name, record_id FROM audit_redaction
                 WHERE pupil_id IS NULL AND redacted_at IS NULL AND NOT ({IS_TEXT}) LOOP
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE id::text = $1)',
                           r.table_name) INTO still USING r.record_id;
            IF still THEN
                RAISE EXCEPTION '% % still exists: only a deleted record may be redacted',
                    r.table_name, r.record_id USING ERRCODE = 'insufficient_privilege';
            END IF;
        END LOOP;
        SELECT json_agg(table_name || ' ' || record_id ORDER BY id) INTO deleted
        FROM audit_redaction
        WHERE pupil_id IS NULL AND redacted_at IS NULL AND NOT ({IS_TEXT});
        IF deleted IS NULL THEN
            RAISE EXCEPTION 'no deleted record is waiting for its trail to be redacted'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    PERFORM set_config('audit_log.redacting', 'on', true);
    -- The text of reads and summaries: each value, whole, any case; only the rows whose text
    -- (unescaped, as jsonb prints it) matches are walked value by value.
    SELECT '(?<![[:alnum:]_])(?:'
           || string_agg(regexp_replace(t.w, '([^[:alnum:][:space:]])', '\\\\\\1', 'g'), '|'
                         ORDER BY length(t.w) DESC, t.w)
           || ')(?![[:alnum:]_])'
    INTO pattern
    FROM audit_redaction x, json_array_elements_text(x.fields) AS t(w)
    WHERE x.pupil_id IS NOT DISTINCT FROM p_pupil_id AND x.redacted_at IS NULL
      AND x.table_name = 'audit_log' AND x.record_id = '*';
    IF pattern IS NOT NULL THEN
        UPDATE audit_log a SET changes = s.scrubbed
        FROM (SELECT id, audit_log_scrub(changes, pattern) AS scrubbed FROM audit_log
              WHERE (action IN ('read', 'export', 'download') OR record_id = '*')
                AND changes::jsonb::text ~* pattern) s
        WHERE a.id = s.id AND s.scrubbed::jsonb <> a.changes::jsonb;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
    END IF;
    -- The records' personal fields, in every row about them.
    FOR r IN SELECT id, table_name, record_id, fields FROM audit_redaction
             WHERE pupil_id IS NOT DISTINCT FROM p_pupil_id AND redacted_at IS NULL
               AND NOT ({IS_TEXT}) ORDER BY id LOOP
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
    END LOOP;
    UPDATE audit_redaction
    SET redacted_at = now(),
        fields = CASE WHEN {IS_TEXT} THEN '[]'::json ELSE fields END
    WHERE pupil_id IS NOT DISTINCT FROM p_pupil_id AND redacted_at IS NULL;
    PERFORM set_config('audit_log.redacting', 'off', true);
    IF p_pupil_id IS NOT NULL THEN
        INSERT INTO audit_log (at, user_id, username, action, table_name, record_id, changes)
        VALUES (now(), p_user_id, left(p_username, 60), 'redact', 'pupil', p_pupil_id::text,
                json_build_object('trail_rows_redacted', total));
    ELSE
        INSERT INTO audit_log (at, user_id, username, action, table_name, record_id, changes)
        VALUES (now(), p_user_id, left(p_username, 60), 'redact', 'audit_log', '*',
                json_build_object('trail_rows_redacted', total, 'deleted', deleted));
    END IF;
    RETURN total;
END
$$
"""
SQLITE_NO_UPDATE = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    f"WHEN NOT ({PERMITTED.replace('IS NOT DISTINCT FROM', 'IS')}) "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
)
FK = "fk_audit_redaction_pupil_id_pupil"


def _pupil_key(nullable: bool, ondelete: str) -> None:
    with op.batch_alter_table("audit_redaction", schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")
        batch_op.alter_column("pupil_id", existing_type=sa.Integer(), nullable=nullable)
        batch_op.create_foreign_key(FK, "pupil", ["pupil_id"], ["id"], ondelete=ondelete)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pupil_key(nullable=True, ondelete="SET NULL")
        op.execute(PG_SCRUB)
        op.execute("REVOKE ALL ON FUNCTION audit_log_scrub(json, text) FROM PUBLIC")
        op.execute(PG_REDACT)
        op.execute(PG_GUARD)
    else:
        # The trigger names audit_redaction, which SQLite's batch rebuild renames.
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        _pupil_key(nullable=True, ondelete="SET NULL")
        op.execute(SQLITE_NO_UPDATE)


def downgrade() -> None:
    refuse_data_loss(
        "0029",
        "the spent redaction permits, for deleted records, of",
        "SELECT id FROM audit_redaction WHERE pupil_id IS NULL ORDER BY id",
    )
    before = _revision_0023()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(before.PG_GUARD)
        op.execute(before.PG_REDACT.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
        op.execute("DROP FUNCTION IF EXISTS audit_log_scrub(json, text)")
        op.execute("DELETE FROM audit_redaction WHERE pupil_id IS NULL")
        _pupil_key(nullable=False, ondelete="RESTRICT")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DELETE FROM audit_redaction WHERE pupil_id IS NULL")
        _pupil_key(nullable=False, ondelete="RESTRICT")
        op.execute(before.SQLITE_NO_UPDATE)
