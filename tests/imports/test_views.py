"""Upload pages: preview first, confirm by a server-side token, roles and CSRF enforced."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from models import School, User, db
from tests.conftest import sign_in

from .conftest import fixture


@pytest.fixture(autouse=True)
def _uploads_in_tmp(app, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Stored uploads go to the test's own folder, not the instance folder."""
    monkeypatch.setitem(app.config, "IMPORT_UPLOAD_DIR", str(tmp_path / "uploads"))


def upload(client, kind: str, data: bytes, name: str, la: str = ""):  # type: ignore[no-untyped-def]
    return client.post(
        "/admin/imports/preview",
        data={"kind": kind, "la": la, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def school_count() -> int:
    return db.session.scalar(select(func.count(School.id))) or 0


def token_in(html: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1)


def test_assistant_previews_then_confirms(app, client_as) -> None:
    client = client_as("assistant")
    assert client.get("/admin/imports/").status_code == 200
    response = upload(client, "schools", fixture("gias_2018.csv"), "gias_2018.csv", la="925")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "would import: 7 inserted" in html
    assert "outside LA 925" in html and "Boston Grammar School" in html
    with app.app_context():
        assert school_count() == 0  # the preview wrote nothing
    token = token_in(html)
    done = client.post("/admin/imports/confirm", data={"token": token})
    assert done.status_code == 200
    assert "imported: 7 inserted" in done.get_data(as_text=True)
    with app.app_context():
        assert school_count() == 7
    # The stored upload is gone: confirming twice cannot import twice.
    assert client.post("/admin/imports/confirm", data={"token": token}).status_code == 400


def test_a_bad_file_shows_the_rows_and_offers_no_import(app, client_as) -> None:
    data = fixture("gias_2018.csv").replace(b'"120002"', b'"12000X"')
    html = upload(client_as("assistant"), "schools", data, "bad.csv").get_data(as_text=True)
    assert "Rows to fix" in html and "not a whole number" in html
    assert 'name="token"' not in html
    with app.app_context():
        assert school_count() == 0


def test_confirm_trusts_only_the_token_and_its_owner(app, client_as) -> None:
    owner = client_as("assistant")
    html = upload(owner, "schools", fixture("gias_2025.csv"), "g.csv").get_data(as_text=True)
    token = token_in(html)
    assert (
        client_as("officer").post("/admin/imports/confirm", data={"token": token}).status_code
        == 403
    )
    assert (
        owner.post("/admin/imports/confirm", data={"token": "../../etc/passwd"}).status_code == 400
    )
    assert owner.post("/admin/imports/confirm", data={"token": "x" * 30}).status_code == 400
    with app.app_context():
        assert school_count() == 0


def test_signed_out_and_roleless_users_are_refused(app, users) -> None:
    client = app.test_client()
    assert client.get("/admin/imports/").status_code == 302
    assert client.post("/admin/imports/preview").status_code in (302, 400)
    from auth.passwords import hash_password
    from tests.conftest import PASSWORD

    with app.app_context():
        db.session.add(
            User(username="norole", full_name="No Role", password_hash=hash_password(PASSWORD))
        )
        db.session.commit()
    sign_in(client, "norole")
    assert client.get("/admin/imports/").status_code == 403
    assert client.get("/admin/reports/decisions/").status_code == 403


@pytest.mark.commits  # a second app (CSRF on) signs in as the users the test commits
def test_preview_needs_the_csrf_token(database_url, users, another_app) -> None:
    strict = another_app(database_url, WTF_CSRF_ENABLED=True)
    client = strict.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert csrf, page[:1000]
    client.post(
        "/login",
        data={
            "username": "assistant",
            "password": "correct horse battery staple",
            "csrf_token": csrf.group(1),
        },
    )
    refused = upload(client, "schools", fixture("gias_2025.csv"), "g.csv")
    assert refused.status_code == 400
    with strict.app_context():
        assert school_count() == 0


def _home_tile(client, key: str) -> tuple[int, str | None]:  # type: ignore[no-untyped-def]
    html = client.get("/admin/").get_data(as_text=True)
    match = re.search(
        rf'data-key="{key}">\s*(?:<a href="([^"]+)">)?<span class="home-count">([\d,]+)', html
    )
    assert match, f"no {key} on the home page"
    return int(match.group(2).replace(",", "")), (match.group(1) or "").replace("&amp;", "&")


def test_a_refused_import_is_on_the_home_page_until_a_clean_import_puts_it_right(
    app, client_as
) -> None:
    """Issue 14: imports with problems are counted on home, and open the runs behind them."""
    from models import ImportRun

    client = client_as("assistant")
    bad = fixture("gias_2018.csv").replace(b'"120002"', b'"12000X"')
    upload(client, "schools", bad, "bad.csv")

    count, href = _home_tile(client, "imports_problems")
    assert count == 1
    listed = client.get(href).get_data(as_text=True)
    assert "bad.csv" in listed and "gias_2018.csv" not in listed
    with app.app_context():
        run = db.session.scalar(select(ImportRun))
        assert (run.via, run.error_count, run.committed, run.username) == (
            "check",
            1,
            False,
            "assistant",
        )
    # A clean check is not a fix; importing the corrected file is.
    html = upload(client, "schools", fixture("gias_2018.csv"), "gias_2018.csv").get_data(
        as_text=True
    )
    assert _home_tile(client, "imports_problems")[0] == 1
    client.post("/admin/imports/confirm", data={"token": token_in(html)})
    assert _home_tile(client, "imports_problems")[0] == 0
    # Officers decide; the imports are the assistants' and supervisors' to put right.
    assert 'data-key="imports_problems"' not in client_as("officer").get("/admin/").get_data(
        as_text=True
    )
