"""Measuring applications' distances over the road network in use (A4b, A3b, A5, A6).

A4b: "Distances to schools are measured using the shortest route that is available for a child
to walk ... up to two miles (primary) or three miles (secondary). Distances to schools over two
or three miles are calculated using the shortest driving route ... from the child's home (from
where the property meets the public highway) to the nearest accessible school gate."

For each application the chosen school is measured (its main site: A3f, A4f), then every
school that could be nearer: the schools that compete with it in the ranking
(`services.schools`: suitable to the child, of its stage and kind, its age range fitting)
whose straight line from home is no longer than the chosen school's route (a route is never
shorter than its straight line), so the nearest-school ranking compares routes with routes
(RULES.md v2 "like for like"). Schools that cannot compete are not measured: a secondary
pupil's route to every primary school in reach would be six rows in seven of the table.

Idempotent: a measurement equal to the current one writes nothing, so re-running on an
unchanged network writes nothing. A different one supersedes the current row (kept). The
chosen school's computed distance becomes the application's distance (what assessment reads)
unless an officer's hand measurement is in force for it. All-or-nothing: one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import ColumnElement, Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from models import (
    HomeAccessPoint,
    Pupil,
    RoadNetwork,
    RouteMeasurement,
    School,
    SchoolGate,
    TransportApplication,
    db,
)
from models.enums import ApplicationStatus, DistanceMethod, MeasurementKind
from rules.academic_year import parse_academic_year, stage_of, year_group
from rules.errors import RulesError
from services.assessment import assess_applications
from services.network.routing import Gate, Job, Result
from services.policy import PolicyUnavailable, parameters_for_years
from services.road_networks import current_network, measurer_for
from services.schools import SchoolTable, measured_routes

LONDON = ZoneInfo("Europe/London")
ID_CHUNK = 500
METHOD = {"walk": DistanceMethod.WALKING_ROUTE, "drive": DistanceMethod.DRIVING_ROUTE}


class MeasurementError(Exception):
    """Nothing can be measured (no network loaded, a bad year); nothing was changed."""


@dataclass
class MeasureSummary:
    network_id: int
    applications: int = 0
    written: int = 0
    unchanged: int = 0
    distances_set: int = 0
    changed_applications: list[int] = field(default_factory=list)
    problems: dict[int, str] = field(default_factory=dict)  # application id -> why not

    def as_text(self) -> str:
        return (
            f"{self.applications} applications on network #{self.network_id}: "
            f"{self.written} measurements written, {self.unchanged} unchanged, "
            f"{self.distances_set} application distances set, "
            f"{len(self.problems)} not measurable"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "network_id": self.network_id,
            "applications": self.applications,
            "written": self.written,
            "unchanged": self.unchanged,
            "distances_set": self.distances_set,
            "changed_applications": list(self.changed_applications),
            "problems": {str(k): v for k, v in self.problems.items()},
        }


def london_today() -> date:
    return datetime.now(LONDON).date()


def _school_gates(session: Session) -> tuple[dict[int, list[Gate]], dict[int, int]]:
    """Open main sites' open gates (the school's location when no gate is recorded; none
    when every recorded gate is closed), and each school's main site."""
    schools = session.execute(
        select(School.id, School.easting, School.northing, School.main_site_id, School.is_open)
    ).all()
    main = {s.id: (s.main_site_id or s.id) for s in schools}
    recorded: dict[int, list[Gate]] = defaultdict(list)
    any_gate: set[int] = set()
    for g in session.execute(
        select(
            SchoolGate.id,
            SchoolGate.school_id,
            SchoolGate.easting,
            SchoolGate.northing,
            SchoolGate.is_open,
        ).order_by(SchoolGate.id)
    ):
        any_gate.add(g.school_id)
        if g.is_open:
            recorded[g.school_id].append(Gate(g.id, float(g.easting), float(g.northing)))
    gates: dict[int, list[Gate]] = {}
    for s in schools:
        if s.main_site_id is not None:
            continue
        if s.id in any_gate:
            gates[s.id] = recorded.get(s.id, [])
        elif s.easting is not None and s.northing is not None:
            gates[s.id] = [Gate(None, float(s.easting), float(s.northing))]
    return gates, main


def _rows(session: Session, where: ColumnElement[bool]) -> Sequence[Any]:
    ta = TransportApplication
    return session.execute(
        select(
            ta.id,
            ta.academic_year,
            ta.school_id,
            ta.distance_m,
            ta.distance_method,
            ta.distance_measured_on,
            Pupil.id.label("pupil_id"),
            Pupil.easting,
            Pupil.northing,
            Pupil.date_of_birth,
            Pupil.year_group_override,
            HomeAccessPoint.easting.label("override_e"),
            HomeAccessPoint.northing.label("override_n"),
        )
        .join(Pupil, Pupil.id == ta.pupil_id)
        .outerjoin(HomeAccessPoint, HomeAccessPoint.pupil_id == Pupil.id)
        .where(ta.status != ApplicationStatus.WITHDRAWN, where)
        .order_by(ta.id)
    ).all()


# The columns a re-measurement compares: equal on all of them means nothing to write.
_COMPARED = (
    "method",
    "distance_m",
    "walk_distance_m",
    "network_id",
    "gate_id",
    "gate_easting",
    "gate_northing",
    "access_easting",
    "access_northing",
    "snap_distance_m",
    "access_overridden",
    "geometry",
)


# Every column a measurement row is inserted with, in that order.
_INSERTED = (
    "application_id",
    "school_id",
    "kind",
    *_COMPARED,
    "measured_on",
    "measured_at",
    "measured_by_id",
    "measured_via",
    "reason",
    "superseded_at",
)


def _current(session: Session, app_ids: list[int]) -> dict[tuple[int, int, MeasurementKind], Any]:
    """The current rows' compared columns, keyed by (application, school, kind): plain rows,
    not ORM objects (a county has hundreds of thousands)."""
    rm = RouteMeasurement
    columns = [getattr(rm, name) for name in _COMPARED]
    out: dict[tuple[int, int, MeasurementKind], Any] = {}
    for start in range(0, len(app_ids), ID_CHUNK):
        chunk = app_ids[start : start + ID_CHUNK]
        for row in session.execute(
            select(rm.id, rm.application_id, rm.school_id, rm.kind, *columns)
            .where(rm.application_id.in_(chunk), rm.superseded_at.is_(None))
            .order_by(rm.id)
        ):
            out[(row.application_id, row.school_id, row.kind)] = row
    return out


def measure_applications(
    *,
    where: ColumnElement[bool] | None = None,
    ids: Iterable[int] | None = None,
    via: str,
    user_id: int | None = None,
    session: Session | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MeasureSummary:
    """Measure the applications named; commit once, or (on any error) change nothing."""
    sess = cast(Session, session if session is not None else db.session)
    try:
        summary = _measure(sess, where, ids, via, user_id, progress)
        sess.commit()
    except BaseException:
        sess.rollback()
        raise
    return summary


@dataclass
class _Batch:
    """The applications to measure, as the router's jobs: one per home, its chosen school."""

    network: RoadNetwork
    summary: MeasureSummary
    gates: dict[int, list[Gate]]
    table: SchoolTable
    homes: list[tuple[float, float]] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    job_row: dict[int, Any] = field(default_factory=dict)
    kinds: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # home -> kind of pupil

    def candidates(self, job: Job, within: float) -> list[tuple[int, float]]:
        return self.table.competitors(self.kinds[job.home], self.homes[job.home], within)


def _batch(sess: Session, where: ColumnElement[bool] | None, ids: Iterable[int] | None) -> _Batch:
    network = current_network(sess)
    if network is None:
        raise MeasurementError(
            "no road network is loaded; load one with `flask network load FILE` first"
        )
    if where is None:
        wanted = sorted(set(ids or ()))
        rows: list[Any] = []
        for start in range(0, len(wanted), ID_CHUNK):
            rows.extend(_rows(sess, TransportApplication.id.in_(wanted[start : start + ID_CHUNK])))
    else:
        rows = list(_rows(sess, where))
    gates, main = _school_gates(sess)
    batch = _Batch(network, MeasureSummary(network.id, applications=len(rows)), gates,
                   SchoolTable.load(sess))  # fmt: skip
    if not rows:
        return batch
    try:
        params = parameters_for_years({r.academic_year for r in rows}, sess)
    except PolicyUnavailable as error:
        raise MeasurementError(str(error)) from None
    problems = batch.summary.problems
    kinds: dict[tuple[int, int], tuple[Any, ...]] = {}
    years: dict[str, Any] = {}  # each year parsed once, each stage's walking distance read once
    walks: dict[tuple[str, int], int] = {}
    for r in rows:
        overridden = r.override_e is not None
        point = (r.override_e, r.override_n) if overridden else (r.easting, r.northing)
        if point[0] is None or point[1] is None:
            problems[r.id] = "the home has no grid reference to measure from"
            continue
        school = main.get(r.school_id, r.school_id)
        if not gates.get(school):
            problems[r.id] = "the school has no open gate and no location to measure to"
            continue
        year = years.get(r.academic_year)
        if year is None:
            try:
                year = years[r.academic_year] = parse_academic_year(r.academic_year)
            except RulesError as error:
                problems[r.id] = error.message
                continue
        group = r.year_group_override
        if group is None:
            group = year_group(r.date_of_birth, year)
        walking = walks.get((r.academic_year, group))
        if walking is None:
            policy = params[r.academic_year]
            walking = walks[(r.academic_year, group)] = policy.walking_distance_m(stage_of(group))
        job = Job(len(batch.homes), school, walking)
        kind = kinds.get((school, group))
        if kind is None:
            kind = kinds[(school, group)] = batch.table.kind_of(school, group)
        batch.kinds[job.home] = kind
        batch.homes.append((float(point[0]), float(point[1])))
        batch.jobs.append(job)
        batch.job_row[id(job)] = r
    return batch


def measurement_searches(
    session: Session, where: ColumnElement[bool]
) -> tuple[RoadNetwork, np.ndarray, dict[int, list[Gate]], dict[tuple[int, str], float]]:
    """What a measurement of these applications searches, found by making its searches and
    writing nothing: the homes, the gates, and per (school, mode) the widest limit searched.
    The benchmark's bare searches run exactly those, once each (bench/network.py)."""
    batch = _batch(session, where, None)
    homes = np.array(batch.homes, dtype=np.float64)
    measurer = measurer_for(session, batch.network)
    if batch.jobs:
        measurer.run(homes, batch.gates, batch.jobs, batch.candidates)
    return batch.network, homes, batch.gates, dict(measurer.searched)


def _measure(
    sess: Session,
    where: ColumnElement[bool] | None,
    ids: Iterable[int] | None,
    via: str,
    user_id: int | None,
    progress: Callable[[int, int], None] | None,
) -> MeasureSummary:
    batch = _batch(sess, where, ids)
    if not batch.jobs:
        return batch.summary
    home_xy = np.array(batch.homes, dtype=np.float64)
    measurer = measurer_for(sess, batch.network)
    results = measurer.run(home_xy, batch.gates, batch.jobs, batch.candidates, progress)
    # Candidate jobs carry the home index of their chosen job, so of its application.
    by_home = {j.home: batch.job_row[id(j)] for j in batch.jobs}
    _write(sess, batch.network, results, by_home, via, user_id, batch.summary)
    return batch.summary


def _write(
    sess: Session,
    network: RoadNetwork,
    results: list[Result],
    by_home: dict[int, Any],
    via: str,
    user_id: int | None,
    summary: MeasureSummary,
) -> None:
    now = datetime.now(UTC)
    today = london_today()
    current = _current(sess, sorted({r.id for r in by_home.values()}))
    inserts: list[dict[str, Any]] = []
    supersede: list[int] = []
    app_updates: list[dict[str, Any]] = []
    computed, hand = MeasurementKind.COMPUTED, MeasurementKind.HAND
    network_id = network.id
    typed_reason = (
        "Recorded on the application before route measuring; "
        f"replaced by the computed route ({via})."
    )
    problems = summary.problems
    for res in results:
        job = res.job
        row = by_home[job.home]
        if res.method is None or res.distance_m is None:
            if job.chosen:
                problems[row.id] = res.problem or "no route found"
            continue
        gate, access = res.gate, res.access
        assert gate is not None and access is not None
        method = METHOD[res.method]
        # The row to insert: the compared columns (_COMPARED), then who measured it and when.
        values: dict[str, Any] = {
            "application_id": row.id,
            "school_id": job.school,
            "kind": computed,
            "method": method,
            "distance_m": res.distance_m,
            "walk_distance_m": res.walk_m,
            "network_id": network_id,
            "gate_id": gate.key,
            "gate_easting": int(round(gate.x)),
            "gate_northing": int(round(gate.y)),
            "access_easting": int(round(access[0])),
            "access_northing": int(round(access[1])),
            "snap_distance_m": int(round(access[2])),
            "access_overridden": row.override_e is not None,
            "geometry": " ".join([f"{e},{n}" for e, n in res.geometry]) or None,
            "measured_on": today,
            "measured_at": now,
            "measured_by_id": user_id,
            "measured_via": via,
            "reason": None,
            "superseded_at": None,
        }
        old = current.get((row.id, job.school, computed)) if current else None
        if old is not None and all(
            getattr(old, k) == values[k]
            for k in _COMPARED
            if not (k == "geometry" and values[k] is None)
        ):
            summary.unchanged += 1
        else:
            if old is not None:
                supersede.append(old.id)
            inserts.append(values)
        if (
            job.chosen
            and (row.id, job.school, hand) not in current
            and (row.distance_m != res.distance_m or row.distance_method != method)
        ):
            if row.distance_m is not None and (old is None or old.distance_m != row.distance_m):
                # A distance typed on the application, not by a computed route: kept as a
                # (superseded) hand measurement, so it is never silently lost.
                kept = dict.fromkeys(_INSERTED)
                kept.update(
                    application_id=row.id,
                    school_id=job.school,
                    kind=hand,
                    method=row.distance_method or method,
                    distance_m=row.distance_m,
                    access_overridden=False,
                    measured_on=row.distance_measured_on or today,
                    measured_at=now,
                    measured_by_id=None,
                    measured_via="recorded on the application",
                    reason=typed_reason,
                    superseded_at=now,
                )
                inserts.append(kept)
            app_updates.append(
                {
                    "b_id": row.id,
                    "b_distance_m": res.distance_m,
                    "b_distance_method": method,
                    "b_distance_measured_on": today,
                }
            )
    rm = RouteMeasurement
    for start in range(0, len(supersede), ID_CHUNK):
        sess.execute(
            update(rm)
            .where(rm.id.in_(supersede[start : start + ID_CHUNK]))
            .values(superseded_at=now)
            .execution_options(synchronize_session=False)
        )
    if inserts:
        # Table-level executemany: the ORM's bulk INSERT would process each row's dict again.
        sess.execute(insert(cast(Table, rm.__table__)), inserts)
        _refresh_statistics(sess, rm.__tablename__, len(inserts))
    if app_updates:
        _set_distances(sess, app_updates, now)
    summary.written = sum(1 for row in inserts if row["kind"] is MeasurementKind.COMPUTED)
    summary.distances_set = len(app_updates)
    summary.changed_applications = sorted({u["b_id"] for u in app_updates})


# Rows written by one run above which PostgreSQL's planner statistics are refreshed at once.
ANALYZE_AFTER_ROWS = 5_000


def _refresh_statistics(sess: Session, table: str, written: int) -> None:
    """After a bulk write, PostgreSQL still plans as if the table were as small as before
    until autovacuum samples it: the next run's reads of the current measurements then scan
    the whole table once per chunk of applications (16 s instead of 0.3 s for a county's
    re-run). ANALYZE samples it now, in this transaction (its own new rows included)."""
    if written >= ANALYZE_AFTER_ROWS and sess.get_bind().dialect.name == "postgresql":
        sess.execute(text(f'ANALYZE "{table}"'))


def _set_distances(sess: Session, rows: list[dict[str, Any]], now: datetime) -> None:
    """UPDATE ... WHERE id = :b_id as one executemany (as imports.reading.bulk_update), the
    rows' values named b_<column> already: the
    audit trail reads each row before and after, and `services.record_versions` raises its
    version, as for the ORM's bulk UPDATE by primary key, without that form's per-row work."""
    table = cast(Table, TransportApplication.__table__)
    columns = ("distance_m", "distance_method", "distance_measured_on")
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({c: bindparam(f"b_{c}", type_=table.c[c].type) for c in columns})
        .values(updated_at=now)
    )
    sess.execute(statement, rows)


def record_hand_measurement(
    session: Session,
    application: TransportApplication,
    *,
    distance_m: int,
    method: DistanceMethod,
    reason: str,
    user_id: int | None,
) -> RouteMeasurement:
    """An officer's own measurement, with the reason, kept beside the computed one; it is the
    application's distance from now on (the officer's determination). Flushes."""
    if distance_m < 0:
        raise ValueError("A distance cannot be negative.")
    if not reason.strip():
        raise ValueError("Say why the distance was measured by hand.")
    school = application.school.main_site_id or application.school_id
    rm = RouteMeasurement
    now = datetime.now(UTC)
    session.execute(
        update(rm)
        .where(
            rm.application_id == application.id,
            rm.school_id == school,
            rm.kind == MeasurementKind.HAND,
            rm.superseded_at.is_(None),
        )
        .values(superseded_at=now)
    )
    row = RouteMeasurement(
        application_id=application.id,
        school_id=school,
        kind=MeasurementKind.HAND,
        method=method,
        distance_m=distance_m,
        measured_on=london_today(),
        measured_at=now,
        measured_by_id=user_id,
        measured_via="hand measurement",
        reason=reason.strip(),
    )
    session.add(row)
    application.distance_m = distance_m
    application.distance_method = method
    application.distance_measured_on = row.measured_on
    session.flush()
    return row


def measured_distances(
    application_ids: Iterable[int], session: Session | None = None
) -> dict[tuple[int, int], int]:
    """The current route distance per (application_id, school_id) for the ranking (A3a, A5a):
    an officer's hand measurement where one is in force, else the computed route. The one
    reading of RouteMeasurement is `services.schools.measured_routes`, which the rankings use."""
    sess = cast(Session, session if session is not None else db.session)
    return {
        (app_id, school_id): metres
        for app_id, by_school in measured_routes(sess, application_ids).items()
        for school_id, metres in by_school.items()
    }


def handler(params: dict[str, Any], progress: Callable[[int, int], None]) -> dict[str, Any]:
    """The whole-year run as a background job: params {"year": "2024/25", "user_id": N,
    "assess": true}. Measures every application of the year, then assesses again those whose
    distance changed (so the "To measure" queue drains by itself)."""
    year = str(params.get("year", "")).strip()
    try:
        parse_academic_year(year)
    except RulesError as error:
        raise MeasurementError(error.message) from None
    user_id = params.get("user_id")
    summary = measure_applications(
        where=TransportApplication.academic_year == year,
        via=str(params.get("via", "whole-year measurement")),
        user_id=user_id,
        progress=progress,
    )
    out = summary.as_dict()
    out["summary"] = summary.as_text()
    if params.get("assess", True) and summary.changed_applications:
        assessed = assess_applications(ids=summary.changed_applications, user_id=user_id)
        out["assessment"] = assessed.as_text()
    return out
