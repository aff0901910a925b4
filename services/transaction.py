"""The one all-or-nothing helper: a unit of work commits whole or not at all."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def transaction(session: Session, work: Any) -> Any:
    """Run `work` as one all-or-nothing transaction."""
    try:
        result = work()
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise
