"""Pupils and the per-year evidence about them the rules need."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .area import Parish
from .base import Base, Timestamped, trigram_index
from .enums import CareBy, Placement, enum_column

if TYPE_CHECKING:
    from .contact import Contact


class Pupil(Timestamped, Base):
    __tablename__ = "pupil"
    __table_args__ = (
        CheckConstraint("easting IS NULL OR easting >= 0", name="easting"),
        CheckConstraint("northing IS NULL OR northing >= 0", name="northing"),
        CheckConstraint(
            "year_group_override IS NULL OR year_group_override BETWEEN -1 AND 20",
            name="year_group",
        ),
        CheckConstraint("(care_by IS NULL) = (care_placement IS NULL)", name="care_complete"),
        Index("ix_pupil_name", "last_name", "first_name"),
        *(trigram_index("pupil", c) for c in ("reference", "first_name", "last_name", "postcode")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    date_of_birth: Mapped[date] = mapped_column(index=True)
    year_group_override: Mapped[int | None]  # a child taught out of cohort
    address: Mapped[str] = mapped_column(String(200))
    town: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str] = mapped_column(String(8), index=True)
    parish_id: Mapped[int | None] = mapped_column(
        ForeignKey("parish.id", ondelete="RESTRICT"), index=True
    )
    easting: Mapped[int | None]
    northing: Mapped[int | None]
    lives_in_county: Mapped[bool] = mapped_column(default=True)
    send: Mapped[bool] = mapped_column(default=False)
    ehcp: Mapped[bool] = mapped_column(default=False)
    care_by: Mapped[CareBy | None] = mapped_column(enum_column(CareBy, "care_by"))
    care_placement: Mapped[Placement | None] = mapped_column(enum_column(Placement, "placement"))
    care_home_la: Mapped[str | None] = mapped_column(String(120))  # A22: the placing council
    # When the pupil's personal data was anonymised (services/anonymise.py, UK GDPR Art. 17
    # and the retention rule): set once, never cleared.
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A21 "Post 16 students, in or leaving care, will not be subject to a charge": a student
    # who has left this or another council's care.
    care_leaver: Mapped[bool] = mapped_column(default=False)

    parish: Mapped[Parish | None] = relationship()
    low_income: Mapped[list[LowIncomeEvidence]] = relationship(
        back_populates="pupil", cascade="all, delete-orphan"
    )
    # Who the council writes to (B1i); ordered so the first with parental responsibility
    # is the addressee of every letter.
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="pupil", cascade="all, delete-orphan", order_by="Contact.id"
    )

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def __str__(self) -> str:
        return f"{self.name} ({self.reference})"


class LowIncomeEvidence(Timestamped, Base):
    """A5c: low-income status is evidenced each academic year."""

    __tablename__ = "low_income_evidence"
    __table_args__ = (UniqueConstraint("pupil_id", "academic_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupil.id", ondelete="CASCADE"))
    academic_year: Mapped[str] = mapped_column(
        ForeignKey("academic_year.label", ondelete="RESTRICT"), index=True
    )
    evidence: Mapped[str] = mapped_column(String(120))  # e.g. free school meals, Universal Credit
    verified_on: Mapped[date]

    pupil: Mapped[Pupil] = relationship(back_populates="low_income")

    def __str__(self) -> str:
        return f"{self.academic_year}: {self.evidence}"
