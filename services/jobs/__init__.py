"""Background jobs: long batches run by a worker, with progress on the screen that started them.

The queue is Huey (`queue.py`): SqliteHuey in a file beside the SQLite database by default, so
`./scripts/run-panel.sh` needs nothing more, and Redis (Debian's redis-server) when
JOB_QUEUE_URL or REDIS_URL is set, for production behind gunicorn. The queue only carries a
`Job` id; what was asked, who asked, how far it got and what it did live in the `job` table
(models/job.py), so a job whose worker died is retried from its row.

Every kind's work is chunked, each chunk committed with its rows, and idempotent: a worker
killed mid-batch leaves whole chunks behind, and the retry does only the rest (nothing lost,
nothing duplicated; tests/letters/test_jobs.py kills a real worker to show it).

Other features enqueue through `enqueue` after registering their kind with `register`
(`kinds.py` registers letters, assessment and allocation).
"""

from . import kinds as _kinds  # noqa: E402,F401  (registers the panel's kinds)
from .api import (
    STALE_AFTER,
    JobRefused,
    Progress,
    enqueue,
    is_stale,
    recover_interrupted,
    retry,
    run_job,
)
from .registry import KINDS, JobKind, register

__all__ = [
    "KINDS",
    "STALE_AFTER",
    "JobKind",
    "JobRefused",
    "Progress",
    "enqueue",
    "is_stale",
    "recover_interrupted",
    "register",
    "retry",
    "run_job",
]
