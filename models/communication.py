"""The communications log: every letter and e-mail made for a family, kept for good."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base
from .enums import Channel, CommunicationStatus, LetterKind, enum_column
from .user import User

if TYPE_CHECKING:
    from .contact import Contact
    from .pupil import Pupil
    from .transport_application import TransportApplication


class Communication(Base):
    """What the family was told, how, where to, in which template version, by whom and when.

    `subject_key` names the record the letter is about ("decision:12", "withdrawal:3"): at
    most one live letter of a kind per subject (partial unique index), which is what makes
    "letters owed" idempotent. A resend is a new row pointing at the one it repeats.
    """

    __tablename__ = "communication"
    __table_args__ = (
        Index(
            "uq_communication_live",
            "kind",
            "subject_key",
            unique=True,
            sqlite_where=text("status <> 'cancelled' AND resend_of_id IS NULL"),
            postgresql_where=text("status <> 'cancelled' AND resend_of_id IS NULL"),
        ),
        Index("ix_communication_year_kind_status", "academic_year", "kind", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[LetterKind] = mapped_column(enum_column(LetterKind, "letter_kind"))
    subject_key: Mapped[str] = mapped_column(String(60))
    academic_year: Mapped[str] = mapped_column(
        ForeignKey("academic_year.label", ondelete="RESTRICT")
    )
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupil.id", ondelete="RESTRICT"), index=True)
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("transport_application.id", ondelete="RESTRICT"), index=True
    )
    seat_application_id: Mapped[int | None] = mapped_column(
        ForeignKey("concessionary_application.id", ondelete="RESTRICT"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    addressee: Mapped[str] = mapped_column(String(200))
    address_used: Mapped[str] = mapped_column(Text)  # postal lines, or the e-mail address
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("letter_template.id", ondelete="RESTRICT")
    )
    template_version: Mapped[int]  # 0: the built-in wording (services/letters/defaults.py)
    letter_date: Mapped[date]
    title: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)  # the e-mail body; the letter's text
    pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    made_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    made_by: Mapped[str] = mapped_column(String(60))
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[CommunicationStatus] = mapped_column(
        enum_column(CommunicationStatus, "communication_status"),
        default=CommunicationStatus.QUEUED,
    )
    status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_note: Mapped[str | None] = mapped_column(Text)  # why it failed or was cancelled
    notify_id: Mapped[str | None] = mapped_column(String(40))
    resend_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("communication.id", ondelete="RESTRICT")
    )

    pupil: Mapped[Pupil] = relationship()
    application: Mapped[TransportApplication | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    maker: Mapped[User | None] = relationship(foreign_keys=[made_by_id])

    def __str__(self) -> str:
        return f"{self.kind.value} {self.letter_date:%d %b %Y} ({self.status.value})"
