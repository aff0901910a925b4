"""A real browser against the real app: Debian's Chromium driven by Playwright (sync API).

The app is served by werkzeug in a background thread over its own freshly migrated database,
with CSRF protection ON, so the forms are exercised exactly as staff use them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, fresh_database, make_app, unavailable

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """Remember each phase's outcome on the item, so browser_page knows to screenshot."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


class LiveServer:
    """The app on 127.0.0.1 at a free port, in a daemon thread, until stop()."""

    def __init__(self, flask_app: Any) -> None:
        self._server = make_server("127.0.0.1", 0, flask_app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The panel over a fresh database holding a few schools and one supervisor."""
    from auth.passwords import hash_password
    from models import User, UserRole, db
    from models.enums import Phase, Role
    from tests import factories

    url = fresh_database(request, "browser_journey", tmp_path_factory.mktemp("browser-db"))
    flask_app = make_app(
        url,
        TESTING=False,
        WTF_CSRF_ENABLED=True,
        SERVER_NAME=None,
        SECRET_KEY="browser-test-secret",
    )
    with flask_app.app_context():
        factories.school(name="Abbey Hill Academy", urn=120001)
        factories.school(name="Brook Lane Primary", urn=120002, phase=Phase.PRIMARY)
        factories.school(name="Castle Mead School", urn=120003)
        user = User(
            username="supervisor",
            full_name="Sam Supervisor",
            password_hash=hash_password(PASSWORD),
        )
        user.role_rows = [UserRole(role=Role.SUPERVISOR)]
        db.session.add(user)
        db.session.commit()
        db.session.remove()

    server = LiveServer(flask_app).start()
    yield server
    server.stop()
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    """Module-scoped: Playwright's sync API allows one running instance per thread, and other
    test modules start their own, so this one must be stopped when its module ends."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} not found; install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def browser_page(
    chromium_browser: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Any]:
    """A fresh browser context per test; on failure a full-page screenshot in tmp_path."""
    context = chromium_browser.new_context()
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shot = tmp_path / "failure.png"
        try:
            tab.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failing page: {shot}")
        except Exception as exc:  # the page may be gone; the test's own error matters more
            print(f"could not take a screenshot: {exc}")
    context.close()
