"""WCAG 2.2 AA on the pages a POST leads to (issue 15): each bulk action's confirmation page
("what this will do") and the page it returns to, in a real browser.

The crawler in test_accessibility.py follows links, so it never reaches a page that only a
form's POST shows. Here every list screen's every bulk action is chosen for its first row, as
staff choose it from "With selected"; the page that comes back (the confirmation, or the list
with the action's message) is checked with axe-core, and then the confirmation is confirmed
and the result checked too. The database is this module's own: the actions really run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.every_screen import every_screen_panel
from tests.browser.test_accessibility import audit, axe_source, sign_in  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def panel(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    with every_screen_panel(request, tmp_path_factory, "axe_confirm") as running:
        yield running


def test_every_bulk_actions_confirmation_and_result_have_no_wcag_violations(
    browser_page: Any, panel: Any, axe_source: str  # noqa: F811
) -> None:
    app, server = panel
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, server.url, "supervisor")
    admin = app.extensions["admin"][0]
    failures: list[str] = []
    confirmations = 0
    for view in admin._views:
        actions = [name for name, _text in getattr(view, "_actions", [])]
        if not actions or not hasattr(view, "model"):
            continue
        with app.test_request_context():
            from flask import url_for

            list_url = url_for(f"{view.endpoint}.index_view")
        for action in actions:
            page.goto(server.url + list_url)
            boxes = page.locator("input.action-checkbox")
            if boxes.count() == 0:
                continue
            boxes.first.check()
            with page.expect_navigation():
                page.evaluate("name => modelActions.execute(name)", action)
            where = f"{list_url} action {action!r}"
            failures += audit(page, axe_source, where)
            confirm = page.locator("form input[name=confirmed]")
            if confirm.count():
                confirmations += 1
                with page.expect_navigation():
                    confirm.first.locator("xpath=ancestor::form").locator(
                        "[type=submit]"
                    ).first.click()
                failures += audit(page, axe_source, f"{where}, confirmed")
    assert confirmations >= 5  # assessment, allocation, withdrawals, sign-off, letters ...
    assert failures == [], "\n".join(failures)
