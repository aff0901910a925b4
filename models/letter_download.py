"""Who downloaded which letter or print batch, and when: letters hold personal data.

Each row's insert is in the audit trail (services/audit.py) with the user, so every download
of a letter or a batch is attributable, as reads of personal data must be.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class LetterDownload(Base):
    __tablename__ = "letter_download"

    id: Mapped[int] = mapped_column(primary_key=True)
    what: Mapped[str] = mapped_column(String(200))  # "letter 12", "print batch 2024/25 decision"
    communication_ids: Mapped[list[Any]] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    username: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
