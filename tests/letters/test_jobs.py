"""Background jobs (issue 13): a real Huey queue and worker, progress on the job row, and a
worker killed mid-batch losing nothing and duplicating nothing when the job is retried."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from models import Communication, EligibilityDecision, Job, JobStatus, db
from models.enums import EstablishmentType, Outcome, Phase
from services.audit import acting_user
from services.jobs import JobRefused, enqueue, retry, run_job
from services.jobs.kinds import pupil_chunks
from services.jobs.queue import get_huey
from tests import factories as f

from .conftest import make_case

ROOT = Path(__file__).resolve().parents[2]


def letters_count() -> int:
    return db.session.scalar(select(func.count(Communication.id))) or 0


def test_a_letters_job_is_queued_then_run_with_progress_and_a_report(
    year: str, queue_file: Path, users: dict[str, int]
) -> None:
    for _ in range(7):
        make_case(Outcome.NOT_ELIGIBLE)
    db.session.commit()
    with acting_user("officer", users["officer"]):
        job = enqueue("letters", {"year": year, "kind": "decision", "chunk": 3})
    assert job.status is JobStatus.QUEUED and job.started_by == "officer"
    assert get_huey().pending_count() == 1  # the id is on the real queue
    assert run_job(job.id) is JobStatus.DONE
    db.session.refresh(job)
    assert (job.status, job.done, job.total, job.attempts) == (JobStatus.DONE, 7, 7, 1)
    assert job.result.startswith(f"{year}: 7 letters made")
    assert letters_count() == 7
    # A duplicate message for a finished job does nothing.
    assert run_job(job.id) is None and letters_count() == 7


def test_progress_reports_each_committed_chunk(year: str, queue_file: Path) -> None:
    from services.jobs.api import Progress
    from services.jobs.kinds import letters_for
    from services.letters.kinds import kinds_of

    for _ in range(5):
        make_case(Outcome.ELIGIBLE)
    db.session.commit()
    job = enqueue("letters", {"year": year})
    seen: list[tuple[int, int | None, int]] = []

    class Watching(Progress):
        def __call__(self, done: int, total: int | None) -> None:
            super().__call__(done, total)
            seen.append((done, total, letters_count()))

    letters_for(year, kinds_of("decision"), Watching(db.engine, job.id), chunk=2)
    assert [s[:2] for s in seen] == [(0, 5), (2, 5), (4, 5), (5, 5)]
    assert [s[2] for s in seen] == [0, 2, 4, 5]  # each report follows its chunk's commit


def test_bad_parameters_are_refused_naming_the_field(year: str, queue_file: Path) -> None:
    with pytest.raises(JobRefused, match="^year:"):
        enqueue("letters", {"year": "2031/32"})
    with pytest.raises(JobRefused, match="^kind:"):
        enqueue("letters", {"year": year, "kind": "postcards"})
    with pytest.raises(JobRefused, match="^on:"):
        enqueue("allocation", {"year": year, "on": "31/02/2025"})
    assert db.session.scalar(select(func.count(Job.id))) == 0


def test_a_running_job_is_not_retried_until_its_worker_stops_reporting(
    year: str, queue_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = enqueue("letters", {"year": year})
    job.status = JobStatus.RUNNING
    job.heartbeat_at = datetime.now(UTC)
    db.session.commit()
    with pytest.raises(JobRefused, match="running"):
        retry(job.id)
    job.heartbeat_at = datetime.now(UTC) - timedelta(minutes=5)
    db.session.commit()
    retry(job.id)
    db.session.refresh(job)
    assert job.status is JobStatus.QUEUED


def test_pupil_chunks_never_split_a_pupils_applications() -> None:
    rows = [(1, 10), (2, 10), (3, 11), (4, 12), (5, 12), (6, 12), (7, 13)]
    chunks = pupil_chunks(rows, 2)
    assert chunks == [[1, 2], [3, 4, 5, 6], [7]]


def test_a_whole_year_assessment_job_decides_and_writes_the_decision_letters(
    year: str, queue_file: Path, users: dict[str, int]
) -> None:
    home = (500000, 375000)
    school = f.school(
        phase=Phase.SECONDARY,
        establishment_type=EstablishmentType.COMMUNITY,
        easting=home[0] + 6000,
        northing=home[1],
    )
    for _ in range(5):
        pupil = f.pupil(easting=home[0], northing=home[1])
        f.transport_application(pupil, school, distance_m=6100)
    db.session.commit()
    with acting_user("assistant", users["assistant"]):
        job = enqueue("assessment", {"year": year, "chunk": 2})
    assert run_job(job.id) is JobStatus.DONE
    db.session.refresh(job)
    assert "5 assessed (eligible 5)" in job.result and "5 letters made" in job.result
    assert db.session.scalar(select(func.count(EligibilityDecision.id))) == 5
    assert letters_count() == 5
    again = enqueue("assessment", {"year": year})
    run_job(again.id)
    db.session.refresh(again)
    assert "0 assessed" in again.result and "5 unchanged" in again.result
    assert "0 letters made" in again.result and letters_count() == 5


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "jobs", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait_for(predicate: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing_on_retry(
    app: Flask, year: str, queue_file: Path, database_url: str
) -> None:
    for _ in range(24):
        make_case(Outcome.NOT_ELIGIBLE)
    db.session.commit()
    job = enqueue("letters", {"year": year, "kind": "decision", "chunk": 4})
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "JOB_QUEUE_FILE": str(queue_file),
        "JOB_CHUNK_PAUSE_S": "0.4",  # slow enough to kill it between two chunks
        "JOB_STALE_AFTER_S": "1",
    }
    first = _worker(env)
    try:
        _wait_for(lambda: (db.session.get(Job, job.id).done or 0) >= 8, 60)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # no chance to tidy up
        first.wait(10)
    db.session.rollback()
    killed = db.session.get(Job, job.id)
    assert killed.status is JobStatus.RUNNING  # it died in the middle
    made = letters_count()
    assert 8 <= made < 24 and made % 4 == 0  # whole chunks only
    time.sleep(1.1)  # its heartbeat goes stale

    second = _worker(env)  # a new worker takes up what the dead one left
    try:
        _wait_for(lambda: db.session.get(Job, job.id).status is JobStatus.DONE, 60)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(10)
    db.session.rollback()
    done = db.session.get(Job, job.id)
    assert done.attempts == 2 and f"{24 - made} letters made" in done.result
    keys = list(db.session.scalars(select(Communication.subject_key)))
    assert len(keys) == 24 == len(set(keys))  # every letter once


def test_the_worker_queues_a_letters_job_when_a_step_left_letters_owed(
    year: str, queue_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.jobs import schedule
    from services.letters import owed

    monkeypatch.setattr(owed, "today_in_england", lambda: date(2024, 12, 20))
    assert schedule.queue_letters_owed() == []  # nothing owed: nothing queued
    make_case(Outcome.NOT_ELIGIBLE)  # a decision made on some screen
    db.session.commit()
    [job_id] = schedule.queue_letters_owed()
    assert schedule.queue_letters_owed() == []  # one job at a time per year
    job = db.session.get(Job, job_id)
    assert (job.started_by, job.parameters["year"]) == ("scheduled letters", year)
    assert run_job(job_id) is JobStatus.DONE and letters_count() == 1
    assert schedule.queue_letters_owed() == []  # all made


def test_a_year_long_past_is_not_looked_at(
    year: str, queue_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.jobs import schedule
    from services.letters import owed

    monkeypatch.setattr(owed, "today_in_england", lambda: date(2026, 12, 2))
    make_case(Outcome.NOT_ELIGIBLE)
    db.session.commit()
    assert schedule.open_years() == [] and schedule.queue_letters_owed() == []


def test_a_whole_year_allocation_job_allocates_route_by_route_and_writes_seat_letters(
    app_ctx: Flask, queue_file: Path
) -> None:
    from tests.test_seats import SUMMER, _register_scenario

    f.academic_year()
    f.contribution_setting()
    db.session.commit()
    route, _apps = _register_scenario(seat_count=4)
    job = enqueue("allocation", {"year": "2024/25", "on": SUMMER.isoformat()})
    assert run_job(job.id) is JobStatus.DONE
    db.session.refresh(job)
    assert job.result.startswith("2024/25: 3 allocated, 3 on waiting lists, 0 refused")
    assert "6 letters made" in job.result
    again = enqueue("allocation", {"year": "2024/25", "on": SUMMER.isoformat()})
    run_job(again.id)
    db.session.refresh(again)
    assert "0 allocated" in again.result and "0 letters made" in again.result
    assert route.id


def test_flask_jobs_start_and_retry(app: Flask, year: str, queue_file: Path) -> None:
    runner = app.test_cli_runner()
    started = runner.invoke(args=["jobs", "start", "letters", "--year", year, "--kind", "seat"])
    assert started.exit_code == 0, started.output
    job = db.session.scalars(select(Job)).one()
    assert started.stdout.strip() == f"job {job.id} queued (Letters owed for a year, {year})"
    assert job.parameters == {"year": year, "kind": "seat", "chunk": 500}
    assert job.started_by == "flask jobs start"
    bad = runner.invoke(args=["jobs", "start", "letters", "--year", "2031/32"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --year:")
    assert runner.invoke(args=["jobs", "start", "postcards", "--year", year]).exit_code == 2
    assert run_job(job.id) is JobStatus.DONE
    done = runner.invoke(args=["jobs", "retry", str(job.id)])
    assert done.exit_code == 2 and "finished" in done.stderr
