"""An eligibility decision: kept forever, superseded rather than overwritten."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ColumnElement, DateTime, ForeignKey, Index, String, Text, and_, text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base
from .enums import Charge, Outcome, SignOff, enum_column
from .user import User

if TYPE_CHECKING:
    from .transport_application import TransportApplication


PENDING_RECHECK_WORDS = (
    "In force pending the re-check: this award still stands, with its seat and any "
    "contribution, until a final decision is made. If that decision refuses, transport is "
    "withdrawn with notice and a right of appeal (A12a, A15)."
)


class EligibilityDecision(Base):
    __tablename__ = "eligibility_decision"
    __table_args__ = (
        # One current decision per application; earlier ones stay, with superseded_at set.
        Index(
            "uq_eligibility_decision_current",
            "application_id",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
        Index("ix_eligibility_decision_outcome_basis", "outcome", "basis"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("transport_application.id", ondelete="RESTRICT"), index=True
    )
    outcome: Mapped[Outcome] = mapped_column(enum_column(Outcome, "outcome"))
    basis: Mapped[str | None] = mapped_column(String(10))
    clauses: Mapped[list[str]] = mapped_column(JSON)
    charge: Mapped[Charge | None] = mapped_column(enum_column(Charge, "charge"))
    valid_until: Mapped[date | None]
    review_date: Mapped[date | None]
    reasons: Mapped[list[str]] = mapped_column(JSON)
    # The exact facts the rules were given, so the decision can be explained and re-run.
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    facts_hash: Mapped[str] = mapped_column(String(64))
    parameters_year: Mapped[str] = mapped_column(String(7))
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A2: a new application overrides any current eligibility; A15/A12a withdrawals end one too.
    ended_on: Mapped[date | None]
    end_reason: Mapped[str | None] = mapped_column(Text)
    # A12a, A15: an eligible award superseded by a re-check still pending (refer or measure)
    # stays in force, carrying the pupil, until a final decision (services.assessment).
    stands_pending_recheck: Mapped[bool] = mapped_column(default=False)
    # Officers sign off decisions (DOMAIN.md): an assistant's refusal, or an award resting on an
    # officer's judgement, is awaiting until an officer signs it off or sends it back, and no
    # letter goes before (services/sign_off.py). Who did either, and when, is kept here.
    sign_off: Mapped[SignOff | None] = mapped_column(enum_column(SignOff, "sign_off"), index=True)
    # No ON DELETE clause (NO ACTION refuses the delete just the same): SQLite cannot reflect
    # one on a column added by ALTER TABLE, which migration 0027 must use (its comment).
    sign_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    sign_off_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sign_off_note: Mapped[str | None] = mapped_column(Text)

    application: Mapped[TransportApplication] = relationship(back_populates="decisions")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    sign_off_by: Mapped[User | None] = relationship(foreign_keys=[sign_off_by_id])

    @hybrid_property
    def is_standing(self) -> bool:
        """An award in force though superseded, until a final decision settles it (a re-check
        pending, or a refusal awaiting sign-off) and not yet ended (A12a, A15)."""
        return self.stands_pending_recheck and self.ended_on is None

    @is_standing.inplace.expression
    @classmethod
    def _is_standing_expression(cls) -> ColumnElement[bool]:
        return and_(cls.stands_pending_recheck.is_(True), cls.ended_on.is_(None))

    @property
    def pending_recheck_words(self) -> str | None:
        """What the application and case pages say of an award that stands pending a re-check
        (A12a "removed with reasonable notice", A15 "at one term's notice": never silently)."""
        return PENDING_RECHECK_WORDS if self.is_standing else None

    def __str__(self) -> str:
        basis = f" ({self.basis})" if self.basis else ""
        return f"{self.outcome.value}{basis}"
