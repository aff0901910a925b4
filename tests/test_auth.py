"""Sign-in, lockout, idle expiry, sign-out and the first supervisor (issue 5)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner
from sqlalchemy import select

from auth.passwords import verify_password
from models import AuditLog, User, db
from models.enums import Role
from tests.conftest import PASSWORD, sign_in


def attempt(client: FlaskClient, username: str, password: str) -> int:
    response = client.post("/login", data={"username": username, "password": password})
    return response.status_code


def signed_in(client: FlaskClient) -> bool:
    response = client.get("/admin/school/")
    return response.status_code == 200


def test_right_password_signs_in_wrong_one_does_not(app: Flask, users: dict[str, int]) -> None:
    client = app.test_client()
    assert attempt(client, "assistant", "wrong password!") == 200
    assert not signed_in(client)
    assert attempt(client, "assistant", PASSWORD) == 302
    assert signed_in(client)


def test_unknown_user_and_wrong_password_get_the_same_message(
    app: Flask, users: dict[str, int]
) -> None:
    client = app.test_client()
    one = client.post("/login", data={"username": "nobody", "password": "x" * 12})
    two = client.post("/login", data={"username": "officer", "password": "x" * 12})
    assert "Sign-in failed" in one.get_data(as_text=True)
    assert "Sign-in failed" in two.get_data(as_text=True)


def test_lockout_after_repeated_failures_even_with_the_right_password(
    app: Flask, users: dict[str, int]
) -> None:
    client = app.test_client()
    for _ in range(5):
        attempt(client, "officer", "not the password")
    assert attempt(client, "officer", PASSWORD) == 200, "locked: the right password is refused"
    assert not signed_in(client)
    with app.app_context():
        user = db.session.get(User, users["officer"])
        assert user is not None and user.locked_until is not None
        locked_until = user.locked_until.replace(tzinfo=user.locked_until.tzinfo or UTC)
        remaining = locked_until - datetime.now(UTC)
        assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)


def test_lockout_ends_after_its_minutes(app: Flask, users: dict[str, int]) -> None:
    client = app.test_client()
    for _ in range(5):
        attempt(client, "officer", "not the password")
    with app.app_context():
        user = db.session.get(User, users["officer"])
        assert user is not None
        user.locked_until = datetime.now(UTC) - timedelta(seconds=1)  # the 15 minutes passed
        db.session.commit()
    assert attempt(client, "officer", PASSWORD) == 302


def test_failures_below_the_limit_do_not_lock(app: Flask, users: dict[str, int]) -> None:
    client = app.test_client()
    for _ in range(4):
        attempt(client, "officer", "not the password")
    assert attempt(client, "officer", PASSWORD) == 302
    with app.app_context():
        user = db.session.get(User, users["officer"])
        assert user is not None and user.failed_logins == 0 and user.locked_until is None


def test_deactivated_account_cannot_sign_in(app: Flask, users: dict[str, int]) -> None:
    with app.app_context():
        user = db.session.get(User, users["assistant"])
        assert user is not None
        user.active = False
        db.session.commit()
    assert attempt(app.test_client(), "assistant", PASSWORD) == 200


def test_deactivating_ends_an_existing_session(app: Flask, users: dict[str, int]) -> None:
    client = app.test_client()
    sign_in(client, "assistant")
    with app.app_context():
        user = db.session.get(User, users["assistant"])
        assert user is not None
        user.active = False
        db.session.commit()
    assert not signed_in(client)


def test_an_idle_session_expires(
    app: Flask, users: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PERMANENT_SESSION_LIFETIME (30 minutes idle): the server refuses an older cookie."""
    client = app.test_client()
    sign_in(client, "officer")
    assert signed_in(client)
    lifetime = app.permanent_session_lifetime.total_seconds()
    later = int(time.time() + lifetime + 60)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    response = client.get("/admin/school/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_activity_within_the_limit_keeps_the_session(
    app: Flask, users: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    sign_in(client, "officer")
    lifetime = app.permanent_session_lifetime.total_seconds()
    soon = int(time.time() + lifetime - 60)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: soon)
    assert signed_in(client)


def test_sign_out_is_a_post_and_ends_the_session(app: Flask, users: dict[str, int]) -> None:
    client = app.test_client()
    sign_in(client, "officer")
    assert client.get("/logout").status_code == 405, "a link or image cannot sign anyone out"
    assert signed_in(client)
    response = client.post("/logout")
    assert response.status_code == 302
    assert not signed_in(client)


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]
)
def test_sign_in_never_redirects_off_site(app: Flask, users: dict[str, int], target: str) -> None:
    client = app.test_client()
    response = client.post(
        "/login", query_string={"next": target}, data={"username": "officer", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/")


def test_sign_in_follows_a_same_site_next(app: Flask, users: dict[str, int]) -> None:
    client = app.test_client()
    response = client.post(
        "/login",
        query_string={"next": "/admin/pupil/"},
        data={"username": "officer", "password": PASSWORD},
    )
    assert response.headers["Location"].endswith("/admin/pupil/")


def test_session_cookie_flags(app: Flask, users: dict[str, int]) -> None:
    client = app.test_client()
    response = client.post("/login", data={"username": "officer", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_secure_cookie_flag_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    import config

    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    settings = config.from_environment()
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["REMEMBER_COOKIE_SECURE"] is True
    assert settings["SECRET_KEY"] == "from-the-environment"


# ------------------------------------------------------------------- flask users create


def test_users_create_makes_the_first_supervisor(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "chief",
            "--name",
            "Chief Supervisor",
            "--role",
            "supervisor",
            "--password",
            "a long enough password",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "chief"))
        assert user is not None and user.roles == {Role.SUPERVISOR}
        assert user.password_hash.startswith("$argon2id$")
        assert verify_password(user.password_hash, "a long enough password")
        rows = db.session.scalars(
            select(AuditLog).where(AuditLog.table_name == "user_account")
        ).all()
        assert [r.username for r in rows] == ["cli:users create"]
        assert "a long enough password" not in str(rows[0].changes)
    client = app.test_client()
    sign_in(client, "chief", "a long enough password")
    assert client.get("/admin/user_account/").status_code == 200


def test_users_create_refuses_short_password_and_duplicates(
    app: Flask, users: dict[str, int]
) -> None:
    runner = app.test_cli_runner()
    short = runner.invoke(
        args=["users", "create", "x", "--name", "X", "--role", "officer", "--password", "short"]
    )
    assert short.exit_code == 2 and "12 characters" in short.output
    duplicate = runner.invoke(
        args=[
            "users",
            "create",
            "officer",
            "--name",
            "Again",
            "--role",
            "officer",
            "--password",
            "a long enough password",
        ]
    )
    assert duplicate.exit_code == 2 and "already exists" in duplicate.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "x")) is None


def test_client_as_fixture_roles(client_as: Callable[[str], FlaskClient]) -> None:
    assert client_as("assistant").get("/admin/user_account/").status_code == 403
    assert client_as("supervisor").get("/admin/user_account/").status_code == 200
