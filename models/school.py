"""Schools and colleges: the destinations transport may be to."""

from __future__ import annotations

from datetime import date, time
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped
from .enums import EstablishmentType, Phase, SixthForm, enum_column

if TYPE_CHECKING:
    from .school_gate import SchoolGate

# Phases that are post-16 provision in themselves: sixth-form colleges, 16-19 academies and
# sixth-form centres (SIXTH_FORM), and further education colleges (FE_COLLEGE).
POST16_PHASES = frozenset({Phase.SIXTH_FORM, Phase.FE_COLLEGE})


def has_post16_provision(phase: Phase, sixth_form: SixthForm) -> bool:
    """Whether a school can be a post-16 student's "nearest ... school with a sixth form
    provision, or their nearest ... college" (A7b).

    A college is post-16 provision whatever GIAS's sixth-form field says (GIAS gives colleges
    "Not applicable"). A school is ruled out only when GIAS says it does not have a sixth form:
    "Not applicable" (special schools teaching to 19 carry it) and "Not recorded" say nothing,
    so the statutory age range alone decides for them, as it did before the field was kept.
    """
    return phase in POST16_PHASES or sixth_form is not SixthForm.DOES_NOT_HAVE


class School(Timestamped, Base):
    __tablename__ = "school"
    __table_args__ = (
        CheckConstraint("urn > 0 AND urn < 100000000", name="urn_range"),
        CheckConstraint("statutory_low_age IS NULL OR statutory_low_age >= 0", name="low_age"),
        CheckConstraint(
            "statutory_high_age IS NULL OR statutory_low_age IS NULL "
            "OR statutory_high_age >= statutory_low_age",
            name="age_range",
        ),
        CheckConstraint("easting IS NULL OR easting >= 0", name="easting"),
        CheckConstraint("northing IS NULL OR northing >= 0", name="northing"),
        CheckConstraint("main_site_id IS NULL OR main_site_id <> id", name="not_own_site"),
        Index("ix_school_phase_open", "phase", "is_open"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    urn: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    phase: Mapped[Phase] = mapped_column(enum_column(Phase, "school_phase"))
    establishment_type: Mapped[EstablishmentType] = mapped_column(
        enum_column(EstablishmentType, "establishment_type")
    )
    selective: Mapped[bool] = mapped_column(default=False)
    religious_character: Mapped[str | None] = mapped_column(String(100))
    statutory_low_age: Mapped[int | None]
    statutory_high_age: Mapped[int | None]
    # A7b: "their nearest or designated school with a sixth form provision", as GIAS's
    # OfficialSixthForm records it.
    sixth_form: Mapped[SixthForm] = mapped_column(
        enum_column(SixthForm, "sixth_form"), default=SixthForm.NOT_RECORDED
    )
    street: Mapped[str | None] = mapped_column(String(200))
    town: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(8), index=True)
    easting: Mapped[int | None]
    northing: Mapped[int | None]
    la_code: Mapped[int | None]
    # A3f, A4f: transport goes to the main site only.
    main_site_id: Mapped[int | None] = mapped_column(ForeignKey("school.id", ondelete="RESTRICT"))
    day_starts: Mapped[time | None]
    day_ends: Mapped[time | None]
    follows_council_term_dates: Mapped[bool] = mapped_column(default=True)
    is_open: Mapped[bool] = mapped_column(default=True)
    close_date: Mapped[date | None]

    main_site: Mapped[School | None] = relationship(
        remote_side="School.id", back_populates="satellites"
    )
    satellites: Mapped[list[School]] = relationship(back_populates="main_site")
    # A4b: "the nearest accessible school gate"; none recorded means the school's location.
    gates: Mapped[list[SchoolGate]] = relationship(
        back_populates="school", cascade="all, delete-orphan", order_by="SchoolGate.id"
    )

    @property
    def has_location(self) -> bool:
        """RULES.md v2: a school without a location is left out of the nearest-school
        rankings (services/schools.py) and shown as unrankable until it has one."""
        return self.easting is not None and self.northing is not None

    @property
    def is_independent(self) -> bool:
        return self.establishment_type == EstablishmentType.INDEPENDENT

    def __str__(self) -> str:
        return f"{self.name} ({self.urn})"
