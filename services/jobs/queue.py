"""The job queue: Huey, on SQLite by default and on Redis in production.

Why Huey: it is one small pure-Python package with a SQLite storage, so the README's one
command (`./scripts/run-panel.sh`, SQLite, nothing else installed) runs a real queue and a
real worker; the same code runs on Redis (Debian's redis-server, which the sign-in rate limits
already use in production) by setting JOB_QUEUE_URL or REDIS_URL. Procrastinate or a
PostgreSQL queue would leave the SQLite default without a queue at all.

The queue carries only a job's id (no personal data in the queue's storage).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab

import config

from .schedule import every_minutes

NAME = "transport-jobs"
_lock = threading.Lock()
_hueys: dict[str, Huey] = {}
_tasks: dict[str, Any] = {}


def queue_url() -> str:
    """JOB_QUEUE_URL, else REDIS_URL, else a SQLite file (JOB_QUEUE_FILE or instance/jobs.db)."""
    url = os.environ.get("JOB_QUEUE_URL") or os.environ.get("REDIS_URL")
    if url:
        return url
    path = os.environ.get("JOB_QUEUE_FILE")
    if not path:
        config.INSTANCE.mkdir(exist_ok=True)
        path = str(config.INSTANCE / "jobs.db")
    return f"sqlite:///{path}"


def describe(url: str | None = None) -> str:
    url = url or queue_url()
    return "Redis" if url.startswith(("redis://", "rediss://", "unix://")) else "SQLite file"


def _make(url: str) -> Huey:
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(NAME, url=url, results=False)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(NAME, filename=str(path), results=False)
        if path.exists():
            path.chmod(0o600)
        return huey
    raise ValueError("JOB_QUEUE_URL must be redis://, rediss://, unix:// or sqlite:///")


def get_huey(url: str | None = None) -> Huey:
    """The queue for the URL, with the one task (run a job by id) registered on it."""
    url = url or queue_url()
    with _lock:
        if url not in _hueys:
            huey = _make(url)
            _tasks[url] = huey.task(name="run_job")(_run_job_task)
            minutes = every_minutes()
            if minutes:
                huey.periodic_task(crontab(minute=f"*/{minutes}"), name="letters_owed")(
                    _letters_owed_task
                )
            _hueys[url] = huey
        return _hueys[url]


def send(job_id: int) -> None:
    url = queue_url()
    get_huey(url)
    _tasks[url](job_id)


_app: Any = None


def bind_app(app: Any) -> None:
    """The worker's Flask app (its database and settings), for the tasks' app context."""
    global _app
    _app = app


def _worker_app() -> Any:
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def _run_job_task(job_id: int) -> None:
    from .api import run_job

    with _worker_app().app_context():
        run_job(job_id)


def _letters_owed_task() -> None:
    from .schedule import queue_letters_owed

    with _worker_app().app_context():
        queue_letters_owed()
