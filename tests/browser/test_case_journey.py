"""A working day in the panel, in a real browser as each role (issue 14): the home page's count
opens the list behind it, the list leads to the application and on to the child's case, and a
note added there is on the case; an officer takes the case from the same page. CSRF is on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import LiveServer
from tests.conftest import PASSWORD, fresh_database, make_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def panel(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    from auth.passwords import hash_password
    from models import db
    from tests.browser.every_screen import seed_every_screen

    url = fresh_database(request, "case_journey", tmp_path_factory.mktemp("case-db"))
    flask_app = make_app(
        url,
        TESTING=False,
        WTF_CSRF_ENABLED=True,
        SERVER_NAME=None,
        SECRET_KEY="case-journey-secret",
        CASE_DOCUMENTS_DIR=str(tmp_path_factory.mktemp("case-docs") / "store"),
    )
    with flask_app.app_context():
        seed_every_screen(hash_password(PASSWORD))
        db.session.remove()
    server = LiveServer(flask_app).start()
    yield server
    server.stop()
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


def _sign_in(page: Any, base: str, role: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(role)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin/$"))


@pytest.mark.parametrize("role", ["assistant", "officer", "supervisor"])
def test_home_count_to_list_to_case_to_a_note(browser_page: Any, panel: Any, role: str) -> None:
    from playwright.sync_api import expect

    page = browser_page
    _sign_in(page, panel.url, role)
    tile = page.locator('[data-key="b2_past"]')
    expect(tile).to_contain_text("Decisions overdue (B2)")
    count = int(tile.locator(".home-count").inner_text().replace(",", ""))
    assert count >= 1, "the seeded applications are long past their B2 target"

    tile.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/admin/transport_application/\?flt"))
    rows = page.locator("table.model-list tbody tr")
    expect(rows).to_have_count(count)

    rows.first.locator("a[href*='/details/']").first.click()
    page.wait_for_url(re.compile(r"/admin/transport_application/details/"))
    page.get_by_role("link", name=re.compile("Open the case of")).click()
    page.wait_for_url(re.compile(r"/admin/pupil/details/"))
    expect(page.get_by_role("heading", name="Everything on the case, newest first")).to_be_visible()

    words = f"{role} rang the family about the route"
    page.get_by_label(re.compile("Add a note")).fill(words)
    page.get_by_role("button", name="Add note").click()
    page.wait_for_url(re.compile(r"/admin/pupil/details/"))
    expect(page.locator(".alert")).to_contain_text("Note added to the case.")
    expect(page.locator(".case-trail")).to_contain_text(words)

    if role == "officer":
        page.get_by_role("button", name=re.compile(r"^Take ")).first.click()
        page.wait_for_url(re.compile(r"/admin/pupil/details/"))
        expect(page.locator(".alert")).to_contain_text("You now hold")
        expect(page.locator(".case-application").first).to_contain_text("held by Test officer")
        page.goto(f"{panel.url}/admin/")
        mine = page.locator('[data-key="mine"] .home-count')
        expect(mine).to_have_text("1")
