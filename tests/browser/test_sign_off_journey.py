"""Officers sign off decisions, in a real browser (issue 14): an assistant's refusals and awards
on an officer's judgement wait on the home page's "Awaiting sign-off"; an officer signs one off
in bulk from the queue (after a page that says what it will do) and sends another back from
the application; an assistant sees the queue but has nothing to press. CSRF is on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import LiveServer
from tests.conftest import PASSWORD, fresh_database, make_app

pytestmark = pytest.mark.browser

HOME = (500000, 375000)
AWAY = (HOME[0] + 20000, HOME[1])


@pytest.fixture(scope="module")
def panel(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    from auth.passwords import hash_password
    from models import User, UserRole, db
    from models.enums import DistanceMethod, EstablishmentType, MedicalWho, Phase, Role
    from services.assessment import assess_applications
    from tests import factories as f

    url = fresh_database(request, "sign_off_journey", tmp_path_factory.mktemp("sign-off-db"))
    flask_app = make_app(
        url, TESTING=False, WTF_CSRF_ENABLED=True, SERVER_NAME=None, SECRET_KEY="sign-off-secret"
    )
    with flask_app.app_context():
        hashed = hash_password(PASSWORD)
        ids = {}
        for role in Role:
            user = User(username=role.value, full_name=f"Test {role.value}", password_hash=hashed)
            user.role_rows = [UserRole(role=role)]
            db.session.add(user)
            db.session.flush()
            ids[role.value] = user.id
        f.academic_year()
        near = f.school(
            name="Near Academy",
            phase=Phase.SECONDARY,
            establishment_type=EstablishmentType.COMMUNITY,
            easting=HOME[0] + 20000,
            northing=HOME[1] + 2000,
        )
        walk = {"distance_m": 2100, "distance_method": DistanceMethod.WALKING_ROUTE}
        refused = f.transport_application(
            f.pupil(first_name="Rosa", easting=AWAY[0], northing=AWAY[1]), near, **walk
        )
        medical = f.transport_application(
            f.pupil(first_name="Milo", easting=AWAY[0], northing=AWAY[1]),
            near,
            medical_who=MedicalWho.CHILD,
            medical_accepted=True,
            **walk,
        )
        db.session.commit()
        assess_applications(ids=[refused.id, medical.id], user_id=ids["assistant"])
        server = LiveServer(flask_app)
        server.refs = {"refused": refused.reference, "medical": medical.reference}  # type: ignore[attr-defined]
        db.session.remove()
    server.start()
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


def test_an_assistant_sees_the_decisions_waiting_but_cannot_sign_off(
    browser_page: Any, panel: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    _sign_in(page, panel.url, "assistant")
    tile = page.locator('[data-key="awaiting_sign_off"]')
    expect(tile.locator(".home-count")).to_have_text("2")
    tile.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/sign-off/"))
    expect(page.locator("table.sign-off-queue tbody tr")).to_have_count(2)
    expect(page.get_by_text("Only an eligibility officer or a supervisor")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Sign off"))).to_have_count(0)
    expect(page.get_by_role("checkbox")).to_have_count(0)


def test_an_officer_signs_one_off_in_bulk_and_sends_one_back(browser_page: Any, panel: Any) -> None:
    from playwright.sync_api import expect

    page = browser_page
    _sign_in(page, panel.url, "officer")
    tile = page.locator('[data-key="awaiting_sign_off"]')
    expect(tile.locator(".home-count")).to_have_text("2")
    tile.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/sign-off/"))

    # In bulk: choose the refusal, and the page says what signing off will do before doing it.
    page.get_by_label(f"Choose {panel.refs['refused']}").check()
    page.get_by_role("button", name="Sign off the chosen decisions").click()
    expect(page.locator(".confirm-lines")).to_contain_text("1 not eligible")
    expect(page.locator(".confirm-lines")).to_contain_text("letters to the families become due")
    page.get_by_role("button", name="Sign off 1 decision").click()
    page.wait_for_url(re.compile(r"/sign-off/"))
    expect(page.locator(".alert")).to_contain_text("1 decision signed off")
    rows = page.locator("table.sign-off-queue tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(panel.refs["medical"])

    # One by one: open the award on medical grounds and send it back with a reason.
    rows.first.get_by_role("link", name=panel.refs["medical"]).click()
    page.wait_for_url(re.compile(r"/transport_application/details/"))
    expect(page.locator(".sign-off-pending")).to_contain_text("awaits an officer's sign-off")
    page.get_by_label(re.compile("Why it is sent back")).fill("The GP letter is out of date")
    page.get_by_role("button", name="Send it back to be assessed again").click()
    page.wait_for_url(re.compile(r"/transport_application/details/"))
    expect(page.locator(".alert")).to_contain_text("1 decision sent back to be assessed again")
    expect(page.locator(".decision-history")).to_contain_text("Sent back by Test officer")
    expect(page.locator(".decision-history")).to_contain_text("The GP letter is out of date")

    page.goto(f"{panel.url}/admin/")
    expect(page.locator('[data-key="awaiting_sign_off"] .home-count')).to_have_text("0")
