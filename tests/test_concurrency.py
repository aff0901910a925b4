"""No overbooking under concurrency: two processes acting on one route at the same moment, both
allocating concessionary seats, or one allocating while the other puts an entitled pupil on it.

A PostgreSQL test by nature (SQLite has a single writer, so it cannot race): it asks for the
PostgreSQL fixture itself, so it runs under the default SQLite run too, and in CI it fails
rather than skips when PostgreSQL is missing. Each round starts two separate processes (spawn),
lines them up on a barrier and lets both allocate at once. Whatever the interleaving, the
seats allocated never exceed the spare seats (A9, Appendix F), and when both allocate the
whole route the pupils allocated are exactly the register's top ones.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, select

import rules
from tests.conftest import alembic_config, dispose, make_app
from tests.support import postgres

YEAR = "2024/25"
ON = date(2024, 8, 20)
ROUNDS = 4


def _worker(url: str, barrier: Any, jobs: Any, results: Any) -> None:
    """One process with its own app, engine and connection; it runs one job per round,
    starting it together with the other process on the barrier. A job allocates, or (with
    "put_on") does what the transport-applications screen does when an officer puts an
    entitled pupil on a route: set the route, check under the route lock, commit."""
    from models import Route, TransportApplication, db
    from models.enums import Sessions
    from services import seats
    from services.errors import ServiceError

    app = make_app(url)
    with app.app_context():
        while (job := jobs.get(timeout=300)) is not None:
            barrier.wait(timeout=120)
            try:
                if "put_on" in job:
                    application = db.session.get(TransportApplication, job["put_on"])
                    application.route = db.session.get(Route, job["route_id"])
                    application.route_sessions = Sessions.BOTH
                    try:
                        seats.check_entitled_pupil_fits(db.session, application, on=ON)
                    except ServiceError as refusal:
                        db.session.rollback()
                        results.put(("refused", str(refusal)))
                        continue
                    db.session.commit()
                    results.put(("placed", job["put_on"]))
                else:
                    report = seats.allocate(YEAR, on=ON, **job)
                    results.put(("ok", report.allocated))
            except Exception as exc:  # reported to the parent, which fails the test
                db.session.rollback()
                results.put(("error", repr(exc)))


class Racers:
    """Two long-lived processes (spawn: nothing shared with the parent but the queues)."""

    def __init__(self, url: str) -> None:
        ctx = mp.get_context("spawn")
        self.barrier = ctx.Barrier(2)
        self.results = ctx.Queue()
        self.jobs = [ctx.Queue(), ctx.Queue()]
        self.procs = [
            ctx.Process(target=_worker, args=(url, self.barrier, q, self.results), daemon=True)
            for q in self.jobs
        ]
        for p in self.procs:
            p.start()

    def race(self, first: dict[str, Any], second: dict[str, Any]) -> list[tuple[str, Any]]:
        self.jobs[0].put(first)
        self.jobs[1].put(second)
        return [self.results.get(timeout=180) for _ in self.procs]

    def close(self) -> None:
        for q in self.jobs:
            q.put(None)
        for p in self.procs:
            p.join(timeout=60)
            assert p.exitcode == 0


@pytest.fixture(scope="module")
def pg_url(pg_base_url: str) -> str:
    url = postgres.create_database(pg_base_url, "seats_concurrency")
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture(scope="module")
def pg_app(pg_url: str) -> Iterator[Any]:
    """The app on that database, with the year and its contribution setting."""
    from models import db
    from tests import factories as f

    app = make_app(pg_url)
    with app.app_context():
        f.academic_year()
        f.contribution_setting()
        db.session.commit()
    yield app
    dispose(app)


def _entitled(school: Any, route: Any) -> int:
    """An entitled pupil (a current eligible decision), carried on `route`, or on none yet."""
    from models.enums import Sessions
    from tests import factories as f

    ta = f.transport_application(
        f.pupil(),
        school,
        route_id=route.id if route else None,
        route_sessions=Sessions.BOTH if route else None,
    )
    f.decision(ta)
    return int(ta.id)


def _build_round(app: Any, seats_per_route: int, applicants: int, routes: int) -> dict[str, Any]:
    """Routes with one entitled pupil each and pending applicants with distinct facts, and an
    entitled pupil on no route yet."""
    from models import db
    from models.enums import Sessions
    from services import seats
    from tests import factories as f

    with app.app_context():
        school = f.school()
        built = []
        for _ in range(routes):
            route = f.route([school], seats=seats_per_route)
            _entitled(school, route)
            apps = [
                f.concessionary_application(
                    f.pupil(
                        date_of_birth=date(2010, 1, 1 + i),
                        easting=500000 + 100 * i,
                        lives_in_county=i % 5 != 0,
                    ),
                    school,
                    route,
                    sessions=Sessions.AM if i % 4 == 3 else Sessions.BOTH,
                )
                for i in range(applicants)
            ]
            built.append((route.id, [a.id for a in apps]))
        waiting = _entitled(school, None)
        db.session.commit()
        # What the register says, from the same facts the service gathers; and with the
        # waiting entitled pupil on the route too.
        expected, with_pupil = {}, {}
        for route_id, _ in built:
            spare = seats.spare_seats(db.session, YEAR, ON, [route_id])[route_id]
            cands = seats.gather_candidates(db.session, [seats.CA.route_id == route_id], YEAR)
            for free, into in (
                (spare, expected),
                ({k: v - 1 for k, v in spare.items()}, with_pupil),
            ):
                result = rules.allocate(
                    rules.AllocationRequest(seats=free, applicants=[c.applicant for c in cands])
                )
                into[route_id] = (free, set(result.allocated))
        db.session.rollback()
    return {"routes": built, "expected": expected, "with_pupil": with_pupil, "pupil": waiting}


def _allocated(app: Any, route_id: int) -> tuple[dict[str, int], set[str]]:
    from models import ConcessionaryApplication, ConcessionarySeat, db
    from models.enums import SeatStatus, Sessions

    with app.app_context():
        rows = db.session.execute(
            select(ConcessionarySeat.sessions, ConcessionaryApplication.reference)
            .join(ConcessionaryApplication)
            .where(
                ConcessionarySeat.route_id == route_id,
                ConcessionarySeat.status == SeatStatus.ACTIVE,
            )
        ).all()
        dupes = db.session.scalar(
            select(func.count())
            .select_from(ConcessionarySeat)
            .where(ConcessionarySeat.route_id == route_id)
        )
        assert dupes == len(rows)
        db.session.rollback()
    used = {
        "am": sum(1 for s, _ in rows if s in (Sessions.AM, Sessions.BOTH)),
        "pm": sum(1 for s, _ in rows if s in (Sessions.PM, Sessions.BOTH)),
    }
    return used, {ref for _, ref in rows}


def test_two_processes_allocating_one_route_at_once_never_overbook_appendix_f(
    pg_url: str, pg_app: Any
) -> None:
    app = pg_app
    racers = Racers(pg_url)
    for round_ in range(ROUNDS):
        # Disjoint selections on the same route: each alone would fill the vehicle.
        built = _build_round(app, seats_per_route=4, applicants=8, routes=1)
        ((route_id, app_ids),) = built["routes"]
        outcomes = racers.race(
            {"application_ids": app_ids[0::2]}, {"application_ids": app_ids[1::2]}
        )
        assert all(kind == "ok" for kind, _ in outcomes), outcomes
        spare, _ = built["expected"][route_id]
        used, _ = _allocated(app, route_id)
        assert used["am"] <= spare["am"] and used["pm"] <= spare["pm"], (round_, used, spare)
        assert sum(n for _, n in outcomes) >= 1

        # Both allocate the whole of two routes, listed in opposite orders (no deadlock).
        built = _build_round(app, seats_per_route=4, applicants=8, routes=2)
        ids = [route_id for route_id, _ in built["routes"]]
        outcomes = racers.race({"route_ids": ids}, {"route_ids": ids[::-1]})
        assert all(kind == "ok" for kind, _ in outcomes), outcomes
        for route_id in ids:
            spare, top = built["expected"][route_id]
            used, refs = _allocated(app, route_id)
            assert used["am"] <= spare["am"] and used["pm"] <= spare["pm"]
            assert refs == top  # exactly the register's top ones
    racers.close()


def _route_of(app: Any, application_id: int) -> int | None:
    from models import TransportApplication, db

    with app.app_context():
        route_id = db.session.get(TransportApplication, application_id).route_id
        db.session.rollback()
    return route_id


def test_allocating_while_an_entitled_pupil_is_put_on_the_route_never_overfills_a2_appendix_f(
    pg_url: str, pg_app: Any
) -> None:
    """One user allocates concessionary seats on a route while another puts an entitled pupil
    on it. Whichever takes the route lock first, the vehicle is never overfilled: the pupil
    is put on and the allocation counts them, or the allocation fills the route and the pupil
    is refused in words (nothing withdrawn behind the officer's back)."""
    from models import db
    from services import seats

    app = pg_app
    racers = Racers(pg_url)
    for round_ in range(ROUNDS):
        built = _build_round(app, seats_per_route=4, applicants=8, routes=1)
        ((route_id, _),) = built["routes"]
        jobs = [{"route_ids": [route_id]}, {"put_on": built["pupil"], "route_id": route_id}]
        outcomes = racers.race(*(jobs if round_ % 2 else jobs[::-1]))
        kinds = sorted(kind for kind, _ in outcomes)
        assert kinds in (["ok", "placed"], ["ok", "refused"]), outcomes

        used, refs = _allocated(app, route_id)
        if "placed" in kinds:  # the pupil first: the allocation counted them
            assert _route_of(app, built["pupil"]) == route_id
            spare, top = built["with_pupil"][route_id]
        else:  # the allocation first: it filled the route, and the officer is told why
            assert _route_of(app, built["pupil"]) is None
            (refusal,) = [words for kind, words in outcomes if kind == "refused"]
            assert "is full in the morning" in refusal, refusal
            spare, top = built["expected"][route_id]
        assert used["am"] <= spare["am"] and used["pm"] <= spare["pm"], (round_, used, spare)
        assert refs == top  # exactly the register's top ones for the seats left
        with app.app_context():
            after = seats.spare_seats(db.session, YEAR, ON, [route_id])[route_id]
            db.session.rollback()
        assert min(after.values()) >= 0, (round_, after)
    racers.close()
