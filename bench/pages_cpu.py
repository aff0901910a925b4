"""`python -m bench.pages_cpu`: CPU per panel request, in process (issue 18).

The load run (bench/load.py) says how fast the panel is under gunicorn; this says where each
request's time goes without the network, the clients or the other workers: the demo county in
a SQLite file (built once, kept in bench/out/), the Flask test client signed in as the load
run's officer with CSRF on, and each kind of request the load run makes, timed in CPU seconds
(`time.process_time`), median and mean of --repeat after a warm-up, the heap settled as each
gunicorn worker's is (gunicorn.conf.py). `--profile KIND` writes a pyinstrument profile of that
kind to bench/profiles/.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from werkzeug.datastructures import MultiDict

from bench.load import PASSWORD, SEED, _Form

ROOT = Path(__file__).resolve().parents[1]
DB = ROOT / "bench" / "out" / "pages-cpu-demo.db"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _app(url: str):  # type: ignore[no-untyped-def]
    from app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench-pages-cpu",
            "SERVER_NAME": "localhost",
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )


def _county(path: Path) -> str:
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    from bench.run import migrate
    from demo.county import build_county

    path.parent.mkdir(parents=True, exist_ok=True)
    migrate(url)
    app = _app(url)
    with app.app_context():
        build_county(SEED, "demo", password=PASSWORD)
    return url


def requests_of(client, ids: dict[str, list]) -> dict[str, Callable[[], object]]:  # type: ignore[no-untyped-def]
    """The load run's kinds of request, one callable each, every call a fresh target."""
    rng = random.Random(SEED)

    def get(path: str, **params: str) -> object:
        answer = client.get(path, query_string=params)
        assert answer.status_code == 200, (path, answer.status_code)
        return answer

    anonymous = client.application.test_client()

    def get_anonymous(path: str) -> object:
        answer = anonymous.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        return answer

    def edit_form() -> object:
        return get("/admin/transport_application/edit/", id=str(rng.choice(ids["apps"])))

    def save() -> object:
        app_id = str(rng.choice(ids["apps"]))
        page = client.get("/admin/transport_application/edit/", query_string={"id": app_id})
        parser = _Form()
        parser.feed(page.get_data(as_text=True))
        started, wall = time.process_time(), time.perf_counter()
        answer = client.post(
            "/admin/transport_application/edit/", query_string={"id": app_id},
            data=MultiDict(parser.fields),
        )  # fmt: skip
        assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
        return time.process_time() - started, time.perf_counter() - wall  # the POST alone

    return {
        "list transport_application": lambda: get("/admin/transport_application/", page="1"),
        "list pupil": lambda: get("/admin/pupil/", page="1"),
        "list school": lambda: get("/admin/school/", page="1"),
        "list route": lambda: get("/admin/route/", page="1"),
        "list concessionary_application": lambda: get(
            "/admin/concessionary_application/", page="0"
        ),
        "search reference": lambda: get(
            "/admin/transport_application/", search=rng.choice(ids["refs"])
        ),
        "search surname": lambda: get("/admin/pupil/", search=rng.choice(ids["surnames"])),
        "details application": lambda: get(
            "/admin/transport_application/details/", id=str(rng.choice(ids["apps"]))
        ),
        "details pupil": lambda: get("/admin/pupil/details/", id=str(rng.choice(ids["pupils"]))),
        "edit form": edit_form,
        "save": save,
        "sign-in page (anchor)": lambda: get_anonymous("/login"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages_cpu", description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--profile", action="append", default=[], help="a kind, e.g. 'save'")
    parser.add_argument("--only", action="append", default=[], help="kinds to time")
    parser.add_argument(
        "--postgresql", action="store_true", help="a throwaway PostgreSQL server, county built"
    )
    args = parser.parse_args(argv)
    if args.postgresql:
        from tests.support import postgres

        with postgres.running_server() as base:
            from bench.load import _prepare

            url = postgres.create_database(base, "bench_pages")
            _prepare(url)
            return measure(url, args)
    return measure(_county(DB), args)


def measure(url: str, args: argparse.Namespace) -> int:
    app = _app(url)
    try:
        from infra.heap import settle
    except ImportError:  # a tree from before gunicorn.conf.py (its workers did not settle)
        pass
    else:
        settle()  # as each gunicorn worker does once it has loaded the app (gunicorn.conf.py)
    from sqlalchemy import text

    from models import db

    with app.app_context():
        ids = {
            "apps": list(db.session.scalars(text("SELECT id FROM transport_application"))),
            "pupils": list(db.session.scalars(text("SELECT id FROM pupil"))),
            "refs": list(db.session.scalars(text("SELECT reference FROM transport_application"))),
            "surnames": list(db.session.scalars(text("SELECT DISTINCT last_name FROM pupil"))),
        }
        db.session.remove()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = _CSRF.search(page)
    signed_in = {"username": "officer", "password": PASSWORD, "csrf_token": token and token[1]}
    answer = client.post("/login", data=signed_in)
    assert answer.status_code == 302, answer.status_code
    kinds = requests_of(client, ids)
    statements = [0]
    with app.app_context():
        from sqlalchemy import event

        event.listen(db.engine, "before_cursor_execute", lambda *_a: statements.__setitem__(
            0, statements[0] + 1))  # fmt: skip
    # The mean as well as the median: a garbage collector's full pass lands in one request of
    # many, which the median never shows and the throughput pays all the same.
    print(f"| Request ({args.repeat} after a warm-up) | CPU median | CPU mean | wall | SQL "
          "statements | HTML |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    for name, call in kinds.items():
        if args.only and name not in args.only:
            continue
        result = call()  # warm-up
        statements[0] = 0
        times, walls = [], []
        for _ in range(args.repeat):
            started, wall = time.process_time(), time.perf_counter()
            result = call()
            spent = time.process_time() - started
            times.append(result[0] if isinstance(result, tuple) else spent)
            walls.append(result[1] if isinstance(result, tuple) else time.perf_counter() - wall)
        size = f"{len(result.get_data()) / 1024:.1f} KB" if hasattr(result, "get_data") else "—"
        each = statements[0] / args.repeat
        cpu, wall = statistics.median(times) * 1000, statistics.median(walls) * 1000
        mean = statistics.mean(times) * 1000
        print(f"| {name} | {cpu:.1f} ms | {mean:.1f} ms | {wall:.1f} ms | {each:.0f} | {size} |")
    for name in args.profile:
        from pyinstrument import Profiler

        kinds[name]()
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(args.repeat):
            kinds[name]()
        profiler.stop()
        out = ROOT / "bench" / "profiles" / f"pages-{name.replace(' ', '-')}.txt"
        out.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
        print(f"profile: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
