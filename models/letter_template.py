"""A supervisor's wording of one letter kind for one academic year, kept version by version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enums import LetterKind, enum_column
from .user import User


class LetterTemplate(Base):
    """Never edited in place: saving makes the next version, so every letter can say which
    wording it was made with (the communications log records the version)."""

    __tablename__ = "letter_template"
    __table_args__ = (UniqueConstraint("kind", "academic_year", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[LetterKind] = mapped_column(enum_column(LetterKind, "letter_kind"))
    academic_year: Mapped[str] = mapped_column(
        ForeignKey("academic_year.label", ondelete="RESTRICT"), index=True
    )
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # a sandboxed Jinja template (services/letters)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    created_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.kind.value} {self.academic_year} v{self.version}"
