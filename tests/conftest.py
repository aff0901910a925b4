"""Shared fixtures: the database under test (SQLite or a real PostgreSQL), the app, users.

`pytest` runs on SQLite; `pytest --db postgresql` runs the same tests on a PostgreSQL server
the fixtures start themselves. Under CI=true nothing skips for want of a server.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


class ClosingClient(FlaskClient):
    """A test client that reads a streamed response (the CSV/XLSX exports) to its end and
    closes it before handing it back: an unclosed stream keeps its request context pushed, and
    the next request then pops the wrong one (a warning, so an error in this suite)."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        if response.is_streamed:
            response.make_sequence()
            response.close()
        return response


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
    flask_app = create_app(settings)
    flask_app.test_client_class = ClosingClient
    return flask_app


def dispose(flask_app: Flask) -> None:
    """Close an app's pooled connections now. Left to the garbage collector, psycopg warns
    that each was deleted while still open, in whichever later test the collector runs (an
    error in this suite, and a connection the server holds until then)."""
    from models import db

    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def another_app() -> Iterator[Callable[..., Flask]]:
    """another_app(url, **overrides) -> a second app (other settings, same or another
    database) for one test; its connections are closed after the test."""
    made: list[Flask] = []

    def make(url: str, **overrides: object) -> Flask:
        made.append(make_app(url, **overrides))
        return made[-1]

    yield make
    for flask_app in made:
        dispose(flask_app)


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return fresh_database(request, "transport_test", tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    flask_app = make_app(database_url)
    yield flask_app
    dispose(flask_app)


# Every test that uses the session-scoped `app` runs inside one transaction that is rolled back
# at its end (`_one_transaction`) instead of emptying every table afterwards: its sessions and
# requests see its own writes, and nothing else does. A test that needs real commits (a second
# app or engine on the same database, a worker thread or process, a raw connection of its own)
# is marked @pytest.mark.commits, and its tables are emptied afterwards instead; so is every
# test of the modules below.
COMMITTING_MODULES: dict[str, str] = {
    "tests/letters/test_jobs.py": "the jobs run in worker threads and processes",
    "tests/letters/test_follow_up.py": "each step's letters job runs on a connection of its own",
    "tests/test_security.py": "a second app (CSRF on) signs in as the users the test commits",
    "tests/test_sign_in_hardening.py": "threads, a second app and a second process sign in",
}


def pytest_configure(config: pytest.Config) -> None:
    # Cheap argon2 for the suite's own accounts: a default hash costs ~0.1-1.5 s of CPU, and
    # every test that signs in pays it. What is tested (argon2id, one verify per attempt) holds.
    from auth.passwords import configure_hashing

    configure_hashing(time_cost=1, memory_cost=8, parallelism=1)
    # A step's letters job (services/letters/follow_up.py) goes on a queue of the run's own,
    # never on a developer's instance/jobs.db; tests that run the queue use `queue_file`.
    if not os.environ.get("JOB_QUEUE_FILE"):
        queue_dir = Path(tempfile.mkdtemp(prefix="transport-test-jobs-"))
        os.environ["JOB_QUEUE_FILE"] = str(queue_dir / "jobs.db")
        atexit.register(shutil.rmtree, queue_dir, True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath)).relative_to(ROOT).as_posix()
        if path not in COMMITTING_MODULES and item.get_closest_marker("commits") is None:
            item.add_marker(pytest.mark.rolled_back)


@contextmanager
def _one_transaction(flask_app: Flask) -> Iterator[None]:
    """Every session the test opens (its own, each request's) works on one connection inside
    one outer transaction; a session's commit releases a SAVEPOINT; the end rolls it all back.

    Flask-SQLAlchemy picks its engine in `Session.get_bind`, so the app's default engine is
    swapped for the connection for the test's length. pysqlite emits no BEGIN of its own around
    SAVEPOINTs correctly, so on SQLite the connection is put in autocommit mode and the outer
    transaction begun explicitly (SQLAlchemy's documented recipe for SQLite savepoints).
    """
    from models import db

    extension = flask_app.extensions["sqlalchemy"]
    with flask_app.app_context():
        db.session.remove()
        engine = db.engine
        connection = engine.connect()
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            connection.connection.driver_connection.isolation_level = None  # type: ignore[union-attr]
        outer = connection.begin()
        if sqlite:
            connection.exec_driver_sql("BEGIN")
    engines = extension._app_engines[flask_app]
    factory = db.session.session_factory
    saved_mode = factory.kw.get("join_transaction_mode")
    engines[None] = connection  # type: ignore[assignment]
    factory.configure(join_transaction_mode="create_savepoint")
    try:
        yield
    finally:
        with flask_app.app_context():
            db.session.remove()
        engines[None] = engine
        if saved_mode is None:
            factory.kw.pop("join_transaction_mode", None)
        else:
            factory.configure(join_transaction_mode=saved_mode)
        outer.rollback()
        if sqlite:
            connection.invalidate()  # its autocommit mode must not go back to the pool
        connection.close()


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts from empty tables: a rolled-back transaction where the test allows it,
    else (COMMITTING_MODULES, @pytest.mark.commits) the tables are emptied after it (cheaper
    than a new schema)."""
    if "app" not in request.fixturenames:
        yield
        return
    from auth.throttle import EXTENSION

    if request.node.get_closest_marker("rolled_back") is not None:
        flask_app: Flask = request.getfixturevalue("app")
        with _one_transaction(flask_app):
            yield
        flask_app.extensions[EXTENSION].reset()  # each test's sign-ins start with full limits
        return
    yield
    flask_app = request.getfixturevalue("app")
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
