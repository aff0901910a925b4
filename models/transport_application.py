"""A family's application for home-to-school transport, holding the facts the rules need."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Numeric, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped, Versioned, trigram_index
from .enums import (
    ApplicationStatus,
    DistanceMethod,
    MedicalWho,
    PaymentPlan,
    Sessions,
    enum_column,
)
from .pupil import Pupil
from .route import Route
from .school import School
from .user import User

if TYPE_CHECKING:
    from .case_assignment import CaseAssignment
    from .eligibility_decision import EligibilityDecision


# Determinations only an officer (or supervisor) may record (A4c, A11, A12, A13, A8), on the
# form and by import alike; whoever records one is kept in determined_by.
DETERMINATION_FIELDS = (
    "route_unsuitable",
    "route_assessed_on",
    "exceptional_transport_need",
    "medical_accepted",
    "medical_until",
    "exceptional_accepted",
    "post19_need_determined",
    "determination_notes",
)


class TransportApplication(Timestamped, Versioned, Base):
    __tablename__ = "transport_application"
    __table_args__ = (
        CheckConstraint("distance_m IS NULL OR distance_m >= 0", name="distance"),
        CheckConstraint("full_time_hours IS NULL OR full_time_hours >= 0", name="hours"),
        CheckConstraint(
            "medical_who IS NOT NULL OR (medical_accepted IS NULL AND medical_until IS NULL)",
            name="medical_needs_grounds",
        ),
        Index("ix_transport_application_year_status", "academic_year", "status"),
        Index("ix_transport_application_pupil_year", "pupil_id", "academic_year"),
        # Home's B2 clock (services/queues.py) counts awaiting applications by year and date
        # received: a covering index reads only those (issue 14).
        Index(
            "ix_transport_application_status_year_received",
            "status",
            "academic_year",
            "received_on",
        ),
        trigram_index("transport_application", "reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Appendix C: the "TRA number" quoted in decision letters and appeals.
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupil.id", ondelete="RESTRICT"))
    academic_year: Mapped[str] = mapped_column(
        ForeignKey("academic_year.label", ondelete="RESTRICT")
    )
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="RESTRICT"), index=True)
    received_on: Mapped[date] = mapped_column(index=True)
    status: Mapped[ApplicationStatus] = mapped_column(
        enum_column(ApplicationStatus, "application_status"), default=ApplicationStatus.RECEIVED
    )
    # B2a: decide a valid application within 5 working days of receipt (the year's dated
    # figure); at busy periods (July-September) the guideline is dis-applied. Kept by
    # `services.years.refresh_decision_targets`, never typed.
    decision_target_on: Mapped[date | None] = mapped_column(index=True)
    decision_target_busy: Mapped[bool] = mapped_column(default=False, server_default=false())
    # B1j: how the family pays a post-16 contribution (A7, A8): in full, 3 or 6 instalments.
    payment_plan: Mapped[PaymentPlan] = mapped_column(
        enum_column(PaymentPlan, "payment_plan"),
        default=PaymentPlan.FULL,
        server_default=PaymentPlan.FULL.value,
    )

    # A3b: the shortest available route, measured by the eligibility team.
    distance_m: Mapped[int | None]
    distance_method: Mapped[DistanceMethod | None] = mapped_column(
        enum_column(DistanceMethod, "distance_method")
    )
    distance_measured_on: Mapped[date | None]
    # A12, Appendix D: a route within walking distance assessed unsuitable to walk.
    route_unsuitable: Mapped[bool] = mapped_column(default=False)
    route_assessed_on: Mapped[date | None]
    # A6, B1d: nearest school preferred on grounds of religion or belief, with a minister's letter.
    religion_or_belief: Mapped[bool] = mapped_column(default=False)
    # A4c: exceptional transport need determined by the council for a child with an EHCP.
    exceptional_transport_need: Mapped[bool] = mapped_column(default=False)
    # A13, B1e: medical grounds (the child's, or a parent's) and the officer's determination.
    medical_who: Mapped[MedicalWho | None] = mapped_column(enum_column(MedicalWho, "medical_who"))
    medical_accepted: Mapped[bool | None]
    medical_until: Mapped[date | None]
    # A11: exceptional circumstances claimed, and the officer's determination.
    exceptional_circumstances: Mapped[bool] = mapped_column(default=False)
    exceptional_accepted: Mapped[bool | None]
    # A2a: the school is named in the child's EHCP (an independent school so named is not
    # fee-paying for the family and is the suitable school for that child).
    school_named_in_ehcp: Mapped[bool] = mapped_column(default=False)
    # A22: another council's purchase order for a child in its care.
    purchase_order: Mapped[str | None] = mapped_column(String(60))
    # A7, A8, A16: the post-16 course.
    full_time_hours: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    higher_education: Mapped[bool] = mapped_column(default=False)
    apprenticeship: Mapped[bool] = mapped_column(default=False)
    repeat_or_non_progression: Mapped[bool] = mapped_column(default=False)
    programme_started_before_19: Mapped[bool] = mapped_column(default=True)
    post19_need_determined: Mapped[bool] = mapped_column(default=False)
    determination_notes: Mapped[str | None] = mapped_column(Text)
    determined_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    determined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # The contracted route an entitled pupil is carried on (Client Operations, A2b).
    route_id: Mapped[int | None] = mapped_column(
        ForeignKey("route.id", ondelete="RESTRICT"), index=True
    )
    route_sessions: Mapped[Sessions | None] = mapped_column(enum_column(Sessions, "sessions"))

    pupil: Mapped[Pupil] = relationship()
    school: Mapped[School] = relationship()
    route: Mapped[Route | None] = relationship()
    determined_by: Mapped[User | None] = relationship()
    decisions: Mapped[list[EligibilityDecision]] = relationship(
        back_populates="application",
        order_by="EligibilityDecision.decided_at.desc()",
        cascade="save-update, merge",
    )
    current_decision: Mapped[EligibilityDecision | None] = relationship(
        primaryjoin="and_(EligibilityDecision.application_id == TransportApplication.id, "
        "EligibilityDecision.superseded_at.is_(None))",
        viewonly=True,
        uselist=False,
    )

    # A12a, A15: an award superseded by a re-check still pending, in force until it is settled
    # (EligibilityDecision.is_standing); the lists say so beside the current decision.
    standing_award: Mapped[EligibilityDecision | None] = relationship(
        primaryjoin="and_(EligibilityDecision.application_id == TransportApplication.id, "
        "EligibilityDecision.is_standing)",
        viewonly=True,
        uselist=False,
    )

    # Read here; written as CaseAssignment rows (services/casework.py).
    assignment: Mapped[CaseAssignment | None] = relationship(viewonly=True, uselist=False)

    def __str__(self) -> str:
        return self.reference
