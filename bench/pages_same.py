"""`python -m bench.pages_same OUT_DIR`: save the panel's pages, to diff before and after a change.

Issue 18's speed-ups must not change what a page shows. This saves, for each of the three
roles, every list of the panel (first page, second page, and sorted by its first sortable
column descending), searches (a reference, a surname, a postcode), and application and pupil
record pages and edit forms, from a fresh copy of the demo county (SQLite: a copy of
bench/out/pages-cpu-demo.db; PostgreSQL: `--postgresql`, a throwaway server, the county built
from the same seed), with CSRF tokens and CSP nonces blanked. Run it on the old tree and the
new one into two directories, then `diff -r` them.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.load import PASSWORD

_TOKEN = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+(")')
_TOKEN_JS = re.compile(r"(csrf_token[\"']?\s*[:=]\s*[\"'])[^\"']+")
_TOKEN_ESCAPED = re.compile(r"(csrf_token&#34; value=&#34;)[^&]+(&#34;)")
_NONCE = re.compile(r'(nonce=")[^"]+(")')


def _clean(page: str) -> str:
    # Times of today (the trail's rows, written while the pages are saved) to the minute.
    today = f"{datetime.now(ZoneInfo('Europe/London')):%-d %b %Y}"
    page = re.sub(rf"({re.escape(today)}),? \d{{2}}:\d{{2}}", r"\1 --:--", page)
    page = _TOKEN.sub(r"\1-\2", page)
    page = _TOKEN_JS.sub(r"\1-", page)
    page = _TOKEN_ESCAPED.sub(r"\1-\2", page)
    return _NONCE.sub(r"\1-\2", page)


def _paths(app, ids: dict[str, list]) -> list[str]:  # type: ignore[no-untyped-def]
    from flask_admin.contrib.sqla import ModelView

    paths = ["/admin/"]
    for admin in app.extensions["admin"]:
        for view in admin._views:
            if not view.url or not view.url.startswith("/admin"):
                continue
            paths.append(f"{view.url}/")
            if isinstance(view, ModelView):
                paths.append(f"{view.url}/?page=1")
                paths.append(f"{view.url}/?sort=0&desc=1")
    for ref in ids["refs"][:3]:
        paths.append(f"/admin/transport_application/?search={ref}")
    for name in ids["surnames"][:3]:
        paths.append(f"/admin/pupil/?search={name}")
    for code in ids["postcodes"][:2]:
        paths.append(f"/admin/pupil/?search={code.replace(' ', '%20')}")
    for i in ids["apps"][:: max(1, len(ids["apps"]) // 6)][:6]:
        paths.append(f"/admin/transport_application/details/?id={i}")
        paths.append(f"/admin/transport_application/edit/?id={i}")
    for i in ids["pupils"][:: max(1, len(ids["pupils"]) // 6)][:6]:
        paths.append(f"/admin/pupil/details/?id={i}")
        paths.append(f"/admin/pupil/edit/?id={i}")
    return paths


def save(url: str, out: Path) -> int:
    from sqlalchemy import text

    from bench.pages_cpu import _CSRF, _app
    from models import db

    app = _app(url)
    with app.app_context():
        q = db.session.scalars
        ids = {
            "apps": list(q(text("SELECT id FROM transport_application ORDER BY id"))),
            "pupils": list(q(text("SELECT id FROM pupil ORDER BY id"))),
            "refs": list(q(text("SELECT reference FROM transport_application ORDER BY id"))),
            "surnames": list(q(text("SELECT last_name FROM pupil ORDER BY id"))),
            "postcodes": list(q(text("SELECT postcode FROM pupil WHERE postcode IS NOT NULL "
                                     "ORDER BY id"))),  # fmt: skip
        }
        db.session.remove()
    paths = _paths(app, ids)
    out.mkdir(parents=True, exist_ok=True)
    saved = 0
    for role in ("supervisor", "officer", "assistant"):
        client = app.test_client()
        token = _CSRF.search(client.get("/login").get_data(as_text=True))
        answer = client.post("/login", data={"username": role, "password": PASSWORD,
                                             "csrf_token": token and token[1]})  # fmt: skip
        assert answer.status_code == 302, (role, answer.status_code)
        for number, path in enumerate(paths):
            answer = client.get(path)
            name = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"
            body = f"HTTP {answer.status_code}\n" + _clean(answer.get_data(as_text=True))
            (out / f"{role}__{number:03d}_{name}.html").write_text(body)
            saved += 1
    print(f"{saved} pages saved to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages_same", description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args(argv)
    if args.postgresql:
        from bench.load import _prepare
        from tests.support import postgres

        with postgres.running_server() as base:
            url = postgres.create_database(base, "bench_pages_same")
            _prepare(url)
            return save(url, args.out)
    from bench.pages_cpu import DB, _county

    _county(DB)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "county.db"
        shutil.copy(DB, copy)
        return save(f"sqlite:///{copy}", args.out)


if __name__ == "__main__":
    sys.exit(main())
