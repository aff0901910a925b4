"""Sending: e-mail through GOV.UK Notify, post through the print room's merged batch.

E-mail goes through Notify's own Python client to one Notify e-mail template whose subject is
``((subject))`` and whose body is ``((body))`` (the panel's wording is the letter's; Notify
carries it). The key comes from the environment (NOTIFY_API_KEY, with NOTIFY_EMAIL_TEMPLATE_ID
and, for a stand-in or Notify's test service, NOTIFY_BASE_URL). Without a key the panel is
log-only: e-mails stay queued in the communications log, the screens say so, and the next run
with a key sends them. Nothing personal is logged: only counts and letter ids.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import Communication, LetterDownload
from models.enums import AuditAction, Channel, CommunicationStatus, LetterKind
from services.audit import current_actor, record_access

from .render import merged_pdf

log = logging.getLogger(__name__)
NOTIFY_URL = "https://api.notifications.service.gov.uk"


class EmailSender(Protocol):
    def send(self, email: str, subject: str, body: str, reference: str) -> str:
        """Send one e-mail; returns the provider's id, raises on refusal."""
        ...


@dataclass(frozen=True)
class NotifySettings:
    api_key: str | None
    template_id: str | None
    base_url: str

    @property
    def live(self) -> bool:
        return bool(self.api_key and self.template_id)

    def describe(self) -> str:
        """For the command line and the README: names the settings."""
        if self.live:
            return f"E-mail is sent through GOV.UK Notify ({self.base_url})."
        return (
            "Log-only: no GOV.UK Notify key is set (NOTIFY_API_KEY, NOTIFY_EMAIL_TEMPLATE_ID), "
            "so e-mails are recorded in the communications log and stay queued, not sent."
        )

    def in_words(self) -> str:
        """For the screens: the same, in the team's words."""
        if self.live:
            return "E-mails are sent through GOV.UK Notify."
        return (
            "E-mail is not switched on: the panel has no GOV.UK Notify key yet, so e-mails are "
            "kept here, queued, and not sent. Letters for the post are not affected. Ask whoever "
            "runs the panel to set the key (the README says how); queued e-mails go on the "
            "next run after that."
        )


def notify_settings() -> NotifySettings:
    env = os.environ.get
    return NotifySettings(
        api_key=env("NOTIFY_API_KEY") or None,
        template_id=env("NOTIFY_EMAIL_TEMPLATE_ID") or None,
        base_url=env("NOTIFY_BASE_URL") or NOTIFY_URL,
    )


class NotifySender:
    """GOV.UK Notify through its Python client (notifications-python-client)."""

    def __init__(self, settings: NotifySettings) -> None:
        from notifications_python_client.notifications import NotificationsAPIClient

        assert settings.api_key and settings.template_id
        self.client = NotificationsAPIClient(  # type: ignore[no-untyped-call]
            settings.api_key, base_url=settings.base_url
        )
        self.template_id = settings.template_id

    def send(self, email: str, subject: str, body: str, reference: str) -> str:
        response: dict[str, Any] = self.client.send_email_notification(  # type: ignore[no-untyped-call]
            email_address=email,
            template_id=self.template_id,
            personalisation={"subject": subject, "body": body},
            reference=reference,
        )
        return str(response["id"])


def sender_from_environment() -> EmailSender | None:
    """The Notify sender when a key is set, else None (log-only)."""
    settings = notify_settings()
    return NotifySender(settings) if settings.live else None


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    waiting: int = 0  # log-only: left queued

    def as_text(self) -> str:
        if self.waiting and not self.sent and not self.failed:
            return f"{self.waiting} e-mails recorded, not sent (log-only: no Notify key)."
        return f"{self.sent} e-mails sent, {self.failed} failed."


def send_queued_emails(
    session: Session,
    year: str,
    kinds: Sequence[LetterKind],
    sender: EmailSender | None,
) -> SendReport:
    """Send the queued e-mail letters; each result is committed as it comes back, so a crash
    never sends one twice on the next run."""
    report = SendReport()
    c = Communication
    ids = session.scalars(
        select(c.id)
        .where(
            c.academic_year == year,
            c.kind.in_(list(kinds)),
            c.channel == Channel.EMAIL,
            c.status == CommunicationStatus.QUEUED,
        )
        .order_by(c.id)
    ).all()
    if sender is None:
        report.waiting = len(ids)
        log.info("letters: log-only, %d e-mails left queued (no Notify key)", len(ids))
        return report
    for letter_id in ids:
        row = session.get(Communication, letter_id)
        assert row is not None
        try:
            notify_id = sender.send(row.address_used, row.title, row.body_text, row.subject_key)
        except Exception as error:  # the provider's refusal is recorded, the batch goes on
            row.status, row.status_note = CommunicationStatus.FAILED, str(error)[:500]
            report.failed += 1
            log.warning("letters: e-mail for letter %d failed", letter_id)
        else:
            row.status, row.notify_id = CommunicationStatus.SENT, notify_id[:40]
            report.sent += 1
        row.status_at = datetime.now(UTC)
        session.commit()
    return report


def record_download(session: Session, what: str, ids: Sequence[int]) -> None:
    """Every download of a letter or a batch: a row whose insert the audit trail records,
    and the trail's own download row (services.audit.record_access, issue 16), both
    committing with the batch."""
    actor = current_actor(session)
    session.add(
        LetterDownload(
            what=what[:200], communication_ids=list(ids), user_id=actor.user_id,
            username=actor.username[:60],
        )
    )  # fmt: skip
    record_access(
        AuditAction.DOWNLOAD, "communication", what=what, record_ids=list(ids), rows=len(ids),
        session=session,
    )  # fmt: skip


def print_batch(
    session: Session, year: str, kinds: Sequence[LetterKind]
) -> tuple[bytes | None, int]:
    """Merge the queued post letters into one PDF for the post room and mark them printed.

    Returns (the PDF, or None when nothing is waiting, and the number of letters). The
    status change and the download record commit together.
    """
    c = Communication
    rows = session.execute(
        select(c.id, c.pdf)
        .where(
            c.academic_year == year,
            c.kind.in_(list(kinds)),
            c.channel == Channel.POST,
            c.status == CommunicationStatus.QUEUED,
        )
        .order_by(c.id)
    ).all()
    if not rows:
        return None, 0
    ids = [i for i, _pdf in rows]
    families = (
        ", ".join(sorted({k.value for k in kinds})) if len(kinds) < len(LetterKind) else "all"
    )
    document = merged_pdf((pdf for _i, pdf in rows), f"Print batch {year} ({families})")
    now = datetime.now(UTC)
    for start in range(0, len(ids), 500):
        session.execute(
            update(c)
            .where(c.id.in_(ids[start : start + 500]), c.status == CommunicationStatus.QUEUED)
            .values(status=CommunicationStatus.PRINTED, status_at=now)
            .execution_options(synchronize_session=False)
        )
    record_download(session, f"print batch {year} ({families}), {len(ids)} letters", ids)
    session.commit()
    return document, len(ids)


def resend(session: Session, letter_id: int) -> Communication:
    """The same letter again, as a new log row pointing at the one it repeats (queued)."""
    original = session.get(Communication, letter_id)
    if original is None:
        raise LookupError(f"no letter {letter_id}")
    actor = current_actor(session)
    copied = {
        name: getattr(original, name)
        for name in (
            "kind", "subject_key", "academic_year", "pupil_id", "application_id",
            "seat_application_id", "contact_id", "channel", "addressee", "address_used",
            "template_id", "template_version", "letter_date", "title", "body_text", "pdf",
        )
    }  # fmt: skip
    now = datetime.now(UTC)
    copy = Communication(
        **copied,
        made_by_id=actor.user_id,
        made_by=actor.username[:60],
        made_at=now,
        status=CommunicationStatus.QUEUED,
        status_at=now,
        resend_of_id=original.resend_of_id or original.id,
    )
    session.add(copy)
    session.commit()
    return copy
