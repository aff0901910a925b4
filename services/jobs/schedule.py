"""Letters owed, made automatically: the worker looks every few minutes (LETTERS_EVERY_MINUTES,
10 by default, 0 to turn it off) and queues a letters job for each open academic year whose
stored state calls for a letter not yet made, or holds a queued letter no longer called for.

Each step that calls for a letter queues its own letters job as it commits
(services/letters/follow_up.py), and the whole-year jobs make their letters as they finish
(services/jobs/kinds.py); this pass is the safety net for a step made while the queue was
down or by something that names no records, and the one way an instalment's passing its due
date (B1j) gets its reminder. Making letters is idempotent, so a look that finds nothing
owed queues nothing.
"""

from __future__ import annotations

import os
from datetime import timedelta

from sqlalchemy import select

from models import AcademicYear, Job, JobStatus, db
from services.audit import acting_user

# Years open for letters: from this far before a year starts to this far after it ends
# (applications for September are decided in the summer; appeals run on after July).
BEFORE_START = timedelta(days=183)
AFTER_END = timedelta(days=92)
ACTOR = "scheduled letters"


def every_minutes() -> int:
    return max(0, int(os.environ.get("LETTERS_EVERY_MINUTES") or 10))


def open_years() -> list[str]:
    from services.letters.owed import today_in_england

    today = today_in_england()
    rows = db.session.execute(
        select(AcademicYear.label, AcademicYear.starts, AcademicYear.ends).order_by(
            AcademicYear.starts
        )
    )
    return [
        label for label, starts, ends in rows if starts - BEFORE_START <= today <= ends + AFTER_END
    ]


def queue_letters_owed() -> list[int]:
    """Queue a letters job for each open year with letters owed; returns the new job ids."""
    from services.letters.kinds import kinds_of
    from services.letters.owed import letters_owed

    from .api import enqueue

    started: list[int] = []
    for year in open_years():
        busy = db.session.scalar(
            select(Job.id).where(
                Job.kind == "letters",
                Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
                Job.parameters["year"].as_string() == year,
            )
        )
        if busy is not None:
            continue
        owed, stale = letters_owed(db.session, year, kinds_of(None))
        db.session.rollback()
        if owed or stale:
            with acting_user(ACTOR):
                started.append(enqueue("letters", {"year": year}).id)
    return started
