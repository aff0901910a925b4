"""Who is working an application: an officer takes it, or a supervisor assigns it.

One row per application (at most one person holds a case at a time); who assigned it and
when are kept on the row, and every change is in the audit trail. A row of its own rather than
a column on `transport_application`: that table carries the seat-capacity triggers (migrations
0009-0011), which SQLite's table rebuild for a new foreign key would drop.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .user import User

if TYPE_CHECKING:
    from .transport_application import TransportApplication


class CaseAssignment(Base):
    __tablename__ = "case_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("transport_application.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    assigned_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    application: Mapped[TransportApplication] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])

    def __str__(self) -> str:
        return f"application {self.application_id} with user {self.user_id}"
