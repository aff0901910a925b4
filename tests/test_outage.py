"""A database outage: a static 503 page, one log line a request, and recovery by itself.

Before issue 18 users got gunicorn's bare "Internal Server Error" (the app's own error page
went back to the database) and each failed request logged about 63 KB with two tracebacks.
The test runs a PostgreSQL server of its own, signs in, stops the server while a request is
in the middle of a query and while pages are asked for, then starts it again: every request
made while it is down gets the static page with status 503 and writes one log line with no
traceback, and once the server is back the same signed-in session gets its pages again with
nothing restarted (the pool's pre-ping replaces the dead connections).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import text

from tests.conftest import PASSWORD, alembic_config, make_app, sign_in, unavailable
from tests.support import postgres

UNAVAILABLE = b"The panel is unavailable"
NOTHING_LOST = b"Nothing you saved is lost"


class Server:
    """A private PostgreSQL server that the test can stop and start again on the same port."""

    def __init__(self) -> None:
        bindir = postgres.find_bindir()
        if bindir is None:
            unavailable("PostgreSQL binaries not found; install Debian's postgresql")
        self.bindir = Path(str(bindir))
        self.workdir = Path(tempfile.mkdtemp(prefix="pgoutage-"))
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres")
        self.data = self.workdir / "data"
        self.port = postgres._free_port()
        subprocess.run(
            postgres._as_server_user(
                [str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust"]
                + ["-U", "postgres", "-E", "UTF8", "--no-sync"]
            ),
            check=True,
            capture_output=True,
        )
        self.start()

    @property
    def base_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            postgres._as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off"
        )
        self._ctl("-o", options, "-l", str(self.workdir / "log"), "-w", "start")

    def stop(self) -> None:
        """A fast shutdown: running statements are cut off (57P01), new connections refused."""
        self._ctl("-m", "fast", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            postgres._as_server_user(
                [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
            ),
            capture_output=True,
        )
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    s = Server()
    try:
        yield s
    finally:
        s.remove()


@pytest.fixture(scope="module")
def outage_app(server: Server) -> Iterator[Flask]:
    from auth.passwords import hash_password
    from models import User, UserRole, db
    from models.enums import Role
    from tests import factories as f

    url = postgres.create_database(server.base_url, "outage")
    command.upgrade(alembic_config(url), "head")
    app = make_app(url)

    def slow() -> str:
        db.session.execute(text("SELECT pg_sleep(4)"))
        return "finished"

    app.add_url_rule("/slow-query", "slow", slow)
    with app.app_context():
        user = User(username="officer", full_name="O", password_hash=hash_password(PASSWORD))
        user.role_rows = [UserRole(role=Role.OFFICER)]
        db.session.add(user)
        f.route([f.school()], code="UP1")
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # an open connection left to the garbage collector warns


def _database_records(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records if r.levelno >= logging.WARNING]


def _assert_static_page(response: Any) -> None:
    assert response.status_code == 503
    body = response.get_data()
    assert UNAVAILABLE in body and NOTHING_LOST in body.replace(b"\n", b" ")
    assert response.headers["Retry-After"]


def test_an_outage_is_a_static_503_with_one_log_line_and_recovers(
    server: Server, outage_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = outage_app.test_client()
    sign_in(client, "officer")
    assert client.get("/admin/route/").status_code == 200

    # Stopped in the middle of a request's query.
    answers: list[Any] = []
    during = threading.Thread(target=lambda: answers.append(client.get("/slow-query")))
    caplog.clear()
    with caplog.at_level(logging.INFO):
        during.start()
        time.sleep(1.0)
        server.stop()
        during.join(timeout=30)
    (cut_off,) = answers
    _assert_static_page(cut_off)
    (line,) = _database_records(caplog.records)
    assert line.name == "panel.outage" and line.exc_info is None
    assert "/slow-query" in line.getMessage() and "\n" not in line.getMessage()

    # While it is down: every page, the sign-in page included, is the static page.
    for path in ("/admin/route/", "/admin/transport_application/", "/login"):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            _assert_static_page(client.get(path))
        (line,) = _database_records(caplog.records)
        assert line.exc_info is None and path in line.getMessage()
        assert len(line.getMessage()) < 400
    # A save while it is down is the static page too (nothing was written to lose).
    caplog.clear()
    with caplog.at_level(logging.INFO):
        _assert_static_page(client.post("/admin/route/edit/?id=1", data={"seats": "9"}))
    assert len(_database_records(caplog.records)) == 1

    # Back again: the same signed-in session works, nothing restarted.
    server.start()
    page = client.get("/admin/route/")
    assert page.status_code == 200 and b"UP1" in page.get_data()
