"""Starting, running and retrying jobs; the job row is the record, the queue only its id.

The row's status, progress and heartbeat are written on their own short transactions on the
engine (not through the audited session): they are the job's bookkeeping, many a minute, and
the audit trail records the job's creation (who started what) and every change its work makes.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine

from models import Job, JobStatus, db
from services.audit import acting_user, current_actor

from .registry import KINDS

log = logging.getLogger(__name__)
# A running job whose worker has not reported for this long is taken to be dead: a chunk of
# any kind takes seconds, and the worker reports after every chunk (JOB_STALE_AFTER_S).
STALE_AFTER = timedelta(minutes=2)


def stale_after() -> timedelta:
    seconds = os.environ.get("JOB_STALE_AFTER_S")
    return timedelta(seconds=float(seconds)) if seconds else STALE_AFTER


class JobRefused(ValueError):
    """The job cannot be started or retried; the message names the field or the reason."""


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite hands back naive UTC
        return value.replace(tzinfo=UTC)
    return value


def is_stale(job: Job, now: datetime | None = None) -> bool:
    """A running job whose worker stopped reporting, or a queued one no worker picked up."""
    now = now or _now()
    if job.status is JobStatus.RUNNING:
        beat = _aware(job.heartbeat_at) or _aware(job.started_at)
        return beat is None or now - beat > stale_after()
    return False


def _set(engine: Engine, job_id: int, **values: Any) -> int:
    with engine.begin() as conn:
        return conn.execute(update(Job).where(Job.id == job_id).values(**values)).rowcount


class Progress:
    """Reported by the work after each committed chunk: done of total, and the stage."""

    def __init__(self, engine: Engine, job_id: int) -> None:
        self.engine = engine
        self.job_id = job_id
        # Optional pause between chunks, so a whole-year batch shares a small database
        # server with the people using the panel (seconds; 0 by default).
        self.pause = float(os.environ.get("JOB_CHUNK_PAUSE_S") or 0)

    def stage(self, words: str, total: int | None = None) -> None:
        """A new stage; with a total, its count starts again from 0."""
        counts = {} if total is None else {"done": 0, "total": total}
        _set(self.engine, self.job_id, stage=words[:80], heartbeat_at=_now(), **counts)

    def __call__(self, done: int, total: int | None) -> None:
        _set(self.engine, self.job_id, done=done, total=total, heartbeat_at=_now())
        if self.pause and total and done < total:
            time.sleep(self.pause)


def enqueue(kind: str, parameters: Mapping[str, Any]) -> Job:
    """Record a job (attributed to whoever is acting) and put its id on the queue.

    The row is committed first, so a queue that is down leaves a queued job that `retry`
    (or the next worker's start) sends again; the parameters are checked by the kind.
    """
    if kind not in KINDS:
        raise JobRefused(f"kind: no job kind {kind!r}")
    cleaned = KINDS[kind].check(dict(parameters))
    actor = current_actor(db.session)
    job = Job(
        kind=kind,
        parameters=cleaned,
        started_by_id=actor.user_id,
        started_by=actor.username[:60],
        status=JobStatus.QUEUED,
        stage="waiting for a worker",
    )
    db.session.add(job)
    db.session.commit()
    _send(job.id)
    return job


def _send(job_id: int) -> None:
    from .queue import send

    try:
        send(job_id)
    except Exception as error:  # the row stays queued; a worker's start sends it again
        log.warning("jobs: could not queue job %d (%s)", job_id, type(error).__name__)


def retry(job_id: int) -> Job:
    """Send a failed or interrupted job again; its work resumes where the commits stopped."""
    job = db.session.get(Job, job_id)
    if job is None:
        raise JobRefused(f"no job {job_id}")
    if job.status is JobStatus.DONE:
        raise JobRefused("this job has finished; start a new one")
    if job.status is JobStatus.RUNNING and not is_stale(job):
        raise JobRefused("this job is running; it can be retried if its worker stops reporting")
    _set(db.engine, job_id, status=JobStatus.QUEUED, stage="waiting for a worker")
    db.session.expire(job)
    _send(job_id)
    return job


def recover_interrupted() -> list[int]:
    """At a worker's start: queue again every job left running by a dead worker, and every
    queued job (a message the previous worker took with it, or one the queue never got)."""
    cutoff = _now() - stale_after()
    with db.engine.begin() as conn:
        ids = list(
            conn.scalars(
                select(Job.id).where(
                    or_(
                        Job.status == JobStatus.QUEUED,
                        (Job.status == JobStatus.RUNNING)
                        & or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < cutoff),
                    )
                )
            )
        )
        if ids:
            conn.execute(
                update(Job)
                .where(Job.id.in_(ids))
                .values(status=JobStatus.QUEUED, stage="waiting for a worker")
            )
    for job_id in ids:
        _send(job_id)
    return ids


def _claim(job_id: int) -> bool:
    """Take the job for this worker, unless another has it or it is done (a duplicate
    message, or a retry racing a live worker, then does nothing)."""
    now = _now()
    cutoff = now - stale_after()
    with db.engine.begin() as conn:
        taken = conn.execute(
            update(Job)
            .where(
                Job.id == job_id,
                or_(
                    Job.status.in_([JobStatus.QUEUED, JobStatus.FAILED]),
                    (Job.status == JobStatus.RUNNING)
                    & or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < cutoff),
                ),
            )
            .values(
                status=JobStatus.RUNNING,
                attempts=Job.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                error=None,
                stage="starting",
            )
        ).rowcount
    return taken == 1


def run_job(job_id: int) -> JobStatus | None:
    """Do one job's work (the worker calls this; so may a test). Returns its final status,
    or None when the job was not this worker's to run."""
    if not _claim(job_id):
        log.info("jobs: job %d not claimed (done, or another worker has it)", job_id)
        return None
    job = db.session.get(Job, job_id)
    assert job is not None
    db.session.refresh(job)
    kind = KINDS.get(job.kind)
    progress = Progress(db.engine, job_id)
    log.info("jobs: job %d (%s) started, attempt %d", job_id, job.kind, job.attempts)
    try:
        if kind is None:
            raise JobRefused(f"no job kind {job.kind!r}")
        with acting_user(job.started_by, job.started_by_id):
            result = kind.work(dict(job.parameters), progress, job.started_by_id)
    except Exception as error:
        db.session.rollback()
        # The message goes to the job row (staff only), the log gets its kind alone.
        log.warning("jobs: job %d failed (%s)", job_id, type(error).__name__)
        _set(
            db.engine,
            job_id,
            status=JobStatus.FAILED,
            error=str(error)[:2000] or type(error).__name__,
            stage="stopped",
            finished_at=_now(),
        )
        return JobStatus.FAILED
    _set(
        db.engine,
        job_id,
        status=JobStatus.DONE,
        result=result,
        stage="finished",
        finished_at=_now(),
    )
    log.info("jobs: job %d done", job_id)
    return JobStatus.DONE
