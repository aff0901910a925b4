"""Sessions end for every copy of the cookie; passwords follow the NCSC; files are private.

Issue 16: before it, a copied session cookie kept working after sign-out, after a supervisor
reset the password, and for as long as it was kept in use; twelve spaces were accepted as a
password; the database file and uploads were readable by every local user.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import auth.blueprint
from auth.passwords import password_problem
from tests.conftest import PASSWORD, ROOT, sign_in


def signed_in(client: FlaskClient) -> bool:
    return client.get("/admin/school/").status_code == 200


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """A second browser holding the same session cookie (stolen or copied)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    other = app.test_client()
    other.set_cookie("session", cookie.value, domain=cookie.domain)
    assert signed_in(other), "the copy works while the session is live"
    return other


def test_sign_out_ends_every_copy_of_the_cookie(app: Flask, users: dict[str, int]) -> None:
    client = app.test_client()
    sign_in(client, "officer")
    copy = copy_of(app, client)
    client.post("/logout")
    assert not signed_in(copy)
    assert not signed_in(client)


def test_a_supervisor_reset_ends_the_users_sessions(
    app: Flask, client_as: Callable[[str], FlaskClient], users: dict[str, int]
) -> None:
    victim = app.test_client()
    sign_in(victim, "officer")
    copy = copy_of(app, victim)
    supervisor = client_as("supervisor")
    response = supervisor.post(
        f"/admin/user_account/edit/?id={users['officer']}",
        data={
            "username": "officer",
            "full_name": "Test officer",
            "email": "",
            "active": "y",
            "role_choices": ["officer"],
            "new_password": "a fresh and long passphrase",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert not signed_in(victim)
    assert not signed_in(copy)
    assert signed_in(supervisor), "the supervisor's own session is untouched"


def test_set_password_command_ends_sessions(app: Flask, users: dict[str, int]) -> None:
    client = app.test_client()
    sign_in(client, "assistant")
    result = app.test_cli_runner().invoke(
        args=["users", "set-password", "assistant", "--password", "another long passphrase"]
    )
    assert result.exit_code == 0, result.output
    assert not signed_in(client)


def test_a_session_ends_after_its_absolute_lifetime_however_busy(
    app: Flask, users: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    sign_in(client, "officer")
    assert signed_in(client)
    hours = float(app.config["SESSION_ABSOLUTE_HOURS"])
    later = time.time() + hours * 3600 + 60
    monkeypatch.setattr(auth.blueprint.time, "time", lambda: later)
    assert not signed_in(client), "kept in use, the session still ends"


def test_a_cookie_from_before_issue_16_is_refused(app: Flask, users: dict[str, int]) -> None:
    """A session holding the bare account id (no generation) no longer signs anyone in."""
    client = app.test_client()
    with client.session_transaction() as stored:
        stored["_user_id"] = str(users["supervisor"])
        stored["signed_in_at"] = time.time()
    assert not signed_in(client)


# ----------------------------------------------------------------------------- passwords


@pytest.mark.parametrize(
    ("password", "words"),
    [
        (" " * 12, "only spaces"),
        ("\t \u00a0" * 5, "only spaces"),
        ("short", "at least 12"),
        ("password1234", "too common"),
        ("Password123!", "too common"),
        ("qwertyuiop12", "too common"),
        ("aaaaaaaaaaaaaaa", "too common"),
        ("officer-is-me-2025", "username"),
    ],
)
def test_passwords_refused_per_ncsc(password: str, words: str) -> None:
    problem = password_problem(password, "officer")
    assert problem is not None and words in problem


@pytest.mark.parametrize(
    "password", ["correct staple horse battery", "lowercase only words", "Üñîçødé pässwörd"]
)
def test_no_composition_rules(password: str) -> None:
    assert password_problem(password, "officer") is None


def test_twelve_spaces_are_refused_on_the_form_and_the_command(
    app: Flask, client_as: Callable[[str], FlaskClient], users: dict[str, int]
) -> None:
    response = client_as("supervisor").post(
        f"/admin/user_account/edit/?id={users['officer']}",
        data={
            "username": "officer",
            "full_name": "Test officer",
            "active": "y",
            "role_choices": ["officer"],
            "new_password": " " * 12,
        },
    )
    assert response.status_code == 200
    assert "only spaces" in response.get_data(as_text=True)
    result = app.test_cli_runner().invoke(
        args=["users", "set-password", "officer", "--password", " " * 12]
    )
    assert result.exit_code == 2 and "only spaces" in result.output
    client = app.test_client()
    sign_in(client, "officer", PASSWORD)  # the old password still works: nothing changed


# ------------------------------------------------------------------------- private files


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    from alembic import command

    from tests.conftest import alembic_config

    old = os.umask(0o022)
    try:
        command.upgrade(alembic_config(f"sqlite:///{tmp_path / 'fresh.db'}"), "0001")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "fresh.db") == 0o600


def test_uploads_are_stored_readable_by_their_owner_only(
    app: Flask, client_as: Callable[[str], FlaskClient], tmp_path: Path, users: dict[str, int]
) -> None:
    import io

    store = tmp_path / "uploads"
    app.config["IMPORT_UPLOAD_DIR"] = str(store)
    try:
        client = client_as("assistant")
        old = os.umask(0o022)
        try:
            data = (ROOT / "tests" / "fixtures" / "gias_2018.csv").read_bytes()
            response = client.post(
                "/admin/imports/preview",
                data={"kind": "schools", "la": "925", "file": (io.BytesIO(data), "g.csv")},
                content_type="multipart/form-data",
            )
            assert response.status_code == 200
        finally:
            os.umask(old)
    finally:
        app.config.pop("IMPORT_UPLOAD_DIR")
    assert _mode(store) == 0o700
    stored = list(store.iterdir())
    assert len(stored) == 2, "the preview keeps the upload and its note"
    for path in stored:
        assert _mode(path) == 0o600, path
