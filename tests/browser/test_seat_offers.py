"""Issue 14 in a real browser, as a supervisor: the home page's seats chart and its table, the
"waiting with a free seat" count opening its list, and Offer next from there, which asks first
(saying how many offers it will make), fills every free seat in one go and reports once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from tests.browser.conftest import LiveServer
from tests.conftest import PASSWORD, fresh_database, make_app

pytestmark = pytest.mark.browser
SUMMER = date(2024, 8, 20)  # before the year starts: seats run from its first day


@pytest.fixture(scope="module")
def panel(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    from auth.passwords import hash_password
    from models import ConcessionaryApplication, User, UserRole, db
    from models.enums import ConcessionaryStatus, Role
    from services import seats, years
    from tests import factories as f
    from tests.test_seats import entitled

    url = fresh_database(request, "seat_offers", tmp_path_factory.mktemp("seat-offers-db"))
    flask_app = make_app(
        url, TESTING=False, WTF_CSRF_ENABLED=True, SERVER_NAME=None, SECRET_KEY="seat-offers"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(years, "today", lambda: SUMMER)
        with flask_app.app_context():
            user = User(username="supervisor", full_name="Sam Supervisor",
                        password_hash=hash_password(PASSWORD))  # fmt: skip
            user.role_rows = [UserRole(role=Role.SUPERVISOR)]
            db.session.add(user)
            f.academic_year()
            f.contribution_setting()
            school = f.school(name="Fenland Academy")
            route = f.route([school], seats=3, code="FEN01")
            full = f.route([school], seats=2, code="FULL1")
            for _ in range(3):
                entitled(full)
            entitled(route)
            apps = [f.concessionary_application(f.pupil(), school, route) for _ in range(4)]
            db.session.commit()
            seats.allocate("2024/25", on=SUMMER, route_ids=[route.id])  # 2 seated, 2 waiting
            route.seats = 5  # a bigger coach: two seats free for the waiting list
            db.session.commit()
            waiting = db.session.query(ConcessionaryApplication).filter_by(
                status=ConcessionaryStatus.WAITING
            )
            assert waiting.count() == 2 and len(apps) == 4
            db.session.remove()
        server = LiveServer(flask_app).start()
        yield server
        server.stop()
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_home_chart_then_offer_next_fills_every_free_seat_and_reports_once(
    browser_page: Any, panel: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{panel.url}/login")
    page.get_by_label("Username").fill("supervisor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin/$"))

    # The seats chart: an image with a name, and its figures in a table; over capacity first.
    expect(page.get_by_role("img", name=re.compile("Seats used per route"))).to_be_visible()
    rows = page.locator("table.seats-table tbody tr")
    expect(rows.first).to_contain_text("FULL1")
    expect(rows.first.locator("td").last).to_have_text("Yes")
    expect(rows.nth(1)).to_contain_text("FEN01")

    tile = page.locator('[data-key="waiting_with_seats"]')
    expect(tile.locator(".home-count")).to_have_text("2")
    tile.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/admin/concessionary_application/\?flt"))
    expect(page.locator("table.model-list tbody tr")).to_have_count(2)

    page.locator("input.action-rowtoggle").check()
    page.get_by_role("button", name=re.compile("With selected")).click()
    page.get_by_role("link", name="Offer next").click()
    page.wait_for_url(re.compile(r"/admin/concessionary_application/action/"))
    expect(page.get_by_text(re.compile(r"It will make 2 offer\(s\) now"))).to_be_visible()

    page.get_by_role("button", name="Offer next (2 offers)").click()
    page.wait_for_url(re.compile(r"/admin/concessionary_application/"))
    banners = page.locator(".notification-banner")
    expect(banners).to_have_count(1)
    expect(banners.first).to_contain_text("2 allocated, 0 on waiting lists, 0 refused")
    expect(banners.first).to_contain_text("Routes with outcomes: FEN01.")
