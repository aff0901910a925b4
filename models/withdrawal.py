"""Withdrawing a concessionary seat (Appendix F) or an eligibility (A15, A12a), with notice."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Versioned, utcnow
from .concessionary import ConcessionarySeat
from .eligibility_decision import EligibilityDecision
from .enums import WithdrawalKind, enum_column
from .user import User


class Withdrawal(Versioned, Base):
    __tablename__ = "withdrawal"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'concessionary_seat' AND concessionary_seat_id IS NOT NULL "
            "AND decision_id IS NULL) OR "
            "(kind = 'eligibility' AND decision_id IS NOT NULL AND concessionary_seat_id IS NULL)",
            name="kind_has_target",
        ),
        CheckConstraint("effective_on >= notice_on", name="dates"),
        CheckConstraint("refund_amount >= 0", name="refund"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[WithdrawalKind] = mapped_column(enum_column(WithdrawalKind, "withdrawal_kind"))
    concessionary_seat_id: Mapped[int | None] = mapped_column(
        ForeignKey("concessionary_seat.id", ondelete="RESTRICT"), unique=True
    )
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("eligibility_decision.id", ondelete="RESTRICT"), unique=True
    )
    clause: Mapped[str] = mapped_column(String(20))  # Appendix F, A15, A12a
    reason: Mapped[str] = mapped_column(Text)
    notice_on: Mapped[date]
    effective_on: Mapped[date]
    refund_amount: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0.00"))
    family_told_of_appeal: Mapped[bool] = mapped_column(default=False)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The withdraw page's one-time token: a second submit of the same page frees nothing
    # (issue 18). Several rows share it when one request withdraws several seats.
    request_token: Mapped[str | None] = mapped_column(String(64), index=True)

    concessionary_seat: Mapped[ConcessionarySeat | None] = relationship()
    decision: Mapped[EligibilityDecision | None] = relationship()
    decided_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.kind.value} withdrawn from {self.effective_on:%d %b %Y} ({self.clause})"
