"""What a family owes (A9, A7, B1j), the instalments, and the money that moved."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import MONEY, Base, Timestamped, Versioned
from .concessionary import ConcessionarySeat
from .enums import ContributionKind, PaymentPlan, enum_column
from .pupil import Pupil
from .transport_application import TransportApplication
from .user import User


class Contribution(Timestamped, Base):
    __tablename__ = "contribution"
    __table_args__ = (
        CheckConstraint("annual_amount >= 0", name="annual_amount"),
        CheckConstraint("amount >= 0 AND amount <= annual_amount", name="amount"),
        CheckConstraint(
            "(kind = 'concessionary' AND concessionary_seat_id IS NOT NULL) OR "
            "(kind = 'post16' AND transport_application_id IS NOT NULL)",
            name="kind_has_source",
        ),
        UniqueConstraint("concessionary_seat_id"),
        UniqueConstraint("transport_application_id"),
        Index("ix_contribution_year_kind", "academic_year", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ContributionKind] = mapped_column(
        enum_column(ContributionKind, "contribution_kind")
    )
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupil.id", ondelete="RESTRICT"), index=True)
    academic_year: Mapped[str] = mapped_column(
        ForeignKey("academic_year.label", ondelete="RESTRICT")
    )
    concessionary_seat_id: Mapped[int | None] = mapped_column(
        ForeignKey("concessionary_seat.id", ondelete="RESTRICT")
    )
    transport_application_id: Mapped[int | None] = mapped_column(
        ForeignKey("transport_application.id", ondelete="RESTRICT")
    )
    annual_amount: Mapped[Decimal] = mapped_column(MONEY)
    # A9: reduced in proportion to the school days remaining when travel starts.
    amount: Mapped[Decimal] = mapped_column(MONEY)
    start_date: Mapped[date]
    plan: Mapped[PaymentPlan] = mapped_column(enum_column(PaymentPlan, "payment_plan"))

    pupil: Mapped[Pupil] = relationship()
    concessionary_seat: Mapped[ConcessionarySeat | None] = relationship()
    transport_application: Mapped[TransportApplication | None] = relationship()
    instalments: Mapped[list[Instalment]] = relationship(
        back_populates="contribution", cascade="all, delete-orphan", order_by="Instalment.number"
    )
    payments: Mapped[list[Payment]] = relationship(back_populates="contribution")
    refunds: Mapped[list[Refund]] = relationship(back_populates="contribution")

    def __str__(self) -> str:
        return f"{self.kind.value} {self.academic_year} £{self.amount}"


class Instalment(Base):
    __tablename__ = "instalment"
    __table_args__ = (
        UniqueConstraint("contribution_id", "number"),
        CheckConstraint("number >= 1", name="number"),
        CheckConstraint("amount >= 0", name="amount"),
        Index("ix_instalment_due", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contribution.id", ondelete="CASCADE"))
    number: Mapped[int]
    due_on: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(MONEY)
    # Not owed any more: the decision that raised it was superseded or ended, or the seat or
    # eligibility was withdrawn (RULES.md v2: "instalments not yet paid are cancelled").
    cancelled_on: Mapped[date | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(200))

    contribution: Mapped[Contribution] = relationship(back_populates="instalments")
    payments: Mapped[list[Payment]] = relationship(back_populates="instalment")

    def __str__(self) -> str:
        cancelled = f" (cancelled {self.cancelled_on:%d %b %Y})" if self.cancelled_on else ""
        return f"#{self.number} £{self.amount} due {self.due_on:%d %b %Y}{cancelled}"


class Payment(Timestamped, Base):
    __tablename__ = "payment"
    __table_args__ = (CheckConstraint("amount > 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(
        ForeignKey("contribution.id", ondelete="RESTRICT"), index=True
    )
    instalment_id: Mapped[int | None] = mapped_column(
        ForeignKey("instalment.id", ondelete="RESTRICT"), index=True
    )
    received_on: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(MONEY)
    method: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(60))
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )

    contribution: Mapped[Contribution] = relationship(back_populates="payments")
    instalment: Mapped[Instalment | None] = relationship(back_populates="payments")
    recorded_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"£{self.amount} on {self.received_on:%d %b %Y}"


class Refund(Timestamped, Versioned, Base):
    __tablename__ = "refund"
    __table_args__ = (CheckConstraint("amount > 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(
        ForeignKey("contribution.id", ondelete="RESTRICT"), index=True
    )
    withdrawal_id: Mapped[int | None] = mapped_column(
        ForeignKey("withdrawal.id", ondelete="RESTRICT")
    )
    amount: Mapped[Decimal] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date]
    paid_on: Mapped[date | None]

    contribution: Mapped[Contribution] = relationship(back_populates="refunds")

    def __str__(self) -> str:
        return f"£{self.amount} refund"
