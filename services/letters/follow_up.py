"""The letters a step calls for, queued as soon as its transaction commits.

A withdrawal, an appeal recorded or decided, an allocation or waiting-list offer, an assessment:
each names the records it changed (`Changed`) and, once its transaction has committed, calls
`queue_letters`, which starts a letters job scoped to those records. With a worker running the
family's letter exists within seconds, not at the worker's next periodic pass. The job makes
only the letters still owed about those records (services/letters/owed.py decides what is
owed), so a second run makes none; the periodic pass (services/jobs/schedule.py) stays the
safety net for a step that names nothing and for a queue that was down.

LETTERS_AT_ONCE=0 turns this off (the periodic pass then makes the letters); a caller that
makes the year's letters itself (the whole-year jobs) or must make none (the demo's history,
the benchmark) runs its steps inside `letters_left_to_caller()`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from models import db
from models.enums import LetterKind

from .owed import Due, letters_owed

log = logging.getLogger(__name__)

# The record a letter of each kind is about: what `Due.record_id` counts (owed.LOADERS).
RECORDS: dict[LetterKind, str] = {
    LetterKind.DECISION_ELIGIBLE: "decision",
    LetterKind.DECISION_NOT_ELIGIBLE: "decision",
    LetterKind.EVIDENCE_REQUEST: "decision",
    LetterKind.SEAT_OFFER: "seat",
    LetterKind.SEAT_WAITING_LIST: "seat_application",
    LetterKind.SEAT_REFUSED: "seat_application",
    LetterKind.SEAT_WITHDRAWAL: "withdrawal",
    LetterKind.ELIGIBILITY_WITHDRAWAL: "withdrawal",
    LetterKind.APPEAL_ACKNOWLEDGEMENT: "appeal",
    LetterKind.APPEAL_STAGE_ONE_OUTCOME: "appeal",
    LetterKind.APPEAL_PANEL_DATE: "appeal",
    LetterKind.APPEAL_PANEL_OUTCOME: "appeal",
    LetterKind.PAYMENT_REMINDER: "instalment",
}
RECORD_NAMES = frozenset(RECORDS.values())
Scope = Mapping[str, Collection[int]]  # record name -> ids

_left_to_caller: ContextVar[bool] = ContextVar("letters_left_to_caller", default=False)


@dataclass
class Changed:
    """The records a step changed, by academic year: what its letters may be about."""

    by_year: dict[str, dict[str, set[int]]] = field(default_factory=dict)

    def add(self, year: str, record: str, ids: Iterable[int]) -> None:
        if record not in RECORD_NAMES:
            raise ValueError(f"no letter is about a {record!r}")
        wanted = set(ids)
        if wanted:
            self.by_year.setdefault(year, {}).setdefault(record, set()).update(wanted)

    def scopes(self) -> dict[str, dict[str, list[int]]]:
        """Each year's scope as a letters job's parameter (JSON: sorted lists)."""
        return {
            year: {record: sorted(ids) for record, ids in sorted(records.items())}
            for year, records in sorted(self.by_year.items())
        }


def kinds_in(scope: Scope) -> tuple[LetterKind, ...]:
    """The letter kinds that can be about the scope's records."""
    return tuple(kind for kind, record in RECORDS.items() if scope.get(record))


def in_scope(scope: Scope) -> Callable[[Due], bool]:
    """Whether a letter owed is about one of the scope's records."""
    wanted = {record: set(ids) for record, ids in scope.items()}
    return lambda due: due.record_id in wanted.get(RECORDS[due.kind], ())


@contextmanager
def letters_left_to_caller() -> Iterator[None]:
    """Steps inside the block queue no letters job: the caller makes the letters itself."""
    token = _left_to_caller.set(True)
    try:
        yield
    finally:
        _left_to_caller.reset(token)


def _at_once() -> bool:
    return os.environ.get("LETTERS_AT_ONCE", "1") != "0" and not _left_to_caller.get()


def queue_letters(changed: Changed) -> list[int]:
    """After a step has committed: a letters job for each year whose changed records are owed
    a letter (or that holds a queued letter no longer called for); returns the job ids.

    The step is done whatever happens here, so a job that cannot be recorded is logged (its
    cause's type only: no personal data) and left to the periodic pass.
    """
    if not _at_once() or not changed.by_year:
        return []
    from services.jobs import JobRefused, enqueue  # services.jobs' kinds import this module

    started: list[int] = []
    for year, scope in changed.scopes().items():
        try:
            owed, stale = letters_owed(db.session, year, kinds_in(scope), only=in_scope(scope))
            db.session.rollback()
            if owed or stale:
                started.append(enqueue("letters", {"year": year, "only": scope}).id)
        except (JobRefused, SQLAlchemyError) as error:
            db.session.rollback()
            log.warning("letters: no job queued for %s (%s)", year, type(error).__name__)
    return started
