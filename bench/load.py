"""`python -m bench.load`: the panel under load in production shape (issue 18).

PostgreSQL (a throwaway server, or --pg-url), the demo county, the README's server command
(`gunicorn -c gunicorn.conf.py -w 4`), and N signed-in users at once, each a thread with its
own session, mixing what a working day is made of: lists, searches, case details and saved
edits. In the same run, on the same server, the same number of anonymous clients fetch the
sign-in page, the cheapest page the panel serves, as the anchor the panel pages' throughput is
held against.

The clients run on the same machine as the server, so part of the machine goes to them; the
table says so. Figures: requests per second, p50/p95/p99 latency, errors (any 5xx, a refused
sign-in, an unexpected redirect or a failed save). The table replaces the section between the
load markers in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import requests
from sqlalchemy import create_engine, make_url, text

from bench.sections import write_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
PASSWORD = "bench-load-passphrase-7"
SEED = 2024


@dataclass
class Sample:
    kind: str
    seconds: float
    ok: bool


@dataclass
class Tally:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, seconds: float, ok: bool, why: str = "") -> None:
        with self.lock:
            self.samples.append(Sample(kind, seconds, ok))
            if not ok:
                self.errors[why or kind] = self.errors.get(why or kind, 0) + 1


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


class _Form(HTMLParser):
    """The fields of the first form on an edit page, as the browser would send them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._select_value: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if self._done:
            return
        if (
            tag == "form"
            and a.get("method", "").lower() == "post"
            and "admin-form" in a.get("class", "")
        ):
            self._in_form = True
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value", "y")))
            elif kind not in ("submit", "button", "file"):
                self.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select, self._select_value, self._first_option = name, None, None
        elif tag == "option" and self._select is not None:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self._select_value = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            if self._select_value is not None:
                self.fields.append((self._select, self._select_value))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # As a browser reads it: line breaks as LF, the one line break straight after the
            # start tag dropped (WTForms writes "\r\n" there); sent back with CRLF line breaks.
            text = "".join(self._text).replace("\r\n", "\n").replace("\r", "\n")
            self.fields.append((self._textarea, text.removeprefix("\n").replace("\n", "\r\n")))
            self._textarea = None
        elif tag == "form" and self._in_form:
            self._in_form, self._done = False, True


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Targets:
    """Ids and words taken from the county, so every request finds something real."""

    applications: list[int]
    pupils: list[int]
    surnames: list[str]
    references: list[str]
    postcodes: list[str]


def _targets(url: str) -> Targets:
    engine = create_engine(url)
    with engine.connect() as conn:
        apps = [
            r[0] for r in conn.execute(text("SELECT id FROM transport_application ORDER BY id"))
        ]
        pupils = [r[0] for r in conn.execute(text("SELECT id FROM pupil ORDER BY id"))]
        surnames = [
            r[0] for r in conn.execute(text("SELECT DISTINCT last_name FROM pupil LIMIT 200"))
        ]
        refs = [
            r[0]
            for r in conn.execute(text("SELECT reference FROM transport_application LIMIT 200"))
        ]
        codes = [r[0] for r in conn.execute(text("SELECT postcode FROM pupil LIMIT 200"))]
    engine.dispose()
    return Targets(apps, pupils, surnames, refs, [c for c in codes if c])


class User:
    """One signed-in member of staff: a session, and the mix of a working day."""

    def __init__(self, base: str, username: str, targets: Targets, rng: random.Random) -> None:
        self.base, self.username, self.t, self.rng = base, username, targets, rng
        self.http = requests.Session()

    def sign_in(self) -> bool:
        page = self.http.get(f"{self.base}/login", timeout=30)
        token = _CSRF.search(page.text)
        data = {"username": self.username, "password": PASSWORD}
        if token:
            data["csrf_token"] = token.group(1)
        answer = self.http.post(f"{self.base}/login", data=data, allow_redirects=False, timeout=30)
        return answer.status_code == 302 and "/login" not in answer.headers.get("Location", "")

    def one(self, tally: Tally) -> None:
        r = self.rng.random()
        if r < 0.85:
            kind, call = (
                ("list", self._list) if r < 0.35 else
                ("search", self._search) if r < 0.60 else
                ("details", self._details)
            )  # fmt: skip
            start = time.perf_counter()
            try:
                ok, why = call()
            except requests.RequestException as error:
                ok, why = False, f"{kind}: {type(error).__name__}"
            tally.add(kind, time.perf_counter() - start, ok, why)
        else:
            self._edit(tally)

    def _get(self, path: str, **params: str) -> tuple[bool, str]:
        answer = self.http.get(
            f"{self.base}{path}", params=params, timeout=30, allow_redirects=False
        )
        if answer.status_code != 200:
            return False, f"GET {path.split('?')[0]}: HTTP {answer.status_code}"
        return True, ""

    def _list(self) -> tuple[bool, str]:
        endpoint = self.rng.choice(
            ["transport_application", "pupil", "school", "route", "concessionary_application"]
        )
        page = self.rng.choice(["0", "1", "2", "5"])
        return self._get(f"/admin/{endpoint}/", page=page)

    def _search(self) -> tuple[bool, str]:
        choice = self.rng.random()
        if choice < 0.4:
            return self._get(
                "/admin/transport_application/", search=self.rng.choice(self.t.references)
            )
        if choice < 0.8:
            return self._get("/admin/pupil/", search=self.rng.choice(self.t.surnames))
        return self._get("/admin/pupil/", search=self.rng.choice(self.t.postcodes))

    def _details(self) -> tuple[bool, str]:
        if self.rng.random() < 0.5:
            return self._get(
                "/admin/transport_application/details/",
                id=str(self.rng.choice(self.t.applications)),
            )
        return self._get("/admin/pupil/details/", id=str(self.rng.choice(self.t.pupils)))

    def _edit(self, tally: Tally) -> None:
        """Open an application's edit form, then save it as it stands: the whole save path
        (validation, audit, the decision trail's checks) with no change of meaning. Two
        requests, each counted and timed by itself."""
        app_id = str(self.rng.choice(self.t.applications))
        url = f"{self.base}/admin/transport_application/edit/"
        start = time.perf_counter()
        try:
            page = self.http.get(url, params={"id": app_id}, timeout=30)
        except requests.RequestException as error:
            tally.add("edit form", time.perf_counter() - start, False, type(error).__name__)
            return
        parser = _Form()
        parser.feed(page.text)
        ok = page.status_code == 200 and bool(parser.fields)
        why = f"edit form: HTTP {page.status_code}" if page.status_code != 200 else "no form"
        tally.add("edit form", time.perf_counter() - start, ok, why)
        if not ok:
            return
        start = time.perf_counter()
        try:
            answer = self.http.post(
                url, params={"id": app_id}, data=parser.fields, allow_redirects=False, timeout=30
            )
            ok = answer.status_code == 302
            why = f"save: HTTP {answer.status_code} (the save was refused)"
        except requests.RequestException as error:
            ok, why = False, f"save: {type(error).__name__}"
        tally.add("save", time.perf_counter() - start, ok, why)


def _drive(workers: list[Callable[[Tally], None]], seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    stop = time.perf_counter() + seconds
    started = time.perf_counter()

    def loop(step: Callable[[Tally], None]) -> None:
        while time.perf_counter() < stop:
            step(tally)

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in workers]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return tally, time.perf_counter() - started


def _sign_in_page(base: str) -> Callable[[Tally], None]:
    http = requests.Session()

    def step(tally: Tally) -> None:
        start = time.perf_counter()
        try:
            answer = http.get(f"{base}/login", timeout=30)
            ok, why = answer.status_code == 200, f"sign-in page: HTTP {answer.status_code}"
        except requests.RequestException as error:
            ok, why = False, f"sign-in page: {type(error).__name__}"
        tally.add("sign-in page", time.perf_counter() - start, ok, why)

    return step


def _wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited before it answered")
        try:
            if requests.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer within a minute")


def _prepare(url: str) -> None:
    from app import create_app
    from bench.run import migrate
    from demo.county import build_county

    migrate(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-load"})
    with app.app_context():
        build_county(SEED, "demo", password=PASSWORD)
        from models import db

        db.engine.dispose()
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    engine.dispose()


def _phase(
    workers: list[Callable[[Tally], None]], seconds: float, server: int, postmaster: int | None
) -> tuple[Tally, float, dict[str, float]]:
    """One phase, with the CPU each class of process spent in it (bench/proc_cpu.py)."""
    from bench.proc_cpu import snapshot

    before = snapshot(server, postmaster)
    tally, elapsed = _drive(workers, seconds)
    after = snapshot(server, postmaster)
    cpu = {name: getattr(after, name) - getattr(before, name)
           for name in ("client", "server", "database", "busy", "wall")}  # fmt: skip
    return tally, elapsed, cpu


def run(url: str, users: int, seconds: float, workers: int) -> dict[str, object]:
    _prepare(url)
    targets = _targets(url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-load-secret-0123456789abcdef",
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", str(workers),
         "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "app:create_app()"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        _wait_ready(base, server)
        accounts = ["supervisor", "officer", "assistant"]
        rng = random.Random(SEED)
        staff = [User(base, accounts[i % 3], targets, random.Random(rng.random()))
                 for i in range(users)]  # fmt: skip
        refused = sum(0 if u.sign_in() else 1 for u in staff)
        if refused:
            raise RuntimeError(f"{refused} of {users} users could not sign in")
        _drive([u.one for u in staff], min(5.0, seconds / 4))  # warm-up: caches, pools
        from bench.proc_cpu import postmaster_of

        postmaster = postmaster_of(make_url(url).port or 5432)
        panel, panel_s, panel_cpu = _phase([u.one for u in staff], seconds, server.pid,
                                           postmaster)  # fmt: skip
        anchor, anchor_s, anchor_cpu = _phase(
            [_sign_in_page(base) for _ in range(users)], seconds, server.pid, postmaster
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return {"panel": (panel, panel_s), "anchor": (anchor, anchor_s), "users": users,
            "seconds": seconds, "workers": workers,
            "cpu": {"panel": panel_cpu, "anchor": anchor_cpu}}  # fmt: skip


def _row(label: str, tally: Tally, elapsed: float, kinds: list[str] | None = None) -> str:
    samples = [s for s in tally.samples if kinds is None or s.kind in kinds]
    times = [s.seconds * 1000 for s in samples]
    errors = sum(1 for s in samples if not s.ok)
    rate = len(samples) / elapsed if elapsed else 0.0
    return (
        f"| {label} | {len(samples):,} | {rate:.1f}/s | {percentile(times, 50):.0f} ms | "
        f"{percentile(times, 95):.0f} ms | {percentile(times, 99):.0f} ms | {errors} |"
    )


def render(result: dict[str, object], command: str) -> str:
    panel, panel_s = result["panel"]  # type: ignore[misc]
    anchor, anchor_s = result["anchor"]  # type: ignore[misc]
    users, workers = result["users"], result["workers"]
    panel_rate = len(panel.samples) / panel_s
    anchor_rate = len(anchor.samples) / anchor_s
    p95 = percentile([s.seconds * 1000 for s in panel.samples], 95)
    errors = sum(1 for s in panel.samples if not s.ok) + sum(1 for s in anchor.samples if not s.ok)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        "## Issue 18: the panel under load (PostgreSQL, gunicorn)",
        "",
        f"`{command}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit "
        f"{_commit()}: the demo county on a throwaway PostgreSQL, "
        f"`gunicorn -c gunicorn.conf.py -w {workers}`, "
        f"{users} signed-in users for {result['seconds']:.0f} s each phase (after a warm-up), "
        f"clients on the same {os.cpu_count()} cores as the server (load average after the "
        f"run {load}). Mix: 35% lists (five lists, pages 1-6), 25% searches (reference, "
        "surname, postcode), 25% case details (application or pupil), 15% edits (an "
        "application's edit form, then saving it as it stands: two requests, each counted).",
        "",
        "| Requests | Count | Throughput | p50 | p95 | p99 | Errors |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        _row("panel, all", panel, panel_s),
    ]
    for kind in ("list", "search", "details", "edit form", "save"):
        lines.append(_row(f"panel, {kind}", panel, panel_s, [kind]))
    lines.append(_row("sign-in page (anchor)", anchor, anchor_s))
    ratio = panel_rate / anchor_rate if anchor_rate else float("nan")
    lines += [
        "",
        "| Target | Measured | Verdict |",
        "| --- | --- | --- |",
        f"| p95 under 500 ms at {users} users | {p95:.0f} ms | "
        f"{'met' if p95 < 500 else '**missed**'} |",
        f"| no errors | {errors} | {'met' if errors == 0 else '**missed**'} |",
        f"| panel throughput ≥ ½ of the sign-in page's | {panel_rate:.1f}/s ÷ "
        f"{anchor_rate:.1f}/s = {ratio:.2f} | {'met' if ratio >= 0.5 else '**missed**'} |",
    ]
    cpu = result.get("cpu")
    if cpu:
        lines += ["", _cpu_table(cpu, {"panel": len(panel.samples),  # type: ignore[arg-type]
                                      "anchor": len(anchor.samples)})]  # fmt: skip
    if panel.errors or anchor.errors:
        lines += [
            "",
            "Errors: "
            + "; ".join(f"{k} ×{v}" for k, v in sorted({**panel.errors, **anchor.errors}.items())),
        ]
    return "\n".join(lines) + "\n"


def _cpu_table(cpu: dict[str, dict[str, float]], counts: dict[str, int]) -> str:
    """CPU per request of each class of process, per phase (bench/proc_cpu.py)."""
    cores = os.cpu_count() or 1
    rows = [
        "CPU per request, each phase (/proc: user + system time of each class of process; "
        "\"other\" is the rest of the machine's busy time, other sessions' included):",
        "",
        "| Phase | Client | gunicorn | PostgreSQL | Other | Machine busy | Cores busy |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for phase, label in (("panel", "panel"), ("anchor", "sign-in page")):
        c, n = cpu[phase], max(1, counts[phase])
        ours = c["client"] + c["server"] + c["database"]
        rows.append(
            f"| {label} | {c['client'] / n * 1000:.2f} ms | {c['server'] / n * 1000:.2f} ms | "
            f"{c['database'] / n * 1000:.2f} ms | {(c['busy'] - ours) / n * 1000:.2f} ms | "
            f"{c['busy'] / n * 1000:.2f} ms | {c['busy'] / c['wall']:.2f} of {cores} |"
        )
    return "\n".join(rows)


def _commit() -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                           capture_output=True, text=True)  # fmt: skip
    return found.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0, help="per phase")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--pg-url", help="a running PostgreSQL server's base URL")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--section", default="load", help="the marked section of --out to replace (load-8, ...)"
    )
    args = parser.parse_args(argv)
    command = "python -m bench.load" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:])
    )
    from tests.support import postgres

    if args.pg_url:
        result = run(postgres.create_database(args.pg_url, "bench_load"), args.users,
                     args.seconds, args.workers)  # fmt: skip
    else:
        with postgres.running_server() as base:
            url = postgres.create_database(base, "bench_load")
            result = run(url, args.users, args.seconds, args.workers)
    section = render(result, command)
    print(section)
    write_section(args.section, section, args.out)
    print(f"written to {args.out}")
    panel = result["panel"][0]  # type: ignore[index]
    return 0 if panel.samples else 1


if __name__ == "__main__":
    sys.exit(main())
