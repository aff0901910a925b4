"""PostgreSQL's statement and lock timeouts bound every request, and say so in words (issue 18).

Before issue 18 a route row lock held for 45 s turned an allocation into a bare 500 (gunicorn's
WORKER TIMEOUT) and nothing told the user why. Here another connection holds the route's row
lock while an officer saves the route's form and an assistant allocates its seats: each is
told "The route is being changed by someone else; try again.", with the form as typed or a
409 page, and nothing is written. A statement that runs past the statement timeout is a 503
page saying nothing was saved. PostgreSQL only (SQLite has neither timeout): the tests ask for
the PostgreSQL server themselves, so they run under the default SQLite run too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import psycopg
import pytest
from alembic import command
from flask import Flask
from sqlalchemy import select, text

from tests import factories as f
from tests.conftest import PASSWORD, alembic_config, make_app, sign_in
from tests.support import postgres
from tests.test_stale_edits import open_form, plain_text

LOCK_MS = 300
STATEMENT_MS = 800
ROUTE_BUSY = "The route is being changed by someone else; try again."


@pytest.fixture(scope="module")
def pg_url(pg_base_url: str) -> str:
    url = postgres.create_database(pg_base_url, "db_bounds")
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture(scope="module")
def bounded_app(pg_url: str) -> Iterator[Flask]:
    app = make_app(pg_url, DB_LOCK_TIMEOUT_MS=LOCK_MS, DB_STATEMENT_TIMEOUT_MS=STATEMENT_MS)

    def sleeps() -> str:
        from models import db

        db.session.execute(text("SELECT pg_sleep(5)"))
        return "finished"

    app.add_url_rule("/sleeps-5-seconds", "sleeps", sleeps)
    yield app
    _dispose(app)


def _dispose(app: Flask) -> None:
    """Close the pool's connections (an open one left to the garbage collector warns)."""
    from models import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def world(bounded_app: Flask) -> dict[str, Any]:
    """Users, a year, a route with a pending seat application."""
    from auth.passwords import hash_password
    from models import User, UserRole, db
    from models.enums import Role

    with bounded_app.app_context():
        for role in (Role.ASSISTANT, Role.OFFICER):
            user = User(
                username=role.value, full_name=role.value, password_hash=hash_password(PASSWORD)
            )
            user.role_rows = [UserRole(role=role)]
            db.session.add(user)
        f.academic_year()
        f.contribution_setting()
        school = f.school()
        route = f.route([school], seats=7, code="LOCKED1")
        f.concessionary_application(f.pupil(), school, route)
        db.session.commit()
        return {"route_id": route.id}


@pytest.fixture
def row_lock(pg_url: str, world: dict[str, Any]) -> Iterator[None]:
    """Another connection holds the route's row lock (FOR UPDATE) until the test ends."""
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as holder:
        holder.execute("SELECT id FROM route WHERE id = %s FOR UPDATE", (world["route_id"],))
        yield
        holder.rollback()


def _client(app: Flask, role: str) -> Any:
    client = app.test_client()
    sign_in(client, role)
    return client


def test_requests_carry_the_bounds_and_commands_do_not(bounded_app: Flask) -> None:
    from models import db

    with bounded_app.test_request_context("/"):
        assert db.session.scalar(text("SHOW lock_timeout")) == f"{LOCK_MS}ms"
        assert db.session.scalar(text("SHOW statement_timeout")) == f"{STATEMENT_MS}ms"
        db.session.rollback()
        db.session.remove()
    with bounded_app.app_context():
        # A command or background job: no worker timeout to stay under.
        assert db.session.scalar(text("SHOW statement_timeout")) == "0"
        assert db.session.scalar(text("SHOW lock_timeout")) == "0"


def test_the_bounds_survive_a_rolled_back_first_transaction(bounded_app: Flask) -> None:
    from models import db

    with bounded_app.test_request_context("/"):
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        assert db.session.scalar(text("SHOW lock_timeout")) == f"{LOCK_MS}ms"
        db.session.remove()


def test_saving_a_locked_route_says_so_and_keeps_the_form(
    bounded_app: Flask, world: dict[str, Any], row_lock: None
) -> None:
    from models import Route, db

    url = f"/admin/route/edit/?id={world['route_id']}"
    client = _client(bounded_app, "assistant")
    form = open_form(client, url)
    started = time.monotonic()
    response = client.post(url, data={**form, "seats": "17"})
    assert time.monotonic() - started < 5, "the lock wait stops at the lock timeout"
    assert response.status_code == 200
    assert ROUTE_BUSY in plain_text(response)
    assert 'value="17"' in response.get_data(as_text=True), "the form keeps what was typed"
    with bounded_app.app_context():
        assert db.session.get(Route, world["route_id"]).seats == 7


def test_allocating_on_a_locked_route_is_a_409_in_words(
    bounded_app: Flask, world: dict[str, Any], row_lock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models import ConcessionarySeat, db
    from services import years

    monkeypatch.setattr(years, "today", lambda: date(2024, 8, 20))
    client = _client(bounded_app, "assistant")
    response = client.post(
        "/admin/route/action/",
        data={"action": "allocate_spare_seats", "rowid": [str(world["route_id"])]},
    )
    assert response.status_code == 409
    assert ROUTE_BUSY in plain_text(response)
    with bounded_app.app_context():
        assert db.session.scalars(select(ConcessionarySeat)).all() == []


def test_a_statement_past_the_timeout_is_a_503_in_words(bounded_app: Flask) -> None:
    client = bounded_app.test_client()
    started = time.monotonic()
    response = client.get("/sleeps-5-seconds")
    assert time.monotonic() - started < 4
    assert response.status_code == 503
    assert "That took too long and was stopped, so nothing was saved." in plain_text(response)
