"""Load: signed-in users at once against gunicorn with 4 workers on PostgreSQL (issue 18).

Issue 18's target: at 32 concurrent signed-in users mixing lists, searches, details and edits,
p95 under 500 ms with no errors, and the panel pages' throughput at least half of the sign-in
page's on the same server in the same run. The harness starts ``gunicorn -w 4`` on the
benchmark county's database (the README's production command), signs each user in over
HTTP, and lets each user's thread loop for the run's length over a fixed mix:

- the three busy lists (transport applications, pupils, seat applications), first pages;
- a search on each (a reference from the middle of the table);
- a record's details page;
- an edit: the form is opened and saved unchanged (a real POST with its CSRF token and the
  version it was opened at, so each save is a transaction with its row lock and audit).

Then the same number of threads ask for the sign-in page alone for the same length of time.
Every response is timed at the client; an error is any 5xx or a refused connection (a 409 or
a stale-save refusal, which only a race between two users' edits of one record gives, is
counted apart). The figures are wall-clock on a shared machine: the client threads share the
CPUs with the server, so compare runs on the same machine.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from bench.measures import Figure, Unavailable

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 4
LISTS = ("transport_application", "pupil", "concessionary_application")
INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


@dataclass
class Tally:
    """Each request's time (ms) and outcome, per kind of page."""

    times: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, ms: float, status: int | None, what: str) -> None:
        with self.lock:
            self.times.setdefault(kind, []).append(ms)
            if status is None or status >= 500:
                self.errors.append(f"{status} {what}")
            elif status == 409:
                self.refused += 1

    def all_times(self) -> list[float]:
        return [t for times in self.times.values() for t in times]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gunicorn(url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The README's server command on a free port; returns the process and its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-load-secret",
        "PYTHONPATH": str(ROOT),
    }
    log = open(workdir / "gunicorn.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}"]
        + ["--timeout", "30", "app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    import requests

    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/login", timeout=2).status_code == 200:
                return process, base
        except requests.RequestException:
            time.sleep(0.3)
    stop(process)
    raise Unavailable("gunicorn did not answer within 60 s (bench/out/.../gunicorn.log)")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def form_fields(page: str) -> dict[str, str]:
    """The inputs a browser would send back unchanged (text, hidden, checked boxes)."""
    data: dict[str, str] = {}
    for tag in INPUT.findall(page):
        attrs = dict(ATTR.findall(tag))
        name, kind = attrs.get("name"), attrs.get("type", "text")
        if not name or kind in {"submit", "button", "file"}:
            continue
        if kind in {"checkbox", "radio"}:
            if "checked" in tag:
                data[name] = attrs.get("value", "y")
            continue
        data[name] = attrs.get("value", "")
    for name, value in re.findall(
        r'<select[^>]*name="([^"]+)"[^>]*>.*?<option[^>]*value="([^"]*)"[^>]*selected',
        page,
        re.S,
    ):
        data.setdefault(name, value)
    for name, value in re.findall(
        r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S
    ):
        data.setdefault(name, value.removeprefix("\r\n").removeprefix("\n"))
    return data


def _samples(engine: Engine) -> dict[str, dict[str, list[Any]]]:
    """Ids and search terms from the county, spread over each table."""
    out: dict[str, dict[str, list[Any]]] = {}
    with engine.connect() as conn:
        for table in LISTS:
            rows = conn.execute(
                text(f"SELECT id, reference FROM {table} ORDER BY id")  # noqa: S608 - fixed names
            ).all()
            if not rows:
                raise Unavailable(f"the county has no {table} rows")
            step = max(1, len(rows) // 50)
            picked = rows[::step]
            out[table] = {"ids": [r[0] for r in picked], "terms": [r[1] for r in picked]}
    return out


def _user(
    base: str,
    username: str,
    password: str,
    samples: dict[str, dict[str, list[Any]]],
    until: list[float],
    tally: Tally,
    seed: int,
    ready: threading.Barrier,
) -> None:
    import requests

    rng = random.Random(seed)
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30).text
    token = form_fields(page).get("csrf_token", "")
    signed = session.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    if signed.status_code != 302:
        tally.add("sign-in", 0.0, None, f"sign-in answered {signed.status_code}")
    ready.wait(timeout=120)

    def timed(kind: str, method: str, path: str, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            response = session.request(method, base + path, timeout=60, **kw)
        except requests.RequestException as exc:
            tally.add(kind, (time.perf_counter() - started) * 1000, None, f"{path}: {exc}")
            return None
        tally.add(kind, (time.perf_counter() - started) * 1000, response.status_code, path)
        return response

    while time.monotonic() < until[0]:
        table = rng.choice(LISTS)
        pick = samples[table]
        roll = rng.random()
        if roll < 0.35:
            timed("list", "GET", f"/admin/{table}/")
        elif roll < 0.6:
            term = rng.choice(pick["terms"])
            timed("search", "GET", f"/admin/{table}/?search={term}")
        elif roll < 0.85:
            timed("details", "GET", f"/admin/{table}/details/?id={rng.choice(pick['ids'])}")
        else:
            path = f"/admin/{table}/edit/?id={rng.choice(pick['ids'])}"
            opened = timed("edit: open", "GET", path)
            if opened is None or opened.status_code != 200:
                continue
            data = form_fields(opened.text)
            saved = timed("edit: save", "POST", path, data=data, allow_redirects=False)
            if saved is not None and saved.status_code == 200 and "Not saved" in saved.text:
                with tally.lock:
                    tally.refused += 1


def _sign_in_page(base: str, until: list[float], tally: Tally, ready: threading.Barrier) -> None:
    import requests

    session = requests.Session()
    ready.wait(timeout=120)
    while time.monotonic() < until[0]:
        started = time.perf_counter()
        try:
            status: int | None = session.get(f"{base}/login", timeout=60).status_code
        except requests.RequestException:
            status = None
        tally.add("sign-in page", (time.perf_counter() - started) * 1000, status, "/login")


def _race(
    threads: list[threading.Thread], ready: threading.Barrier, until: list[float], seconds: float
) -> float:
    """Start the threads, let them all begin together, stop them after `seconds`."""
    for t in threads:
        t.start()
    ready.wait(timeout=300)
    started = time.monotonic()
    until[0] = started + seconds
    for t in threads:
        t.join()
    return time.monotonic() - started


def p95(times: list[float]) -> float:
    if len(times) < 2:
        return times[0] if times else 0.0
    return statistics.quantiles(times, n=100, method="inclusive")[94]


def load(
    url: str,
    engine: Engine,
    workdir: Path,
    username: str,
    password: str,
    users: int = 32,
    seconds: float = 20.0,
) -> dict[str, Figure]:
    """Run the mix, then the sign-in page alone; the figures for the results table."""
    samples = _samples(engine)
    process, base = start_gunicorn(url, workdir)
    try:
        # Everyone signs in first; the clock starts when the last one is in.
        panel = Tally()
        ready = threading.Barrier(users + 1)
        until = [time.monotonic() + 3600]
        threads = [
            threading.Thread(
                target=_user,
                args=(base, username, password, samples, until, panel, 1000 + i, ready),
                daemon=True,
            )
            for i in range(users)
        ]
        panel_elapsed = _race(threads, ready, until, seconds)

        login = Tally()
        ready = threading.Barrier(users + 1)
        until = [time.monotonic() + 3600]
        threads = [
            threading.Thread(target=_sign_in_page, args=(base, until, login, ready), daemon=True)
            for _ in range(users)
        ]
        login_elapsed = _race(threads, ready, until, seconds)
    finally:
        stop(process)

    times = panel.all_times()
    panel_rate = len(times) / panel_elapsed if panel_elapsed else 0.0
    login_times = login.all_times()
    login_rate = len(login_times) / login_elapsed if login_elapsed else 0.0
    kinds = ", ".join(
        f"{kind} {statistics.median(t):.0f}/{p95(t):.0f}"
        for kind, t in sorted(panel.times.items())
        if t and kind != "sign-in"
    )
    errors = len(panel.errors)
    return {
        "load:p95": Figure(
            p95(times), "ms", f"{len(times):,} requests, {users} users; median/p95 ms: {kinds}"
        ),
        "load:errors": Figure(
            float(errors),
            "errors",
            (f"first: {panel.errors[0]}; " if errors else "")
            + f"{panel.refused} stale or busy refusals",
        ),
        "load:throughput": Figure(panel_rate, "req/s", f"over {panel_elapsed:.0f} s"),
        "load:sign-in": Figure(
            login_rate, "req/s", f"p95 {p95(login_times):.0f} ms, {len(login.errors)} errors"
        ),
        "load:ratio": Figure(panel_rate / login_rate if login_rate else 0.0, "x"),
    }
