"""The trail cannot be emptied, rewritten or unguarded with the app's own credentials (issue 16).

Before issue 16, SQLite's ``INSERT OR REPLACE`` overwrote a trail row, and on PostgreSQL the
app's role owned ``audit_log``: ``TRUNCATE`` emptied it and the triggers could be dropped.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from alembic import command
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from models import AuditLog, db
from tests import factories
from tests.conftest import alembic_config, make_app
from tests.support import postgres

ROLE = "transport_app_test"


@pytest.mark.commits  # its own connection must see the committed rows
def test_no_insert_can_replace_a_trail_row(app_ctx: Flask) -> None:
    factories.school(name="Kept")
    db.session.commit()
    row = db.session.scalars(db.select(AuditLog).order_by(AuditLog.id)).first()
    assert row is not None
    if db.engine.dialect.name == "sqlite":
        forge = (
            "INSERT OR REPLACE INTO audit_log (id, at, username, action, table_name, record_id,"
            " changes) VALUES (:id, CURRENT_TIMESTAMP, 'forged', 'insert', 'school', '1', '{}')"
        )
    else:
        forge = (
            "INSERT INTO audit_log (id, at, username, action, table_name, record_id, changes)"
            " VALUES (:id, now(), 'forged', 'insert', 'school', '1', '{}')"
            " ON CONFLICT (id) DO UPDATE SET username = 'forged'"
        )
    with db.engine.connect() as conn, pytest.raises(DBAPIError) as caught:
        conn.execute(text(forge), {"id": row.id})
    assert "append-only" in str(caught.value)
    db.session.expire_all()
    assert db.session.get(AuditLog, row.id).username == "system"  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def owned_database(pg_base_url: str) -> Iterator[tuple[str, str]]:
    """A database migrated by its owner, with the runtime role granted as in production."""
    plain = pg_base_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{ROLE}"')
        conn.execute(f'CREATE ROLE "{ROLE}" LOGIN')
    owner_url = postgres.create_database(pg_base_url, "audit_roles")
    cfg = alembic_config(owner_url)
    cfg.attributes["app_role"] = ROLE
    command.upgrade(cfg, "head")
    scheme, rest = owner_url.split("://", 1)
    app_url = f"{scheme}://{ROLE}@{rest.split('@', 1)[1]}"
    yield owner_url, app_url


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE audit_log",
        "DELETE FROM audit_log",
        "UPDATE audit_log SET username = 'forged'",
        "DROP TRIGGER audit_log_append_only ON audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "DROP TABLE audit_log",
        f"ALTER TABLE audit_log OWNER TO {ROLE}",
    ],
)
def test_the_runtime_role_cannot_empty_rewrite_or_unguard_the_trail(
    owned_database: tuple[str, str], statement: str
) -> None:
    _owner, app_url = owned_database
    with psycopg.connect(app_url.replace("+psycopg", "")) as conn:
        conn.execute(
            "INSERT INTO audit_log (at, username, action, table_name, record_id, changes)"
            " VALUES (now(), 'app', 'insert', 'school', '1', '{}')"
        )
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] >= 1  # type: ignore[index]
        conn.commit()
        with pytest.raises(psycopg.Error):
            conn.execute(statement)


def test_the_panel_runs_as_the_runtime_role(owned_database: tuple[str, str]) -> None:
    """Its own writes (and their trail rows) work with the runtime privileges."""
    _owner, app_url = owned_database
    flask_app = make_app(app_url)
    with flask_app.app_context():
        school = factories.school(name="Runtime")
        db.session.commit()
        school.name = "Runtime renamed"
        db.session.commit()
        rows = db.session.scalars(db.select(AuditLog).where(AuditLog.table_name == "school")).all()
        assert [r.changes.get("name") for r in rows][-1] == ["Runtime", "Runtime renamed"]
        db.session.remove()
        db.engine.dispose()
