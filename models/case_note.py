"""Case notes: what a member of staff recorded about a child's case, who and when.

A note is never edited or removed from the panel: a correction is a further note, so the case
reads as it happened (the audit trail holds each insert with its author too). The ORM refuses
an UPDATE of a note outright; retention (deleting a whole case) is the only delete.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, ForeignKey, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .user import User

if TYPE_CHECKING:
    from .pupil import Pupil
    from .transport_application import TransportApplication


class CaseNote(Base):
    __tablename__ = "case_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupil.id", ondelete="RESTRICT"), index=True)
    # The application the note is about, when it is about one.
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("transport_application.id", ondelete="RESTRICT"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    written_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    text: Mapped[str] = mapped_column(Text)

    pupil: Mapped[Pupil] = relationship()
    application: Mapped[TransportApplication | None] = relationship()
    author: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"Note {self.id} on pupil {self.pupil_id}"


class NoteIsFinal(Exception):
    """A case note is added, never changed."""


@event.listens_for(CaseNote, "before_update")
def _never_edited(_mapper: object, _connection: object, target: CaseNote) -> None:
    raise NoteIsFinal("A case note cannot be changed; add a further note instead.")
