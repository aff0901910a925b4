"""A keyboard-only journey (issue 15, WCAG 2.1.1, 2.4.1, 2.4.3, 2.4.7): sign in, skip to the
content, and send a form, without the mouse, under the panel's real CSP."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import LiveServer
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {tag: el.tagName, text: (el.textContent || el.value || '').trim(),
          name: el.getAttribute('name'), id: el.id,
          outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
          visible: el.getBoundingClientRect().left >= 0};
}"""


def test_sign_in_skip_link_and_a_form_by_keyboard(
    browser_page: Any, live_server: LiveServer
) -> None:
    page = browser_page
    page.goto(f"{live_server.url}/login")
    page.keyboard.press("Tab")
    first = page.evaluate(FOCUSED)
    assert first["text"] == "Skip to main content" and first["outline"] and first["visible"]
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["name"] == "username"  # logical order: the form next
    page.keyboard.type("supervisor")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["name"] == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/admin/"))

    page.goto(f"{live_server.url}/admin/parish/new/")
    page.keyboard.press("Tab")
    skip = page.evaluate(FOCUSED)
    assert skip["text"] == "Skip to main content" and skip["outline"] and skip["visible"]
    page.keyboard.press("Enter")
    assert page.evaluate(FOCUSED)["id"] == "main-content"  # past the menus, into the page
    page.keyboard.press("Tab")
    inside = page.evaluate("() => document.querySelector('main').contains(document.activeElement)")
    assert inside
    # Every control in main is reached by Tab in the order it is read (no positive tabindex).
    assert (
        page.eval_on_selector_all("[tabindex]", "els => els.filter(e => e.tabIndex > 0).length")
        == 0
    )

    def tab_to(check: str) -> dict[str, Any]:
        for _ in range(80):
            focused = page.evaluate(FOCUSED)
            if check in (focused["id"], focused["text"]):
                return focused
            page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {check}")

    assert tab_to("code")["outline"]
    page.keyboard.type("E04099001")
    assert tab_to("name")["outline"]  # the next field, in reading order
    page.keyboard.type("Keyboard Lane")
    assert tab_to("Save")["outline"]
    with page.expect_navigation():
        page.keyboard.press("Enter")  # sends the form; the answer is a page, not a crash
    assert page.locator("main").count() == 1
    assert "Keyboard Lane" in page.locator("main").inner_text()
