"""Year end: the year's seats and open concessionary applications lapse (A9: seats are for one
academic year).
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from sqlalchemy import (
    select,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from models import (
    AcademicYear,
    db,
)
from models.enums import (
    ConcessionaryStatus,
    SeatStatus,
)
from services.seats.common import CA, CS, SeatError
from services.transaction import transaction


def lapse(year: str, *, on: date, session: Session | None = None) -> dict[str, int]:
    """Year end (Appendix F: "Re-application must be made annually"): every active seat of a
    finished year lapses, and so does every application still allocated, pending or waiting.
    Refused and withdrawn ones keep their outcome. Running it twice changes nothing more."""
    s = session or db.session
    row = s.scalar(select(AcademicYear).where(AcademicYear.label == year))
    if row is None:
        raise SeatError(f"There is no academic year {year}.")
    if on <= row.ends:
        raise SeatError(
            f"{year} has not finished (it ends {row.ends:%d %B %Y}); seats lapse only after "
            "the end of the academic year (Appendix F)."
        )

    def _count(statement: Any) -> int:
        """Rows an UPDATE changed (a DML statement's result is a CursorResult)."""
        return int(cast(CursorResult[Any], s.execute(statement)).rowcount)

    def work() -> dict[str, int]:
        in_year = select(CA.id).where(CA.academic_year == year).scalar_subquery()
        seats = _count(
            update(CS)
            .where(CS.status == SeatStatus.ACTIVE, CS.application_id.in_(in_year))
            .values(status=SeatStatus.LAPSED)
            .execution_options(synchronize_session=False)
        )
        apps = _count(
            update(CA)
            .where(
                CA.academic_year == year,
                CA.status.in_(
                    [
                        ConcessionaryStatus.ALLOCATED,
                        ConcessionaryStatus.PENDING,
                        ConcessionaryStatus.WAITING,
                    ]
                ),
            )
            .values(status=ConcessionaryStatus.LAPSED, waitlist_position=None)
            .execution_options(synchronize_session=False)
        )
        return {"seats": seats, "applications": apps}

    return transaction(s, work)
