"""A child's case: everything recorded about them in time order, and the writes case work makes
(notes, evidence documents, who holds an application).

Notes are added, never edited (models/case_note.py). Evidence documents are checked for type
and size, and their bytes are written outside the database rows to an owner-only folder
(services/private_files.py) under a random name; every download is recorded with who made it
(`CaseDocumentDownload`), as every read of personal data must be attributable (UK GDPR
Art. 5(2)). Each write is one transaction: the caller's request commits it or nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from models import (
    Appeal,
    CaseAssignment,
    CaseDocument,
    CaseDocumentDownload,
    CaseNote,
    Communication,
    ConcessionaryApplication,
    Contribution,
    EligibilityDecision,
    Pupil,
    TransportApplication,
    User,
    Withdrawal,
)
from models.case_document import DocumentKind
from models.enums import ApplicationStatus, AuditAction
from services.audit import record_access
from services.errors import ServiceError
from services.private_files import private_dir, write_private

# Evidence arrives as a scan or a photograph of a letter: PDF, JPEG or PNG, checked by their
# first bytes as well as the type the browser declares.
ALLOWED_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_NOTE_CHARS = 10_000
KIND_LABELS = {
    DocumentKind.MEDICAL_EVIDENCE: "Medical evidence (B1e, A13)",
    DocumentKind.LOW_INCOME_PROOF: "Low-income proof (A5c)",
    DocumentKind.RELIGION_OR_BELIEF: "Evidence of religion or belief (A6)",
    DocumentKind.APPEAL_PAPERS: "Appeal papers (Appendix C)",
    DocumentKind.OTHER: "Other",
}


class CaseError(ServiceError):
    """A note or document that cannot be saved; the message names the field and the fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- writes ----------------------------------------------------------------------------------


def add_note(
    session: Session,
    pupil_id: int,
    text: str,
    author_id: int | None,
    application_id: int | None = None,
) -> CaseNote:
    """Add a note to the child's case (flushes; the caller commits)."""
    words = (text or "").strip()
    if not words:
        raise CaseError("text", "Write the note before adding it.")
    if len(words) > MAX_NOTE_CHARS:
        raise CaseError("text", f"A note is at most {MAX_NOTE_CHARS:,} characters.")
    _check_application(session, pupil_id, application_id)
    note = CaseNote(
        pupil_id=pupil_id, application_id=application_id, author_id=author_id, text=words
    )
    session.add(note)
    session.flush()
    return note


def _check_application(session: Session, pupil_id: int, application_id: int | None) -> None:
    if application_id is None:
        return
    owner = session.scalar(
        select(TransportApplication.pupil_id).where(TransportApplication.id == application_id)
    )
    if owner != pupil_id:
        raise CaseError("application", "That application is not this child's.")


def documents_dir(root: Path) -> Path:
    """The store (config CASE_DOCUMENTS_DIR), made owner-only if it is not yet."""
    return private_dir(root)


def store_document(
    session: Session,
    root: Path,
    *,
    pupil_id: int,
    kind: str,
    filename: str,
    content_type: str,
    data: bytes,
    uploaded_by_id: int | None,
    application_id: int | None = None,
) -> CaseDocument:
    """Check and keep an evidence document: the bytes to an owner-only file, the facts as a row."""
    try:
        chosen = DocumentKind(kind)
    except ValueError:
        raise CaseError("kind", "Choose what the document is evidence of.") from None
    if not data:
        raise CaseError("file", "Choose a file to upload (it was empty or missing).")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise CaseError(
            "file",
            f"The file is {len(data) / 1024 / 1024:.1f} MB; the most is "
            f"{MAX_DOCUMENT_BYTES // 1024 // 1024} MB. Scan it at a lower resolution.",
        )
    declared = (content_type or "").split(";")[0].strip().lower()
    signatures = ALLOWED_TYPES.get(declared)
    if signatures is None or not data.startswith(signatures):
        raise CaseError("file", "Upload a PDF, JPEG or PNG file (this one is not one of those).")
    _check_application(session, pupil_id, application_id)
    key = secrets.token_hex(20)
    write_private(documents_dir(root) / key, data)
    name = Path(filename or "document").name[:200] or "document"
    document = CaseDocument(
        pupil_id=pupil_id,
        application_id=application_id,
        kind=chosen,
        filename=name,
        content_type=declared,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
        uploaded_by_id=uploaded_by_id,
    )
    session.add(document)
    session.flush()
    return document


def open_document(
    session: Session, root: Path, document_id: int, user_id: int | None, username: str
) -> tuple[CaseDocument, bytes]:
    """The document's bytes, with the download recorded (flushes; the caller commits)."""
    document = session.get(CaseDocument, document_id)
    if document is None:
        raise CaseError("document", "There is no such document.")
    path = documents_dir(root) / document.storage_key
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CaseError("document", "The document's file is missing from the store.") from None
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise CaseError("document", "The stored file does not match what was uploaded.")
    session.add(CaseDocumentDownload(document_id=document.id, user_id=user_id, username=username))
    # The trail's own download row, as for letters (services.audit.record_access, issue 16).
    record_access(
        AuditAction.DOWNLOAD,
        CaseDocument.__tablename__,
        what=f"document {document.id} of pupil {document.pupil_id}",
        record_ids=[document.id],
        session=session,
    )
    session.flush()
    return document, data


def assign(
    session: Session, application_ids: Iterable[int], user_id: int | None, by_id: int | None
) -> int:
    """Give the applications to `user_id` (None: to nobody); how many changed hands."""
    ids = sorted(set(application_ids))
    held = {
        row.application_id: row
        for row in session.scalars(
            select(CaseAssignment).where(CaseAssignment.application_id.in_(ids))
        )
    }
    changed = 0
    for application_id in ids:
        row = held.get(application_id)
        if user_id is None:
            if row is not None:
                session.delete(row)
                changed += 1
            continue
        if row is None:
            session.add(
                CaseAssignment(application_id=application_id, user_id=user_id, assigned_by_id=by_id)
            )
            changed += 1
        elif row.user_id != user_id:
            row.user_id, row.assigned_by_id, row.assigned_at = user_id, by_id, datetime.now(UTC)
            changed += 1
    session.flush()
    return changed


def second_application(
    session: Session, pupil_id: int, year: str, other_than: int | None = None
) -> TransportApplication | None:
    """Another live application for the same child and academic year, if there is one."""
    query = select(TransportApplication).where(
        TransportApplication.pupil_id == pupil_id,
        TransportApplication.academic_year == year,
        TransportApplication.status != ApplicationStatus.WITHDRAWN,
    )
    if other_than is not None:
        query = query.where(TransportApplication.id != other_than)
    return session.scalars(query.order_by(TransportApplication.received_on).limit(1)).first()


# --- the case, read ------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One thing that happened on the case, for the time-ordered trail."""

    at: datetime
    kind: str
    title: str
    detail: str = ""
    endpoint: str | None = None
    record_id: int | None = None


@dataclass
class CaseFile:
    pupil: Pupil
    applications: list[TransportApplication] = field(default_factory=list)
    seat_applications: list[ConcessionaryApplication] = field(default_factory=list)
    contributions: list[Contribution] = field(default_factory=list)
    withdrawals: list[Withdrawal] = field(default_factory=list)
    appeals: list[Appeal] = field(default_factory=list)
    letters: list[Communication] = field(default_factory=list)
    notes: list[CaseNote] = field(default_factory=list)
    documents: list[CaseDocument] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def _moment(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(0, 0), tzinfo=UTC)


def case_file(session: Session, pupil: Pupil) -> CaseFile:
    """Everything about the child, in a fixed number of queries, with the trail newest first."""
    case = CaseFile(pupil)
    case.applications = list(
        session.scalars(
            select(TransportApplication)
            .where(TransportApplication.pupil_id == pupil.id)
            .options(
                joinedload(TransportApplication.school),
                joinedload(TransportApplication.route),
                joinedload(TransportApplication.assignment).joinedload(CaseAssignment.user),
                selectinload(TransportApplication.decisions).joinedload(
                    EligibilityDecision.decided_by
                ),
            )
            .order_by(TransportApplication.received_on.desc())
        ).unique()
    )
    decision_ids = [d.id for a in case.applications for d in a.decisions]
    case.seat_applications = list(
        session.scalars(
            select(ConcessionaryApplication)
            .where(ConcessionaryApplication.pupil_id == pupil.id)
            .options(
                joinedload(ConcessionaryApplication.route),
                selectinload(ConcessionaryApplication.seats),
            )
            .order_by(ConcessionaryApplication.received_on.desc())
        ).unique()
    )
    seat_ids = [s.id for ca in case.seat_applications for s in ca.seats]
    case.contributions = list(
        session.scalars(
            select(Contribution)
            .where(Contribution.pupil_id == pupil.id)
            .options(
                selectinload(Contribution.instalments),
                selectinload(Contribution.payments),
                selectinload(Contribution.refunds),
            )
            .order_by(Contribution.start_date.desc())
        ).unique()
    )
    clauses = []
    if decision_ids:
        clauses.append(Withdrawal.decision_id.in_(decision_ids))
    if seat_ids:
        clauses.append(Withdrawal.concessionary_seat_id.in_(seat_ids))
    if clauses:
        case.withdrawals = list(session.scalars(select(Withdrawal).where(or_(*clauses))))
        case.appeals = (
            list(
                session.scalars(
                    select(Appeal)
                    .where(Appeal.decision_id.in_(decision_ids))
                    .options(
                        joinedload(Appeal.decision).joinedload(EligibilityDecision.application)
                    )
                )
            )
            if decision_ids
            else []
        )
    case.letters = list(
        session.scalars(
            select(Communication)
            .where(Communication.pupil_id == pupil.id)
            .order_by(Communication.made_at.desc())
        )
    )
    case.notes = list(
        session.scalars(
            select(CaseNote)
            .where(CaseNote.pupil_id == pupil.id)
            .options(joinedload(CaseNote.author), joinedload(CaseNote.application))
            .order_by(CaseNote.written_at.desc(), CaseNote.id.desc())
        )
    )
    case.documents = list(
        session.scalars(
            select(CaseDocument)
            .where(CaseDocument.pupil_id == pupil.id)
            .options(joinedload(CaseDocument.uploaded_by))
            .order_by(CaseDocument.uploaded_at.desc())
        )
    )
    case.events = sorted(_events(case), key=lambda e: e.at, reverse=True)
    return case


def _who(user: User | None) -> str:
    return user.full_name if user is not None else "system"


def _events(case: CaseFile) -> Iterable[Event]:
    for a in case.applications:
        yield Event(
            _moment(a.received_on), "application", f"Application {a.reference} received",
            f"{a.academic_year}, {a.school.name}", "transport_application", a.id,
        )  # fmt: skip
        for d in a.decisions:
            outcome = d.outcome.value.replace("_", " ")
            basis = f" ({d.basis})" if d.basis else ""
            state = " (superseded)" if d.superseded_at else ""
            yield Event(
                _moment(d.decided_at), "decision",
                f"Decision on {a.reference}: {outcome}{basis}{state}",
                " ".join(d.reasons) + f" By {_who(d.decided_by)}.",
                "transport_application", a.id,
            )  # fmt: skip
    for ca in case.seat_applications:
        yield Event(
            _moment(ca.received_on), "seat_application",
            f"Concessionary seat application {ca.reference}: {ca.status.value}",
            f"Route {ca.route.code}, {ca.sessions.value}"
            + (f", waiting list #{ca.waitlist_position}" if ca.waitlist_position else ""),
            "concessionary_application", ca.id,
        )  # fmt: skip
        for seat in ca.seats:
            yield Event(
                _moment(seat.start_date), "seat",
                f"Seat on {ca.route.code} from {seat.start_date:%d %b %Y}: {seat.status.value}",
                f"Until {seat.end_date:%d %b %Y}", "concessionary_seat", seat.id,
            )  # fmt: skip
    for c in case.contributions:
        yield Event(
            _moment(c.start_date), "contribution",
            f"Contribution £{c.amount} ({c.kind.value}, {c.plan.value})", c.academic_year,
            "contribution", c.id,
        )  # fmt: skip
        for p in c.payments:
            yield Event(
                _moment(p.received_on), "payment", f"Payment £{p.amount} received",
                f"{p.method}{' ' + p.reference if p.reference else ''}", "payment", p.id,
            )  # fmt: skip
        for r in c.refunds:
            yield Event(
                _moment(r.due_on), "refund", f"Refund £{r.amount}"
                + (f" paid {r.paid_on:%d %b %Y}" if r.paid_on else " due"),
                r.reason, "refund", r.id,
            )  # fmt: skip
    for w in case.withdrawals:
        yield Event(
            _moment(w.notice_on), "withdrawal",
            f"Withdrawal ({w.kind.value.replace('_', ' ')}) effective {w.effective_on:%d %b %Y}",
            w.reason, "withdrawal", w.id,
        )  # fmt: skip
    for ap in case.appeals:
        yield Event(
            _moment(ap.received_on), "appeal",
            f"Appeal ({ap.stage.value.replace('_', ' ')}) on {ap.decision.application.reference}: "
            f"{ap.outcome.value}", f"Decision due by {ap.decision_due:%d %b %Y}. {ap.grounds}",
            "appeal", ap.id,
        )  # fmt: skip
    for letter in case.letters:
        yield Event(
            _moment(letter.made_at), "letter", f"Letter: {letter.title} ({letter.status.value})",
            f"{letter.channel.value} to {letter.addressee}",
        )  # fmt: skip
    for note in case.notes:
        yield Event(_moment(note.written_at), "note", f"Note by {_who(note.author)}", note.text)
    for doc in case.documents:
        yield Event(
            _moment(doc.uploaded_at), "document",
            f"Evidence uploaded: {KIND_LABELS[doc.kind]}",
            f"{doc.filename} ({doc.size_bytes:,} bytes) by {_who(doc.uploaded_by)}",
        )  # fmt: skip


def staff(session: Session) -> list[User]:
    """Active accounts a case can be assigned to (officers and supervisors, and assistants)."""
    return list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.full_name)))


def application_choices(applications: list[TransportApplication]) -> list[tuple[str, str]]:
    return [("", "The whole case")] + [
        (str(a.id), f"{a.reference} ({a.academic_year})") for a in applications
    ]


def as_int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
