"""The record of import runs, and the one definition of an import "with problems".

A run has problems when the file was refused (any error: nothing was imported) and no later
run of the same kind has imported cleanly since: a refused list someone still has to put right.
The home page's count and the import runs list's filter both apply `with_problems`.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists
from sqlalchemy.orm import Session, aliased

from models import ImportRun

VIA = ("check", "import", "command")


def record(
    session: Session,
    *,
    kind: str,
    filename: str,
    via: str,
    rows_read: int,
    error_count: int,
    committed: bool,
    user_id: int | None,
    username: str,
) -> ImportRun:
    """Add the run's record (the caller commits it, in its own transaction: a refused import
    has rolled back its rows, not this)."""
    if via not in VIA:
        raise ValueError(f"via: expected one of {', '.join(VIA)}, got {via!r}")
    run = ImportRun(
        kind=kind[:40],
        filename=filename[:120],
        via=via,
        rows_read=rows_read,
        error_count=error_count,
        committed=committed,
        user_id=user_id,
        username=username[:60],
    )
    session.add(run)
    return run


def with_problems() -> ColumnElement[bool]:
    """Refused runs that no later committed run of the same kind has put right."""
    later = aliased(ImportRun)
    put_right = exists().where(
        later.kind == ImportRun.kind,
        later.committed.is_(True),
        later.error_count == 0,
        later.ran_at > ImportRun.ran_at,
    )
    return and_(ImportRun.error_count > 0, ~put_right)
