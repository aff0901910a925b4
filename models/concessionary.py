"""Concessionary (spare) seats: applications and the seats allocated (A9, Appendix F)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped, Versioned, trigram_index
from .enums import ConcessionaryStatus, PaymentPlan, SeatStatus, Sessions, enum_column
from .pupil import Pupil
from .route import Route
from .school import School


class ConcessionaryApplication(Timestamped, Versioned, Base):
    """Appendix F: re-application is annual, so an application belongs to one academic year."""

    __tablename__ = "concessionary_application"
    __table_args__ = (
        UniqueConstraint("pupil_id", "academic_year", "route_id"),
        CheckConstraint(
            "waitlist_position IS NULL OR waitlist_position > 0", name="waitlist_position"
        ),
        CheckConstraint(
            "(status = 'waiting') = (waitlist_position IS NOT NULL)", name="waiting_has_position"
        ),
        CheckConstraint(
            "status <> 'refused' OR refusal_reason IS NOT NULL", name="refused_has_reason"
        ),
        Index("ix_concessionary_application_route_status", "route_id", "status"),
        Index("ix_concessionary_application_year_status", "academic_year", "status"),
        trigram_index("concessionary_application", "reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupil.id", ondelete="RESTRICT"), index=True)
    academic_year: Mapped[str] = mapped_column(
        ForeignKey("academic_year.label", ondelete="RESTRICT")
    )
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="RESTRICT"), index=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("route.id", ondelete="RESTRICT"))
    sessions: Mapped[Sessions] = mapped_column(enum_column(Sessions, "sessions"))
    received_on: Mapped[date] = mapped_column(index=True)  # the list's default sort
    payment_plan: Mapped[PaymentPlan] = mapped_column(
        enum_column(PaymentPlan, "payment_plan"), default=PaymentPlan.FULL
    )
    status: Mapped[ConcessionaryStatus] = mapped_column(
        enum_column(ConcessionaryStatus, "concessionary_status"),
        default=ConcessionaryStatus.PENDING,
    )
    waitlist_position: Mapped[int | None]
    refusal_reason: Mapped[str | None] = mapped_column(String(200))

    pupil: Mapped[Pupil] = relationship()
    school: Mapped[School] = relationship()
    route: Mapped[Route] = relationship()
    seats: Mapped[list[ConcessionarySeat]] = relationship(back_populates="application")

    def __str__(self) -> str:
        return self.reference


class ConcessionarySeat(Timestamped, Base):
    __tablename__ = "concessionary_seat"
    __table_args__ = (
        # One active seat per application at a time.
        Index(
            "uq_concessionary_seat_active",
            "application_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        CheckConstraint("end_date >= start_date", name="dates"),
        Index("ix_concessionary_seat_route_status", "route_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("concessionary_application.id", ondelete="RESTRICT")
    )
    route_id: Mapped[int] = mapped_column(ForeignKey("route.id", ondelete="RESTRICT"))
    sessions: Mapped[Sessions] = mapped_column(enum_column(Sessions, "sessions"))
    start_date: Mapped[date]
    # Appendix F: offered for the academic year; lapses at its end.
    end_date: Mapped[date]
    status: Mapped[SeatStatus] = mapped_column(
        enum_column(SeatStatus, "seat_status"), default=SeatStatus.ACTIVE
    )

    application: Mapped[ConcessionaryApplication] = relationship(back_populates="seats")
    route: Mapped[Route] = relationship()

    def __str__(self) -> str:
        return f"{self.route} {self.sessions.value} from {self.start_date:%d %b %Y}"
