"""Appeals against refusals: stage one review and stage two panel, with Appendix C deadlines."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped
from .eligibility_decision import EligibilityDecision
from .enums import AppealOutcome, AppealStage, enum_column
from .user import User


class Appeal(Timestamped, Base):
    __tablename__ = "appeal"
    __table_args__ = (
        UniqueConstraint("decision_id", "stage"),
        CheckConstraint("decided_on IS NULL OR decided_on >= received_on", name="dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(
        ForeignKey("eligibility_decision.id", ondelete="RESTRICT"), index=True
    )
    stage: Mapped[AppealStage] = mapped_column(enum_column(AppealStage, "appeal_stage"))
    received_on: Mapped[date]
    # Appendix C deadlines, worked out from the year's figures (services/appeals.py).
    request_deadline: Mapped[date]
    decision_due: Mapped[date]
    panel_not_before: Mapped[date | None]
    grounds: Mapped[str] = mapped_column(Text)
    outcome: Mapped[AppealOutcome] = mapped_column(
        enum_column(AppealOutcome, "appeal_outcome"), default=AppealOutcome.PENDING
    )
    decided_on: Mapped[date | None]
    # Stage one must be reviewed by a senior officer who did not make the original decision.
    reviewer_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    outcome_notes: Mapped[str | None] = mapped_column(Text)

    decision: Mapped[EligibilityDecision] = relationship()
    reviewer: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.stage.value} appeal on decision {self.decision_id}"
