"""`python -m bench.load_floor`: the floor under bench.load's target (issue 18), bench-only.

A throwaway Flask app, not the panel: the least any list page of personal data must do, served
the way bench.load serves the panel (the same gunicorn.conf.py, 4 sync workers, the demo
county on a throwaway PostgreSQL) and driven by the same client code (requests sessions, 32
users in a closed loop, then as many anonymous clients on the sign-in page). Its list page:

- checks a signed-in session (the signed cookie, then the account's row: still active, the
  same session generation), as any page of personal data must;
- one SELECT of 50 transport applications (page N by received date) with the pupil's name and
  the school's, as the panel's list shows them;
- the rows in a plain Jinja table;
- one INSERT into audit_log (who read which ids) and a COMMIT.

Its sign-in page is a form with a CSRF token in the session, as the panel's is. The ratio of
the two throughputs, measured in one run, says whether bench.load's target (panel ≥ ½ the
sign-in page's) can be met at all on this machine with this client; the result is printed,
not written to RESULTS.md (quoted there by hand).
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import random
import secrets
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from flask import Flask, abort, redirect, request, session
from sqlalchemy import create_engine, text

LOGIN = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><main><h1>School transport panel</h1>
<form method="post"><input type="hidden" name="csrf_token" value="{{ token }}">
<label for="username">Username</label><input id="username" name="username">
<label for="password">Password</label><input id="password" name="password" type="password">
<button type="submit">Sign in</button></form></main></body></html>
"""

LIST = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Applications</title></head>
<body><main><h1>Transport applications</h1><p>Signed in as {{ user }}</p>
<table><thead><tr><th>TRA number</th><th>Pupil</th><th>School</th><th>Academic year</th>
<th>Received</th><th>Status</th></tr></thead><tbody>
{% for r in rows %}<tr><td><a href="/details?id={{ r.id }}">{{ r.reference }}</a></td>
<td>{{ r.first_name }} {{ r.last_name }}</td><td>{{ r.school }}</td><td>{{ r.academic_year }}</td>
<td>{{ r.received_on.strftime('%-d %b %Y') }}</td><td>{{ r.status }}</td></tr>
{% endfor %}</tbody></table></main></body></html>
"""

ROWS = text(
    "SELECT a.id, a.reference, p.first_name, p.last_name, s.name AS school, a.academic_year, "
    "a.received_on, a.status FROM transport_application a JOIN pupil p ON p.id = a.pupil_id "
    "JOIN school s ON s.id = a.school_id ORDER BY a.received_on DESC, a.id LIMIT 50 OFFSET :skip"
)
USER = text("SELECT id, username, active, session_generation FROM user_account WHERE id = :id")
AUDIT = text(
    "INSERT INTO audit_log (at, user_id, username, action, table_name, record_id, changes) "
    "VALUES (:at, :user_id, :username, 'read', 'transport_application', '*', :changes)"
)


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    url = os.environ["DATABASE_URL"]
    engine = create_engine(url, pool_size=5, pool_pre_ping=False)
    login_page, list_page = (app.jinja_env.from_string(t) for t in (LOGIN, LIST))  # once

    @app.after_request
    def headers(response: Any) -> Any:
        response.headers["Content-Security-Policy"] = "default-src 'self'"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "GET":
            token = session.setdefault("csrf", secrets.token_urlsafe(24))
            return login_page.render(token=token)
        if not hmac.compare_digest(request.form.get("csrf_token", ""), session.get("csrf", "")):
            abort(400)
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT id, session_generation FROM user_account WHERE username = :u "
                     "AND active"), {"u": request.form.get("username", "")},
            ).first()  # fmt: skip
        if row is None:  # the floor checks no password: only the page after sign-in is timed
            return login_page.render(token=session["csrf"]), 200
        session.clear()
        session["uid"], session["gen"] = row.id, row.session_generation
        return redirect("/list")

    @app.route("/list")
    def listing() -> Any:
        uid = session.get("uid")
        if uid is None:
            return redirect("/login")
        page = request.args.get("page", "0")
        skip = 50 * (int(page) if page.isdigit() and len(page) < 6 else 0)
        with engine.connect() as conn:
            user = conn.execute(USER, {"id": uid}).first()
            if user is None or not user.active or user.session_generation != session.get("gen"):
                return redirect("/login")
            rows = conn.execute(ROWS, {"skip": skip}).all()
            changes = {"what": "floor list", "ids": [r.id for r in rows], "rows": len(rows)}
            conn.execute(AUDIT, {"at": datetime.now(UTC), "user_id": user.id,
                                 "username": user.username, "changes": json.dumps(changes)})
            conn.commit()
        return list_page.render(rows=rows, user=user.username)

    return app


def in_the_panel() -> Flask:
    """The panel itself (app.create_app) with the floor's list page added at /floor/list: the
    panel's sign-in page and its per-request framework (session, the user and roles, security
    headers and CSP, statement bounds, the audit trail's record_access), without Flask-Admin."""
    from flask_login import current_user

    from admin_views.base import STAFF, user_has
    from app import create_app as panel
    from models import db
    from models.enums import AuditAction
    from services.audit import record_access

    app = panel()
    list_page = app.jinja_env.from_string(LIST)

    @app.route("/floor/list")
    def floor_list() -> Any:
        if not current_user.is_authenticated:
            return redirect("/login")
        if not user_has(STAFF):
            abort(403)
        page = request.args.get("page", "0")
        skip = 50 * (int(page) if page.isdigit() and len(page) < 6 else 0)
        rows = db.session.execute(ROWS, {"skip": skip}).all()
        record_access(AuditAction.READ, "transport_application", what="floor list",
                      record_ids=[r.id for r in rows], rows=len(rows))  # fmt: skip
        return list_page.render(rows=rows, user=current_user.username)

    return app


def run(url: str, users: int, seconds: float, workers: int, panel: bool = False
        ) -> dict[str, object]:  # fmt: skip
    from bench import load

    load._prepare(url)
    port = load._free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-floor-0123456789abcdef",
           "RATELIMIT_STORAGE_URI": "memory://"}  # fmt: skip
    target = "bench.load_floor:in_the_panel()" if panel else "bench.load_floor:create_app()"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", str(workers),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", target],
        cwd=load.ROOT, env=env,
    )  # fmt: skip
    try:
        load._wait_ready(base, server)
        rng = random.Random(load.SEED)
        accounts = ["supervisor", "officer", "assistant"]
        staff = [Reader(base, accounts[i % 3], random.Random(rng.random()), panel)
                 for i in range(users)]  # fmt: skip
        if not all(u.sign_in() for u in staff):
            raise RuntimeError("a floor user could not sign in")
        from sqlalchemy import make_url

        from bench.proc_cpu import postmaster_of

        postmaster = postmaster_of(make_url(url).port or 5432)
        load._drive([u.one for u in staff], min(5.0, seconds / 4))
        panel, panel_s, panel_cpu = load._phase([u.one for u in staff], seconds, server.pid,
                                                postmaster)  # fmt: skip
        anchor, anchor_s, anchor_cpu = load._phase(
            [load._sign_in_page(base) for _ in range(users)], seconds, server.pid, postmaster
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
    return {"panel": (panel, panel_s), "anchor": (anchor, anchor_s), "users": users,
            "seconds": seconds, "workers": workers,
            "cpu": {"panel": panel_cpu, "anchor": anchor_cpu}}  # fmt: skip


class Reader:
    """A signed-in client of the floor app: its list page, pages 1-6 as bench.load's lists."""

    def __init__(self, base: str, username: str, rng: random.Random, panel: bool) -> None:
        import requests

        self.base, self.username, self.rng = base, username, rng
        self.http = requests.Session()
        self.path = "/floor/list" if panel else "/list"
        self.panel = panel

    def sign_in(self) -> bool:
        from bench.load import _CSRF, User

        if self.panel:  # the panel's own sign-in, password and all
            user = User(self.base, self.username, None, self.rng)  # type: ignore[arg-type]
            user.http = self.http
            return user.sign_in()
        page = self.http.get(f"{self.base}/login", timeout=30)
        token = _CSRF.search(page.text)
        answer = self.http.post(
            f"{self.base}/login", allow_redirects=False, timeout=30,
            data={"username": self.username, "password": "-",
                  "csrf_token": token.group(1) if token else ""},
        )  # fmt: skip
        return answer.status_code == 302 and answer.headers.get("Location", "").endswith("/list")

    def one(self, tally: Any) -> None:
        import time

        import requests

        page = self.rng.choice(["0", "1", "2", "5"])
        start = time.perf_counter()
        try:
            answer = self.http.get(f"{self.base}{self.path}", params={"page": page}, timeout=30,
                                   allow_redirects=False)  # fmt: skip
            ok, why = answer.status_code == 200, f"list: HTTP {answer.status_code}"
        except requests.RequestException as error:
            ok, why = False, f"list: {type(error).__name__}"
        tally.add("list", time.perf_counter() - start, ok, why)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_floor", description=__doc__)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pg-url", help="a running PostgreSQL server's base URL")
    parser.add_argument("--in-the-panel", action="store_true",
                        help="the floor's list page inside the panel app, against the panel's "
                        "own sign-in page")  # fmt: skip
    args = parser.parse_args(argv)
    from bench import load
    from tests.support import postgres

    if args.pg_url:
        result = run(postgres.create_database(args.pg_url, "bench_floor"), args.users,
                     args.seconds, args.workers, args.in_the_panel)  # fmt: skip
    else:
        with postgres.running_server() as base:
            url = postgres.create_database(base, "bench_floor")
            result = run(url, args.users, args.seconds, args.workers, args.in_the_panel)
    panel, panel_s = result["panel"]  # type: ignore[misc]
    anchor, anchor_s = result["anchor"]  # type: ignore[misc]
    where = "inside the panel app" if args.in_the_panel else "its own app"
    print(f"floor ({where}), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.users} users, "
          f"{args.seconds:.0f} s a phase, load average after "
          + " / ".join(f"{x:.2f}" for x in os.getloadavg()))  # fmt: skip
    print("| Requests | Count | Throughput | p50 | p95 | p99 | Errors |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(load._row("floor list page", panel, panel_s))
    print(load._row("floor sign-in page", anchor, anchor_s))
    rate = len(panel.samples) / panel_s
    anchor_rate = len(anchor.samples) / anchor_s
    print(f"\nratio {rate:.1f}/s ÷ {anchor_rate:.1f}/s = {rate / anchor_rate:.2f}\n")
    print(load._cpu_table(result["cpu"], {"panel": len(panel.samples),  # type: ignore[arg-type]
                                          "anchor": len(anchor.samples)}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
