"""A background job: a long batch (a year's letters, assessment or allocation) run by a worker.

The row is the job's own record, whatever the queue library keeps: what was asked, by whom,
how far it has got, and what it did. The queue only carries the job's id, so a job whose
worker died is retried from this row, and the work itself is idempotent (services/jobs).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enums import enum_column
from .user import User


class JobStatus(StrEnum):
    QUEUED = "queued"  # waiting for a worker
    RUNNING = "running"  # a worker has it (see heartbeat_at)
    DONE = "done"
    FAILED = "failed"  # stopped with an error; the message is in `error`


class Job(Base):
    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)  # services/jobs KINDS
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    started_by: Mapped[str] = mapped_column(String(60))
    status: Mapped[JobStatus] = mapped_column(
        enum_column(JobStatus, "job_status"), default=JobStatus.QUEUED
    )
    stage: Mapped[str | None] = mapped_column(String(80))  # what it is doing, in words
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=0)
    result: Mapped[str | None] = mapped_column(Text)  # the report, in words
    error: Mapped[str | None] = mapped_column(Text)  # no personal data: the error's kind
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    starter: Mapped[User | None] = relationship(foreign_keys=[started_by_id])

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status is JobStatus.DONE else 0
        return min(100, round(100 * self.done / self.total))

    def __str__(self) -> str:
        return f"{self.kind} job {self.id} ({self.status.value})"
