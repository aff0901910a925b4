"""Measuring applications over a loaded network (A4b), stored and idempotent (issue 17)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select, text

from models import (
    HomeAccessPoint,
    RoadNetwork,
    RouteMeasurement,
    SchoolGate,
    TransportApplication,
    db,
)
from models.enums import DistanceMethod, EstablishmentType, MeasurementKind, Phase
from services.measurement import (
    MeasurementError,
    handler,
    measure_applications,
    measured_distances,
    record_hand_measurement,
)
from services.policy import ensure_parameter_set
from services.road_networks import load_network
from tests import factories as f
from tests.network import town

PRIMARY_DOB = date(2014, 10, 1)  # Year 5 in 2024/25


@pytest.fixture
def world(app_ctx: Flask, tmp_path: Path) -> dict[str, object]:
    f.academic_year("2024/25")
    network, new = load_network(db.session, town.town(tmp_path / "town.osm"))
    assert new
    school = f.school(easting=502000, northing=302100, phase=Phase.PRIMARY,
                      statutory_low_age=4, statutory_high_age=11)
    db.session.add_all([
        SchoolGate(school=school, name="Main gate", easting=town.GATE_OPEN[0],
                   northing=town.GATE_OPEN[1], is_open=True),
        SchoolGate(school=school, name="Field gate", easting=town.GATE_CLOSED[0],
                   northing=town.GATE_CLOSED[1], is_open=False),
    ])
    pupil = f.pupil(easting=town.HOME[0], northing=town.HOME[1], date_of_birth=PRIMARY_DOB)
    application = f.transport_application(pupil, school)
    db.session.commit()
    return {"network": network, "school": school, "pupil": pupil, "app": application}


def current(app_id: int) -> list[RouteMeasurement]:
    return list(db.session.scalars(
        select(RouteMeasurement).where(
            RouteMeasurement.application_id == app_id, RouteMeasurement.superseded_at.is_(None)
        ).order_by(RouteMeasurement.id)
    ))


def test_walking_route_to_the_nearest_open_gate_is_stored_and_used(world) -> None:
    app = world["app"]
    summary = measure_applications(ids=[app.id], via="test")
    assert summary.written == 1 and not summary.problems
    [m] = current(app.id)
    # A4b: walking (2750 m <= 2 miles); the closed gate (1750 m away) is not measured to.
    assert (m.kind, m.method, m.distance_m) == (
        MeasurementKind.COMPUTED, DistanceMethod.WALKING_ROUTE, 2750)
    gate = db.session.get(SchoolGate, m.gate_id)
    assert gate is not None and gate.name == "Main gate"
    assert (m.access_easting, m.access_northing, m.snap_distance_m) == (*town.ACCESS, 50)
    assert m.network_id == world["network"].id and m.measured_via == "test"
    assert m.points()[0] == town.ACCESS and m.points()[-1] == (502000, 302000)
    db.session.refresh(app)
    assert (app.distance_m, app.distance_method) == (2750, DistanceMethod.WALKING_ROUTE)


def test_re_running_on_an_unchanged_network_writes_nothing(world) -> None:
    app = world["app"]
    measure_applications(ids=[app.id], via="test")
    before = db.session.scalar(select(func.count()).select_from(RouteMeasurement))
    again = measure_applications(ids=[app.id], via="test")
    assert (again.written, again.unchanged, again.distances_set) == (0, 1, 0)
    assert db.session.scalar(select(func.count()).select_from(RouteMeasurement)) == before


def test_over_the_dated_walking_distance_the_driving_route_decides(world) -> None:
    row = ensure_parameter_set("2024/25")
    row.primary_walking_distance_m = 2000
    db.session.commit()
    app = world["app"]
    measure_applications(ids=[app.id], via="test")
    [m] = current(app.id)
    assert (m.method, m.distance_m, m.walk_distance_m) == (
        DistanceMethod.DRIVING_ROUTE, 3250, 2750)


def test_opening_a_gate_supersedes_the_old_measurement(world) -> None:
    app = world["app"]
    measure_applications(ids=[app.id], via="test")
    gate = db.session.scalar(select(SchoolGate).where(SchoolGate.name == "Field gate"))
    gate.is_open = True
    db.session.commit()
    summary = measure_applications(ids=[app.id], via="test")
    assert summary.written == 1
    [m] = current(app.id)
    assert (m.distance_m, m.gate_id) == (1750, gate.id)
    assert db.session.scalar(select(func.count()).select_from(RouteMeasurement)) == 2


def test_officer_override_of_the_access_point(world) -> None:
    db.session.add(HomeAccessPoint(pupil=world["pupil"], easting=501000, northing=300000,
                                   reason="The drive comes out on South Road"))
    db.session.commit()
    measure_applications(ids=[world["app"].id], via="test")
    [m] = current(world["app"].id)
    # From P1: 1000 to P2, 2000 up East Road = 3000 m; or 300 + 1700 + 1000 = 3000 m too.
    assert m.access_overridden and (m.access_easting, m.access_northing) == (501000, 300000)
    assert m.distance_m == 3000


def test_hand_measurement_is_kept_beside_and_wins(world) -> None:
    app = world["app"]
    measure_applications(ids=[app.id], via="test")
    record_hand_measurement(db.session, app, distance_m=3400, method=DistanceMethod.WALKING_ROUTE,
                            reason="Footpath closed for works", user_id=None)
    db.session.commit()
    kinds = {m.kind: m.distance_m for m in current(app.id)}
    assert kinds == {MeasurementKind.COMPUTED: 2750, MeasurementKind.HAND: 3400}
    measure_applications(ids=[app.id], via="test")
    db.session.refresh(app)
    assert app.distance_m == 3400  # the officer's determination is not overwritten
    assert measured_distances([app.id]) == {(app.id, world["school"].id): 3400}


def test_nearer_candidate_school_is_measured_too(world) -> None:
    near = f.school(easting=501000, northing=300400, phase=Phase.PRIMARY,
                    statutory_low_age=4, statutory_high_age=11)
    db.session.commit()
    app = world["app"]
    measure_applications(ids=[app.id], via="test")
    got = measured_distances([app.id])
    # The chosen school by its route; the nearer one (straight line 160 m) by its own:
    # 50 m up the cul-de-sac, then 100 m along the footpath to (1000, 400).
    assert got[(app.id, world["school"].id)] == 2750
    assert got[(app.id, near.id)] == 150


def test_schools_that_cannot_compete_are_not_measured(world) -> None:
    """Only the ranking's competitors are measured (services.schools): a secondary school, a
    special school or a selective one beside a primary child's home is never its nearest
    suitable school (RULES.md v2 "Candidates"), so no route to it is written."""
    for kw in (
        {"phase": Phase.SECONDARY},
        {"phase": Phase.SPECIAL, "establishment_type": EstablishmentType.SPECIAL,
         "statutory_low_age": 4, "statutory_high_age": 19},
        {"phase": Phase.PRIMARY, "statutory_low_age": 4, "statutory_high_age": 11,
         "selective": True},
    ):
        f.school(easting=501000, northing=300400, **kw)
    db.session.commit()
    app = world["app"]
    measure_applications(ids=[app.id], via="test")
    assert measured_distances([app.id]) == {(app.id, world["school"].id): 2750}


def test_whole_year_handler_reports_progress_and_assesses(world) -> None:
    seen: list[tuple[int, int]] = []
    out = handler({"year": "2024/25"}, lambda done, total: seen.append((done, total)))
    assert out["written"] == 1 and out["changed_applications"] == [world["app"].id]
    assert seen and seen[-1][0] == seen[-1][1]
    assert "assessment" in out
    again = handler({"year": "2024/25"}, lambda d, t: None)
    assert again["written"] == 0 and "assessment" not in again


@pytest.mark.commits  # the job runs in a worker thread on its own connection
def test_whole_year_measurement_runs_as_a_background_job(
    world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole-year run is a job on the queue (issue 17 via issue 13's jobs): it measures,
    assesses what changed, reports, and run again writes nothing."""
    from models import Job, JobStatus
    from services.jobs import enqueue, run_job

    monkeypatch.setenv("JOB_QUEUE_FILE", str(tmp_path / "jobs.db"))
    monkeypatch.delenv("JOB_QUEUE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    job = enqueue("measurement", {"year": "2024/25"})
    assert run_job(job.id) is JobStatus.DONE
    done = db.session.get(Job, job.id)
    assert done is not None and done.status is JobStatus.DONE
    assert "1 measurements written" in done.result and "assessed again" in done.result
    db.session.refresh(world["app"])
    assert world["app"].distance_m == 2750
    again = enqueue("measurement", {"year": "2024/25"})
    assert run_job(again.id) is JobStatus.DONE
    rerun = db.session.get(Job, again.id)
    assert rerun is not None and "0 measurements written, 1 unchanged" in rerun.result


def test_no_network_no_measuring(app_ctx: Flask) -> None:
    with pytest.raises(MeasurementError, match="no road network"):
        measure_applications(ids=[1], via="test")


def test_cli_load_and_measure(app: Flask, world, tmp_path: Path) -> None:
    runner = CliRunner()
    from cli.network_commands import network_group

    same = runner.invoke(network_group, ["load", str(tmp_path / "town.osm")], obj=_info(app))
    assert same.exit_code == 0 and "nothing changed" in same.output
    bad = runner.invoke(network_group, ["load", str(tmp_path / "nope.osm")], obj=_info(app))
    assert bad.exit_code == 2 and "no such file" in bad.output
    assert db.session.scalar(select(func.count()).select_from(RoadNetwork)) == 1
    ok = runner.invoke(network_group, ["measure", "--year", "2024/25"], obj=_info(app))
    assert ok.exit_code == 0, ok.output
    assert "1 measurements written" in ok.output
    db.session.expire_all()
    assert db.session.get(TransportApplication, world["app"].id).distance_m == 2750
    worse = runner.invoke(network_group, ["measure", "--year", "2024-25"], obj=_info(app))
    assert worse.exit_code == 2


def _info(app: Flask):  # noqa: ANN202
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


def test_a_typed_distance_replaced_by_the_route_is_kept(world) -> None:
    app = world["app"]
    app.distance_m, app.distance_method = 4100, DistanceMethod.DRIVING_ROUTE
    app.distance_measured_on = date(2024, 6, 10)
    db.session.commit()
    summary = measure_applications(ids=[app.id], via="test")
    assert (summary.written, summary.distances_set) == (1, 1)
    db.session.refresh(app)
    assert app.distance_m == 2750
    kept = db.session.scalar(select(RouteMeasurement).where(
        RouteMeasurement.kind == MeasurementKind.HAND))
    assert (kept.distance_m, kept.measured_on, kept.measured_via) == (
        4100, date(2024, 6, 10), "recorded on the application")
    assert kept.superseded_at is not None  # kept, but the computed route is in force
    assert measured_distances([app.id]) == {(app.id, world["school"].id): 2750}


def test_a_bulk_write_refreshes_postgresqls_planner_statistics(world, monkeypatch) -> None:
    """Without it a re-run straight after a county's first run read the current measurements
    by scanning the whole table once per chunk (the planner still thought it empty)."""
    from services import measurement

    monkeypatch.setattr(measurement, "ANALYZE_AFTER_ROWS", 1)
    assert measure_applications(ids=[world["app"].id], via="test").written == 1
    if db.engine.dialect.name == "postgresql":
        sampled = db.session.scalar(
            select(func.max(text("reltuples"))).select_from(text("pg_class")).where(
                text("relname = 'route_measurement'")
            )
        )
        assert sampled == 1
