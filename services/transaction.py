"""The one all-or-nothing helper: a unit of work commits whole or not at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")


def transaction(session: Session, work: Callable[[], T]) -> T:
    """Run `work` as one all-or-nothing transaction; its result is the caller's."""
    try:
        result = work()
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise
