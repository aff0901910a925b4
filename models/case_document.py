"""Evidence documents uploaded to a child's case (B1e medical evidence, A5c low-income proof,
A6 evidence of religion or belief, Appendix C appeal papers).

The bytes live outside the database rows, in an owner-only folder (services/private_files.py),
named by a random key; the row keeps what staff need to judge it without opening it (type,
name, size, content type, checksum). Every download is a `CaseDocumentDownload` row, so each
read of the personal data it holds is attributable (UK GDPR Art. 5(2)).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enums import enum_column
from .user import User

if TYPE_CHECKING:
    from .pupil import Pupil
    from .transport_application import TransportApplication


class DocumentKind(StrEnum):
    MEDICAL_EVIDENCE = "medical_evidence"  # B1e, A13
    LOW_INCOME_PROOF = "low_income_proof"  # A5c
    RELIGION_OR_BELIEF = "religion_or_belief"  # A6, B1d
    APPEAL_PAPERS = "appeal_papers"  # Appendix C
    OTHER = "other"


class CaseDocument(Base):
    __tablename__ = "case_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupil.id", ondelete="RESTRICT"), index=True)
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("transport_application.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, "document_kind"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    pupil: Mapped[Pupil] = relationship()
    application: Mapped[TransportApplication | None] = relationship()
    uploaded_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.filename}"


class CaseDocumentDownload(Base):
    """One staff download of one evidence document: who, when."""

    __tablename__ = "case_document_download"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("case_document.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    username: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    document: Mapped[CaseDocument] = relationship()
