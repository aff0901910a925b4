"""Issue 2's end-to-end journey in a real browser: sign in, find a school, edit it, see it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/admin/school/")
    # Anonymous visitors are sent to the sign-in page, and come back after signing in.
    assert "/login" in page.url
    page.get_by_label("Username").fill("supervisor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin/school/"))


def test_supervisor_searches_edits_and_sees_a_school_renamed(
    browser_page: Any, live_server: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    base = live_server.url
    sign_in(page, base)
    table = page.locator("table.model-list")
    expect(table).to_contain_text("Abbey Hill Academy")
    expect(table).to_contain_text("Brook Lane Primary")

    # Search by name narrows the list to the one school.
    search = page.locator("input[name='search']")
    search.fill("Brook Lane")
    search.press("Enter")
    page.wait_for_url(re.compile(r"search=Brook"))
    expect(table).to_contain_text("Brook Lane Primary")
    expect(table).not_to_contain_text("Abbey Hill Academy")
    expect(table).not_to_contain_text("Castle Mead School")

    # Edit it through the real form (CSRF on), then save.
    table.locator("a[href*='/admin/school/edit/']").first.click()
    page.wait_for_url(re.compile(r"/admin/school/edit/"))
    name = page.locator("input[name='name']")
    expect(name).to_have_value("Brook Lane Primary")
    name.fill("Brook Lane Primary and Nursery")
    page.locator("form.admin-form input[type='submit'][value='Save']").click()

    # Back on the list: the change is confirmed and shown.
    page.wait_for_url(re.compile(r"/admin/school/(\?.*)?$"))
    expect(page.locator(".alert")).to_contain_text("saved")
    page.goto(f"{base}/admin/school/?search=Brook")
    expect(page.locator("table.model-list")).to_contain_text("Brook Lane Primary and Nursery")


def test_a_form_posted_without_its_csrf_token_is_refused(
    browser_page: Any, live_server: Any
) -> None:
    """CSRF protection is on in the served app: a forged sign-in post gets 400, not a session."""
    response = browser_page.request.post(
        f"{live_server.url}/login",
        form={"username": "supervisor", "password": PASSWORD},
        max_redirects=0,
    )
    assert response.status == 400
