"""WCAG 2.2 AA on every page type, for every role, in a real browser (issue 15).

axe-core (the npm package in package.json, installed by scripts/test.sh) runs in Debian's
Chromium on pages served with the panel's real Content-Security-Policy. Its source is
evaluated through the DevTools protocol, which a page's CSP does not govern, so the policy
stays exactly as staff get it (a CSP report on the console fails the test too).

The pages are found, not listed: from the home page and every registered screen, the crawler
follows the panel's own links and checks one page per endpoint (each list, create, edit and
details page, imports, reports, settings, queues), plus the sign-in page, the error pages and
each create form sent back with its errors. A screen added later is checked without editing
this file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.every_screen import every_screen_panel, page_endpoint, start_pages
from tests.conftest import PASSWORD, unavailable

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
ROLES = ("assistant", "officer", "supervisor")


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        unavailable(f"{AXE} missing: run `npm ci` in the repository root (scripts/test.sh does)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def panel(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    with every_screen_panel(request, tmp_path_factory, "axe_browser") as running:
        yield running


def audit(page: Any, axe_source: str, where: str) -> list[str]:
    """axe-core's WCAG A/AA violations on the page as it stands, one line per rule."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    result = page.evaluate(
        "tags => axe.run(document,"
        " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS,
    )
    found = []
    for violation in result["violations"]:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
        summary = violation["nodes"][0].get("failureSummary", "").replace("\n", " ")
        found.append(
            f"{where}: {violation['id']} ({len(violation['nodes'])}x) {json.dumps(targets)} "
            f"{summary[:300]}"
        )
    return found


def sign_in(page: Any, base: str, role: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(role)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin/"))


def crawl(page: Any, app: Any, base: str, axe_source: str) -> tuple[dict[str, str], list[str]]:
    """Visit one page per endpoint reachable from the start pages; axe each one."""
    seen: dict[str, str] = {}
    failures: list[str] = []
    queue = list(start_pages(app))
    while queue:
        path = queue.pop(0)
        endpoint = page_endpoint(app, path)
        if endpoint is None or endpoint in seen:
            continue
        response = page.goto(base + path)
        seen[endpoint] = path
        if response is None or response.status != 200:
            # A screen this role may not open: its refusal page is checked instead.
            failures += audit(page, axe_source, f"{path} ({response and response.status})")
            continue
        failures += audit(page, axe_source, path)
        links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        for link in links:
            if link and page_endpoint(app, link) not in seen:
                queue.append(link.split("#")[0])
        if endpoint.endswith(".create_view") and page.locator("form.admin-form").count():
            # The same form sent back with its errors (an empty form fails somewhere).
            page.locator("form.admin-form [type=submit]").first.click()
            page.wait_for_load_state()
            failures += audit(page, axe_source, f"{path} (sent empty)")
    return seen, failures


@pytest.mark.parametrize("role", ROLES)
def test_every_page_type_has_no_wcag_violations(
    browser_page: Any, panel: Any, axe_source: str, role: str
) -> None:
    app, server = panel
    page = browser_page
    csp_reports: list[str] = []
    page.on(
        "console",
        lambda msg: csp_reports.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    response = page.goto(f"{server.url}/login")
    assert "script-src" in (response.headers.get("content-security-policy") or "")
    failures = audit(page, axe_source, "/login")
    sign_in(page, server.url, role)
    seen, crawled = crawl(page, app, server.url, axe_source)
    failures += crawled
    page.goto(f"{server.url}/admin/no-such-screen/")
    failures += audit(page, axe_source, "404 page")

    admin = app.extensions["admin"][0]
    lists = {f"{view.endpoint}.index_view" for view in admin._views if hasattr(view, "model")}
    assert lists <= set(seen), f"screens not reached: {sorted(lists - set(seen))}"
    kinds = {endpoint.rsplit(".", 1)[-1] for endpoint in seen}
    assert {"details_view", "index"} <= kinds
    if role != "officer":  # officers write decisions, appeals, withdrawals: also covered
        assert {"create_view", "edit_view"} <= kinds
    assert failures == [], "\n".join(failures)
    assert csp_reports == []
