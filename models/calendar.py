"""The academic-year calendar: terms and closures give the operational days (Appendix H)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped, Versioned


class AcademicYear(Timestamped, Versioned, Base):
    """One row per year ("2024/25"); casework rows point at its label."""

    __tablename__ = "academic_year"
    __table_args__ = (
        CheckConstraint("ends > starts", name="dates"),
        CheckConstraint("label LIKE '____/__'", name="label_format"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(7), unique=True)
    starts: Mapped[date]
    ends: Mapped[date]

    terms: Mapped[list[Term]] = relationship(
        back_populates="academic_year", cascade="all, delete-orphan", order_by="Term.starts"
    )
    closures: Mapped[list[Closure]] = relationship(
        back_populates="academic_year", cascade="all, delete-orphan", order_by="Closure.day"
    )

    def __str__(self) -> str:
        return self.label


class Term(Base):
    __tablename__ = "term"
    __table_args__ = (
        CheckConstraint("ends >= starts", name="dates"),
        UniqueConstraint("academic_year_id", "starts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    academic_year_id: Mapped[int] = mapped_column(
        ForeignKey("academic_year.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(60))
    starts: Mapped[date]
    ends: Mapped[date]

    academic_year: Mapped[AcademicYear] = relationship(back_populates="terms")

    def __str__(self) -> str:
        return f"{self.name} {self.starts:%d %b %Y}–{self.ends:%d %b %Y}"


class Closure(Base):
    """A weekday inside a term with no transport: INSET day, bank holiday, other closure."""

    __tablename__ = "closure"
    __table_args__ = (UniqueConstraint("academic_year_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    academic_year_id: Mapped[int] = mapped_column(
        ForeignKey("academic_year.id", ondelete="CASCADE")
    )
    day: Mapped[date]
    reason: Mapped[str] = mapped_column(String(120))

    academic_year: Mapped[AcademicYear] = relationship(back_populates="closures")

    def __str__(self) -> str:
        return f"{self.day:%d %b %Y} ({self.reason})"
