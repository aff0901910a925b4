"""One row per create form saved: the form's one-time token (issue 18, double submits)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class SubmittedForm(Base):
    """A create form's token, written in the same transaction as the record it made.

    The primary key makes a second save of the same form (a double click, a resent page) fail
    inside its transaction, so it makes no second record (admin_views/concurrency.py).
    """

    __tablename__ = "submitted_form"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
