"""`flask jobs worker|start|retry`: the background worker, and jobs from the command line.

`worker` runs Huey's consumer in this process (its queue: services/jobs/queue.py), first
queueing again every job a dead worker left behind. `start KIND --year 2024/25` records and
queues a job as the screens do; `retry ID` sends a failed or interrupted one again. Bad input
is one line on standard error and exit status 2.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from services.audit import acting_user
from services.jobs import KINDS, JobRefused, enqueue, recover_interrupted, retry
from services.jobs.queue import bind_app, describe, get_huey


def _refuse(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group(help="Background jobs: the worker, starting and retrying jobs.")
def jobs() -> None:
    pass


@jobs.command("worker")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 8))
@with_appcontext
def worker(workers: int) -> None:
    """Run the worker until stopped; a job stopped mid-way keeps its committed chunks and
    is taken up again by the next worker to start."""
    bind_app(current_app._get_current_object())  # type: ignore[attr-defined]
    huey = get_huey()
    again = recover_interrupted()
    click.echo(
        f"jobs worker: queue on {describe()}, {workers} worker(s); "
        f"{len(again)} interrupted job(s) queued again",
        err=True,
    )
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    consumer.run()


@jobs.command("start")
@click.argument("kind")
@click.option("--year", "year", required=True, help="Academic year, e.g. 2024/25.")
@click.option("--kind", "letter_kind", default=None, help="letters only: decision, seat, ...")
@click.option("--on", "on", default=None, help="allocation only: the date (YYYY-MM-DD).")
@with_appcontext
def start(kind: str, year: str, letter_kind: str | None, on: str | None) -> None:
    """Queue a job (letters, assessment, allocation); prints its id."""
    if kind not in KINDS:
        _refuse(f"KIND: use one of {', '.join(KINDS)}")
    parameters: dict[str, object] = {"year": year}
    if letter_kind:
        parameters["kind"] = letter_kind
    if on:
        parameters["on"] = on
    try:
        with acting_user("flask jobs start"):
            job = enqueue(kind, parameters)
    except JobRefused as error:
        _refuse(f"--{error}")
        return
    click.echo(f"job {job.id} queued ({KINDS[kind].label}, {year})")


@jobs.command("retry")
@click.argument("job_id", type=int)
@with_appcontext
def retry_command(job_id: int) -> None:
    """Queue a failed or interrupted job again; it resumes where its commits stopped."""
    try:
        retry(job_id)
    except JobRefused as error:
        _refuse(str(error))
    click.echo(f"job {job_id} queued again")
