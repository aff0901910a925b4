"""Retention: how long a pupil's personal data is kept, and what the trail redacted (issue 16).

`RetentionSetting` is a dated setting: the row for an academic year (or the latest earlier
one, else services.retention's dated default) says how many years after the end of a pupil's
last academic year with the council their personal data is kept, and on what legal basis.

`AuditRedaction` is the one sanctioned change to the append-only trail: each row names a
record of an anonymised pupil and the fields whose values the trail must no longer hold. The
database's append-only triggers let ``audit_log.changes`` of exactly those records change, and
only while the row is pending (``redacted_at`` unset); on PostgreSQL only the owner's
SECURITY DEFINER function ``audit_log_redact`` can make that change at all (migration 0023).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Timestamped, Versioned, utcnow


class RetentionSetting(Timestamped, Versioned, Base):
    __tablename__ = "retention_setting"
    __table_args__ = (CheckConstraint("keep_years >= 1", name="keep_years"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    academic_year: Mapped[str] = mapped_column(
        ForeignKey("academic_year.label", ondelete="RESTRICT"), unique=True
    )
    keep_years: Mapped[int]  # whole years after 31 August of the pupil's last year
    legal_basis: Mapped[str] = mapped_column(Text)

    def __str__(self) -> str:
        return f"Retention {self.academic_year}: {self.keep_years} years"


class AuditRedaction(Base):
    __tablename__ = "audit_redaction"
    __table_args__ = (Index("ix_audit_redaction_record", "table_name", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The anonymised pupil the records belong to; None for records that were deleted (and a
    # deleted pupil's permits outlive it: migration 0029).
    pupil_id: Mapped[int | None] = mapped_column(
        ForeignKey("pupil.id", ondelete="SET NULL"), index=True
    )
    table_name: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[str] = mapped_column(String(60))
    fields: Mapped[list[Any]] = mapped_column(JSON)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    redacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __str__(self) -> str:
        return f"redaction of {self.table_name}#{self.record_id}"
