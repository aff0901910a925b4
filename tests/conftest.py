"""Shared fixtures: the database under test (SQLite or a real PostgreSQL), the app, users.

`pytest` runs on SQLite; `pytest --db postgresql` runs the same tests on a PostgreSQL server
the fixtures start themselves. Under CI=true nothing skips for want of a server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from tests.support import postgres

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "correct horse battery staple"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("TEST_DB", "sqlite"),
        help="database engine the tests run against",
    )


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI: CI must never pass by skipping."""
    if IN_CI:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_base_url() -> Iterator[str]:
    if postgres.find_bindir() is None:
        unavailable("PostgreSQL binaries not found; install Debian's postgresql")
    with postgres.running_server() as url:
        yield url


@pytest.fixture(scope="session")
def db_engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["skip_logging"] = True
    return cfg


def fresh_database(request: pytest.FixtureRequest, name: str, tmp_dir: Path) -> str:
    """An empty database of the engine under test, built by the migrations."""
    if request.config.getoption("--db") == "postgresql":
        url = postgres.create_database(request.getfixturevalue("pg_base_url"), name)
    else:
        url = f"sqlite:///{tmp_dir / (name + '.db')}"
    command.upgrade(alembic_config(url), "head")
    return url


def make_app(url: str, **overrides: object) -> Flask:
    from app import create_app

    settings: dict[str, object] = {
        "SQLALCHEMY_DATABASE_URI": url,
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-secret",
        "SERVER_NAME": "localhost",
    }
    settings.update(overrides)
    return create_app(settings)


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return fresh_database(request, "transport_test", tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def app(database_url: str) -> Flask:
    return make_app(database_url)


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts from empty tables (cheaper than rebuilding the schema)."""
    yield
    if "app" not in request.fixturenames:
        return
    flask_app: Flask = request.getfixturevalue("app")
    from auth.throttle import EXTENSION
    from models import Base, db

    flask_app.extensions[EXTENSION].reset()  # each test's sign-ins start with full limits

    with flask_app.app_context():
        db.session.rollback()
        db.session.remove()
        engine = db.engine
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                from services.audit import append_only_guard_lifted

                with append_only_guard_lifted(conn):
                    # SQLite checks ON DELETE RESTRICT row by row, so a satellite pointing at
                    # its main site would block "DELETE FROM school"; unhook them first.
                    conn.execute(text("UPDATE school SET main_site_id = NULL"))
                    # Resends point at the letter they repeat: remove them first.
                    conn.execute(text("DELETE FROM communication WHERE resend_of_id IS NOT NULL"))
                    for table in reversed(Base.metadata.sorted_tables):
                        conn.execute(table.delete())


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


@pytest.fixture
def users(app: Flask) -> dict[str, int]:
    """One account per role, all with PASSWORD; returns ids by role name."""
    from auth.passwords import hash_password
    from models import User, UserRole, db
    from models.enums import Role

    hashed = hash_password(PASSWORD)
    ids: dict[str, int] = {}
    with app.app_context():
        for role in Role:
            user = User(username=role.value, full_name=f"Test {role.value}", password_hash=hashed)
            user.role_rows = [UserRole(role=role)]
            db.session.add(user)
            db.session.flush()
            ids[role.value] = user.id
        db.session.commit()
    return ids


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    response = client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


@pytest.fixture
def client_as(app: Flask, users: dict[str, int]) -> Callable[[str], FlaskClient]:
    """client_as("supervisor") -> a test client signed in with that role."""

    def make(role: str) -> FlaskClient:
        client = app.test_client()
        sign_in(client, role)
        return client

    return make
