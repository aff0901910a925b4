"""A school's request to differ from the council's term dates or day times (A23, Appendix H)."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped, Versioned
from .enums import VariationStatus, enum_column
from .school import School


class TermDateVariation(Timestamped, Versioned, Base):
    __tablename__ = "term_date_variation"
    __table_args__ = (
        CheckConstraint(
            "status <> 'refused' OR refusal_reason IS NOT NULL", name="refused_has_reason"
        ),
        CheckConstraint(
            "last_day IS NULL OR first_day IS NULL OR last_day >= first_day", name="dates"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="RESTRICT"), index=True)
    academic_year: Mapped[str] = mapped_column(
        ForeignKey("academic_year.label", ondelete="RESTRICT")
    )
    notice_on: Mapped[date]  # when the council was told
    first_day: Mapped[date | None]
    last_day: Mapped[date | None]
    day_starts: Mapped[time | None]
    day_ends: Mapped[time | None]
    details: Mapped[str] = mapped_column(Text)
    status: Mapped[VariationStatus] = mapped_column(
        enum_column(VariationStatus, "variation_status"), default=VariationStatus.REQUESTED
    )
    refusal_reason: Mapped[str | None] = mapped_column(String(200))
    # Appendix H: a year's notice, i.e. by 31 August for the following September.
    short_notice: Mapped[bool] = mapped_column(default=False)

    school: Mapped[School] = relationship()

    def __str__(self) -> str:
        return f"{self.school} {self.academic_year}"
