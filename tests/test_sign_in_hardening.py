"""Sign-in against an outsider (issue 16): atomic lockout, rate limits, one answer for all.

Each test here fails on the code before issue 16: the lockout was read and written back from
Python, nothing limited a client, locked and deactivated accounts skipped the hash, and the
failure message said nothing about how to get back in.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import auth.blueprint
from models import User, db
from tests.conftest import PASSWORD, ROOT, unavailable
from tests.support import redis_server

GENEROUS = {
    "SIGN_IN_LIMIT_PER_CLIENT": "1000 per minute",
    "SIGN_IN_LIMIT_PER_ACCOUNT": "1000 per minute",
}


def client_from(flask_app: Flask, address: str) -> FlaskClient:
    client = flask_app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def attempt(client: FlaskClient, username: str, password: str) -> int:
    return client.post("/login", data={"username": username, "password": password}).status_code


def signed_in(client: FlaskClient) -> bool:
    return client.get("/admin/school/").status_code == 200


@pytest.fixture
def generous_app(database_url: str, app: Flask, another_app: Callable[..., Flask]) -> Flask:
    """The same database with rate limits out of the way: the lockout alone is under test."""
    return another_app(database_url, **GENEROUS)


def test_parallel_wrong_passwords_lock_the_account(
    generous_app: Flask, users: dict[str, int]
) -> None:
    """Five guesses at once are five failures: the account locks and the password is refused."""
    threads = 5
    barrier = threading.Barrier(threads)
    codes: list[int] = []

    def guess() -> None:
        client = generous_app.test_client()
        barrier.wait()
        for _ in range(3):
            codes.append(attempt(client, "officer", "not the password"))

    workers = [threading.Thread(target=guess) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert codes == [200] * (threads * 3)
    with generous_app.app_context():
        user = db.session.get(User, users["officer"])
        assert user is not None and user.locked_until is not None, "the lock must hold"
    client = generous_app.test_client()
    assert attempt(client, "officer", PASSWORD) == 200
    assert not signed_in(client), "locked: the right password is refused"


def test_a_lock_set_while_the_hash_runs_still_refuses(
    generous_app: Flask, users: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The success is recorded only if the account is still unlocked when the hash is done."""
    real = auth.blueprint.verify_password

    def verify_then_lock(password_hash: str, password: str) -> bool:
        result = real(password_hash, password)
        with db.engine.begin() as conn:  # another worker's failure locks meanwhile
            conn.execute(
                User.__table__.update().values(locked_until=datetime.now(UTC) + timedelta(hours=1))
            )
        return result

    monkeypatch.setattr(auth.blueprint, "verify_password", verify_then_lock)
    client = generous_app.test_client()
    assert attempt(client, "officer", PASSWORD) == 200
    assert not signed_in(client)


def _counting_hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = auth.blueprint.verify_password

    def counted(password_hash: str, password: str) -> bool:
        seen.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(auth.blueprint, "verify_password", counted)
    return seen


def _answer(page: str) -> str:
    """The page's alert: what the person is told (the form echoes the username typed)."""
    alerts = re.findall(r'<div class="alert[^>]*>(.*?)</div>', page, re.S)
    assert len(alerts) == 1, page
    return alerts[0]


def test_every_account_state_costs_one_hash_and_gets_the_same_words(
    generous_app: Flask, users: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown, wrong password, locked, deactivated: one argon2 run each, one identical page."""
    with generous_app.app_context():
        locked = db.session.get(User, users["officer"])
        gone = db.session.get(User, users["assistant"])
        assert locked is not None and gone is not None
        locked.locked_until = datetime.now(UTC) + timedelta(minutes=10)
        gone.active = False
        db.session.commit()
    seen = _counting_hashes(monkeypatch)
    pages = []
    for username, password in (
        ("nobody-here", "any password at all"),
        ("supervisor", "a wrong password"),
        ("officer", PASSWORD),  # locked: even the right password
        ("assistant", PASSWORD),  # deactivated
    ):
        before = len(seen)
        response = generous_app.test_client().post(
            "/login", data={"username": username, "password": password}
        )
        assert response.status_code == 200
        assert len(seen) == before + 1, f"{username}: exactly one password hash is verified"
        pages.append(_answer(response.get_data(as_text=True)))
    assert len(set(pages)) == 1, "every failure answers with the same words"
    assert "ask a supervisor to reset your password" in pages[0]
    assert "users set-password" in pages[0]


def test_the_client_limit_refuses_before_any_hash(
    app: Flask,
    users: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    another_app: Callable[..., Flask],
) -> None:
    limited = another_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        SIGN_IN_LIMIT_PER_CLIENT="3 per 15 minutes",
        LOGIN_MAX_FAILURES=100,
    )
    client = limited.test_client()
    for name in ("a-one", "a-two", "a-three"):
        assert attempt(client, name, "wrong password here") == 200
    seen = _counting_hashes(monkeypatch)
    response = client.post("/login", data={"username": "officer", "password": PASSWORD})
    assert response.status_code == 429
    assert "Wait 15 minutes" in response.get_data(as_text=True)
    assert seen == [], "an exhausted client costs no password hash"
    assert not signed_in(client)
    other = client_from(limited, "192.0.2.7")
    assert attempt(other, "officer", PASSWORD) == 302, "another client is not limited"


def test_the_account_limit_holds_across_clients(
    app: Flask, users: dict[str, int], another_app: Callable[..., Flask]
) -> None:
    limited = another_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        SIGN_IN_LIMIT_PER_ACCOUNT="3 per hour",
        LOGIN_MAX_FAILURES=100,
    )
    for n in range(3):
        client = client_from(limited, f"198.51.100.{n}")
        assert attempt(client, "Supervisor ", "wrong password here") == 200
    last = client_from(limited, "198.51.100.99")
    assert attempt(last, "supervisor", PASSWORD) == 429
    unknown = [
        attempt(limited.test_client(), "no-such-user", "wrong password here") for _ in range(4)
    ]
    assert unknown == [200, 200, 200, 429], "unknown names are limited alike: nothing leaks"


def test_a_successful_sign_in_uses_no_limit(
    app: Flask, users: dict[str, int], another_app: Callable[..., Flask]
) -> None:
    limited = another_app(
        app.config["SQLALCHEMY_DATABASE_URI"], SIGN_IN_LIMIT_PER_CLIENT="2 per hour"
    )
    for _ in range(5):
        client = limited.test_client()
        assert attempt(client, "officer", PASSWORD) == 302


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    if redis_server.find_binary() is None:
        unavailable("redis-server not found; install Debian's redis-server")
    with redis_server.running_server() as url:
        yield url


CHILD = """
import sys
from tests.conftest import make_app
app = make_app(sys.argv[1], RATELIMIT_STORAGE_URI=sys.argv[2],
               SIGN_IN_LIMIT_PER_CLIENT="3 per hour", LOGIN_MAX_FAILURES=100)
client = app.test_client()
codes = [client.post("/login", data={"username": f"u{n}", "password": "wrong password here"})
         .status_code for n in range(3)]
print(codes)
"""


def test_limits_are_shared_by_every_process(
    app: Flask, users: dict[str, int], redis_url: str, another_app: Callable[..., Flask]
) -> None:
    """Another process's failures (a second gunicorn worker) count against this one."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, url, redis_url],
        cwd=Path(ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.strip() == "[200, 200, 200]"
    here = another_app(url, RATELIMIT_STORAGE_URI=redis_url, SIGN_IN_LIMIT_PER_CLIENT="3 per hour")
    assert attempt(here.test_client(), "officer", PASSWORD) == 429
