"""CSRF on every form and action, security headers and CSP, friendly error pages (issue 5)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from models import Closure, School, db
from tests import factories
from tests.conftest import PASSWORD

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def csrf_app(
    app: Flask, database_url: str, users: dict[str, int], another_app: Callable[..., Flask]
) -> Flask:
    """The same database with CSRF protection on, as in production."""
    return another_app(database_url, WTF_CSRF_ENABLED=True)


def token_from(client: FlaskClient, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    match = TOKEN.search(page)
    assert match, f"no csrf_token on {url}"
    return match.group(1)


def signed_in_with_csrf(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    token = token_from(client, "/login")
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return client


def test_sign_in_without_a_token_is_refused(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    response = client.post("/login", data={"username": "officer", "password": PASSWORD})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert client.get("/admin/school/").status_code == 302  # still signed out


def test_create_without_token_is_400_and_saves_nothing_with_token_saves(
    csrf_app: Flask,
) -> None:
    client = signed_in_with_csrf(csrf_app, "assistant")
    form = {
        "urn": "123456",
        "name": "Token School",
        "phase": "secondary",
        "establishment_type": "academy",
    }
    refused = client.post("/admin/school/new/", data=form)
    assert refused.status_code == 400
    with csrf_app.app_context():
        assert db.session.scalar(select(func.count(School.id))) == 0
    token = token_from(client, "/admin/school/new/")
    accepted = client.post("/admin/school/new/", data={**form, "csrf_token": token})
    assert accepted.status_code == 302, accepted.get_data(as_text=True)[:3000]
    with csrf_app.app_context():
        assert db.session.scalar(select(School.name)) == "Token School"


def test_bulk_action_needs_the_token(csrf_app: Flask) -> None:
    """The Appendix H bank-holiday action: refused without the token, done with it."""
    with csrf_app.app_context():
        year = factories.academic_year("2024/25")
        db.session.query(Closure).filter(Closure.reason.like("%ank%")).delete()
        db.session.commit()
        year_id = year.id
        before = db.session.scalar(select(func.count(Closure.id)))
    client = signed_in_with_csrf(csrf_app, "supervisor")
    data = {"action": "add_bank_holidays", "rowid": str(year_id)}
    assert client.post("/admin/academic_year/action/", data=data).status_code == 400
    with csrf_app.app_context():
        assert db.session.scalar(select(func.count(Closure.id))) == before
    token = token_from(client, "/admin/academic_year/")
    done = client.post("/admin/academic_year/action/", data={**data, "csrf_token": token})
    assert done.status_code == 302
    with csrf_app.app_context():
        assert db.session.scalar(select(func.count(Closure.id))) > before


def test_delete_without_token_is_refused(csrf_app: Flask) -> None:
    with csrf_app.app_context():
        school_id = factories.school().id
        db.session.commit()
    client = signed_in_with_csrf(csrf_app, "supervisor")
    assert client.post("/admin/school/delete/", data={"id": school_id}).status_code == 400
    with csrf_app.app_context():
        assert db.session.get(School, school_id) is not None


def test_sign_out_without_token_is_refused(csrf_app: Flask) -> None:
    client = signed_in_with_csrf(csrf_app, "officer")
    assert client.post("/logout").status_code == 400
    assert client.get("/admin/school/").status_code == 200
    token = token_from(client, "/admin/school/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/school/").status_code == 302


# ---------------------------------------------------------------------- headers and CSP


def test_security_headers_on_every_response(app: Flask, users: dict[str, int]) -> None:
    client = app.test_client()
    for url in ("/login", "/admin/school/", "/no-such-page"):
        headers = client.get(url).headers
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["X-Frame-Options"] == "DENY", url
        assert headers["Referrer-Policy"] == "same-origin", url
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, url
        assert headers["Cache-Control"] == "no-store", url


def test_static_files_may_be_cached(app: Flask) -> None:
    response = app.test_client().get("/admin/static/bootstrap/bootstrap4/css/bootstrap.min.css")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"


def test_every_inline_script_carries_the_requests_nonce(app: Flask, users: dict[str, int]) -> None:
    """Flask-Admin's inline scripts get the CSP nonce, so the panel works under the policy."""
    from tests.conftest import sign_in

    client = app.test_client()
    sign_in(client, "supervisor")
    for url in ("/admin/academic_year/", "/admin/academic_year/new/", "/admin/school/new/"):
        response = client.get(url)
        assert response.status_code == 200
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
        assert nonce
        page = response.get_data(as_text=True)
        scripts = re.findall(r"<script\b[^>]*>", page)
        assert scripts
        for tag in scripts:
            assert f'nonce="{nonce.group(1)}"' in tag, (url, tag)
        assert (
            "'unsafe-inline'"
            not in response.headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
        )


def test_nonce_differs_between_requests(app: Flask) -> None:
    client = app.test_client()
    one = client.get("/login").headers["Content-Security-Policy"]
    two = client.get("/login").headers["Content-Security-Policy"]
    assert one != two


# ----------------------------------------------------------------------------- errors


def test_403_and_404_are_friendly_pages(app: Flask, users: dict[str, int]) -> None:
    from tests.conftest import sign_in

    client = app.test_client()
    sign_in(client, "assistant")
    forbidden = client.get("/admin/user_account/")
    assert forbidden.status_code == 403
    assert "Nothing was changed" in forbidden.get_data(as_text=True)
    missing = client.get("/admin/no-such-screen/")
    assert missing.status_code == 404
    assert "Not found" in missing.get_data(as_text=True)


def test_500_shows_no_traceback(
    database_url: str, app: Flask, another_app: Callable[..., Flask]
) -> None:
    broken = another_app(database_url, PROPAGATE_EXCEPTIONS=False)

    @broken.route("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = broken.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "secret internals" not in body and "Traceback" not in body


def test_no_secret_in_the_repository() -> None:
    """SECRET_KEY comes from the environment (or a generated instance file, git-ignored)."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "instance/secret_key" not in tracked
    assert not any(name.endswith(".env") for name in tracked)
