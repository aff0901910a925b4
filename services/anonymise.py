"""Anonymising a pupil: the council keeps its counts and money, not the child (issue 16).

UK GDPR Art. 5(1)(e) (storage limitation) and Art. 17 (erasure): when a pupil's records are
past their retention period (services/retention.py), or a supervisor decides an erasure
request must be met, the child's and family's personal data goes, while every row the council
must still count and report stays: applications, decisions, seats, contributions, instalments,
payments and refunds keep their years, outcomes, clauses and amounts. What changes is listed
once, in services/redaction.py's `PERSONAL` (field: the value it gets), and the same fields are
what the audit trail is made to stop holding about those records (`redact_trail`):

* the pupil: names and reference replaced, date of birth to the start of the academic year of
  birth (1 September: the cohort, which is all the counts by year group need), address and
  town gone, postcode to its outward code (the district), the grid reference gone;
* parents and carers: names, addresses, e-mail and telephone gone (their relationship to the
  child and parental responsibility stay: they are counted);
* letters and e-mails: addressee, address, title and text gone, the PDF deleted; one still
  queued is marked failed, never sent (and, being held, is not made again);
* free text written about the family (determination notes, appeal grounds and outcomes,
  withdrawal reasons, a payment's reference), the decisions' copy of the date of birth, the
  measured routes' geometry from the home, and the home access point;
* case notes' text and evidence documents' names, and the documents' files deleted from the
  owner-only store (after the transaction commits: a file cannot be rolled back);

The trail: its rows about those records keep who did what and when, but the personal values in
them become "[redacted]", and so do those values wherever a read or a statement summary
carries them in its text (a surname searched for): the one sanctioned change to the
append-only trail, services/redaction.py. The anonymisation itself is a trail row of its own
(``anonymise``, with what was kept), and so is the redaction (``redact``). One transaction:
all of it, or nothing; doing it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from models import (
    Appeal,
    AuditLog,
    CaseDocument,
    CaseNote,
    Communication,
    ConcessionaryApplication,
    Contact,
    Contribution,
    EligibilityDecision,
    HomeAccessPoint,
    Payment,
    Pupil,
    RouteMeasurement,
    TransportApplication,
    Withdrawal,
)
from models.enums import AuditAction, CommunicationStatus
from services import redaction
from services.audit import current_actor, json_safe
from services.errors import ServiceError
from services.redaction import ANONYMISED, PERSONAL, words_of

NEVER_SENT = "never sent: the pupil's personal data was anonymised"


class AnonymiseError(ServiceError):
    """The pupil cannot be anonymised (not found); the message is shown as it is."""


@dataclass
class Anonymised:
    """What one anonymisation did and what it kept (counts and money the council reports)."""

    pupil_id: int
    already: bool = False
    records: dict[str, int] = field(default_factory=dict)
    kept: dict[str, Any] = field(default_factory=dict)
    trail_rows_redacted: int = 0
    files: list[Path] = field(default_factory=list)  # deleted once the transaction commits

    def as_text(self) -> str:
        if self.already:
            return f"pupil {self.pupil_id} was already anonymised; nothing changed"
        changed = ", ".join(f"{n} {table}" for table, n in sorted(self.records.items()) if n)
        kept = ", ".join(f"{k} {v}" for k, v in self.kept.items())
        return (
            f"pupil {self.pupil_id} anonymised ({changed}); kept: {kept}; "
            f"{self.trail_rows_redacted} audit trail rows redacted"
        )


def cohort_start(born: date) -> date:
    """1 September of the academic year of birth: the year group survives, the birthday not."""
    year = born.year if born.month >= 9 else born.year - 1
    return date(year, 9, 1)


def outward_code(postcode: str) -> str:
    """The postcode's district ("LN1 1AA" -> "LN1"): counts by area, not by street."""
    text_ = (postcode or "").strip().upper()
    return text_.split()[0] if " " in text_ else text_[:-3] or text_


def _ids(session: Session, column: Any, where: Any) -> list[int]:
    return list(session.scalars(select(column).where(where)))


def _records_of(session: Session, pupil_id: int) -> dict[type, list[int]]:
    """Every record in PERSONAL that belongs to the pupil, by model."""
    apps = _ids(session, TransportApplication.id, TransportApplication.pupil_id == pupil_id)
    decisions = (
        _ids(session, EligibilityDecision.id, EligibilityDecision.application_id.in_(apps))
        if apps
        else []
    )
    seat_apps = _ids(
        session, ConcessionaryApplication.id, ConcessionaryApplication.pupil_id == pupil_id
    )
    from models import ConcessionarySeat

    seats = (
        _ids(session, ConcessionarySeat.id, ConcessionarySeat.application_id.in_(seat_apps))
        if seat_apps
        else []
    )
    contributions = _ids(session, Contribution.id, Contribution.pupil_id == pupil_id)
    withdrawals: list[int] = []
    if decisions:
        withdrawals += _ids(session, Withdrawal.id, Withdrawal.decision_id.in_(decisions))
    if seats:
        withdrawals += _ids(session, Withdrawal.id, Withdrawal.concessionary_seat_id.in_(seats))
    return {
        Pupil: [pupil_id],
        Contact: _ids(session, Contact.id, Contact.pupil_id == pupil_id),
        Communication: _ids(session, Communication.id, Communication.pupil_id == pupil_id),
        TransportApplication: apps,
        EligibilityDecision: decisions,
        Appeal: _ids(session, Appeal.id, Appeal.decision_id.in_(decisions)) if decisions else [],
        Withdrawal: withdrawals,
        RouteMeasurement: (
            _ids(session, RouteMeasurement.id, RouteMeasurement.application_id.in_(apps))
            if apps
            else []
        ),
        Payment: (
            _ids(session, Payment.id, Payment.contribution_id.in_(contributions))
            if contributions
            else []
        ),
        HomeAccessPoint: _ids(session, HomeAccessPoint.id, HomeAccessPoint.pupil_id == pupil_id),
        CaseNote: _ids(session, CaseNote.id, CaseNote.pupil_id == pupil_id),
        CaseDocument: _ids(session, CaseDocument.id, CaseDocument.pupil_id == pupil_id),
    }


def _kept(session: Session, pupil_id: int) -> dict[str, Any]:
    """The counts and money totals that stay (and are shown so a reviewer can check)."""
    money = session.execute(
        select(func.count(Contribution.id), func.coalesce(func.sum(Contribution.amount), 0)).where(
            Contribution.pupil_id == pupil_id
        )
    ).one()
    paid = session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0))
        .join(Contribution, Contribution.id == Payment.contribution_id)
        .where(Contribution.pupil_id == pupil_id)
    )
    return {
        "applications": session.scalar(
            select(func.count(TransportApplication.id)).where(
                TransportApplication.pupil_id == pupil_id
            )
        ),
        "seat_applications": session.scalar(
            select(func.count(ConcessionaryApplication.id)).where(
                ConcessionaryApplication.pupil_id == pupil_id
            )
        ),
        "contributions": money[0],
        "contributions_total": str(Decimal(money[1]).quantize(Decimal("0.01"))),
        "payments_total": str(Decimal(paid or 0).quantize(Decimal("0.01"))),
    }


def _coarsen_facts(session: Session, decision_ids: list[int]) -> None:
    """The decisions keep their facts for reporting, with the date of birth coarsened."""
    for decision in session.scalars(
        select(EligibilityDecision).where(EligibilityDecision.id.in_(decision_ids))
    ):
        facts = dict(decision.facts or {})
        born = facts.get("date_of_birth")
        if born:
            facts["date_of_birth"] = cohort_start(date.fromisoformat(born)).isoformat()
            decision.facts = facts


# Where the evidence documents are stored is the app's configuration: services never import
# Flask (the layering contract in pyproject.toml), so the app installs this lookup at start-up
# (infra/documents.py); with none installed there is no store to delete files from.
def _no_store() -> Path | None:
    return None


_documents_root: Callable[[], Path | None] = _no_store


def set_documents_root(lookup: Callable[[], Path | None]) -> None:
    """Install the web layer's "where is the documents' store" lookup."""
    global _documents_root
    _documents_root = lookup


def documents_root() -> Path | None:
    """The evidence documents' store (config CASE_DOCUMENTS_DIR), when an app is running."""
    return _documents_root()


def delete_files(paths: Iterable[Path]) -> None:
    """The documents' files, once the anonymisation is committed (a missing one is gone)."""
    for path in paths:
        path.unlink(missing_ok=True)


def anonymise_pupil(session: Session, pupil_id: int, *, commit: bool = True) -> Anonymised:
    """Anonymise one pupil, their family contacts, letters and free text; redact the trail.

    Idempotent: a pupil already anonymised is left as it is. With ``commit=False`` the caller
    owns the transaction (the retention run does many pupils all-or-nothing) and deletes the
    documents' files (`Anonymised.files`, `delete_files`) after its commit.
    """
    pupil = session.get(Pupil, pupil_id, with_for_update=True)
    if pupil is None:
        raise AnonymiseError(f"There is no pupil {pupil_id}.")
    if pupil.anonymised_at is not None:
        return Anonymised(pupil_id, already=True)
    summary = Anonymised(pupil_id, kept=_kept(session, pupil_id))
    records = _records_of(session, pupil_id)
    words = _words(session, records)
    now = datetime.now(UTC)

    # PERSONAL[Pupil], with the values that depend on the record.
    pupil.reference = f"ANON{pupil_id}"[:20]
    pupil.first_name = pupil.last_name = pupil.address = ANONYMISED
    pupil.date_of_birth = cohort_start(pupil.date_of_birth)
    pupil.postcode = outward_code(pupil.postcode)
    pupil.town = pupil.easting = pupil.northing = None
    pupil.anonymised_at = now
    session.flush()
    _coarsen_facts(session, records[EligibilityDecision])
    for model, ids in records.items():
        summary.records[model.__tablename__] = len(ids)  # type: ignore[attr-defined]
        if model in (Pupil, EligibilityDecision) or not ids:
            continue
        if model is HomeAccessPoint:
            for point in session.scalars(
                select(HomeAccessPoint).where(HomeAccessPoint.id.in_(ids))
            ):
                session.delete(point)
            continue
        values = dict(PERSONAL[model])
        if model in (TransportApplication, Appeal):
            # Only notes that were written are replaced; an empty one stays empty.
            for name in list(values):
                column = getattr(model, name)
                session.execute(
                    update(model)
                    .where(model.id.in_(ids), column.is_not(None))
                    .values({name: values.pop(name)})
                )
            if not values:
                continue
        session.execute(update(model).where(model.id.in_(ids)).values(values))  # type: ignore[attr-defined]
    root = documents_root()
    if records[CaseDocument] and root is not None:
        keys = session.scalars(
            select(CaseDocument.storage_key).where(CaseDocument.id.in_(records[CaseDocument]))
        )
        summary.files = [root / key for key in keys]
    if records[Communication]:
        # A letter not yet sent or printed never will be: it has no addressee any more. Not
        # "cancelled" (letters owed would make it again), so it stays held, unsendable.
        session.execute(
            update(Communication)
            .where(
                Communication.id.in_(records[Communication]),
                Communication.status == CommunicationStatus.QUEUED,
            )
            .values(status=CommunicationStatus.FAILED, status_at=now, status_note=NEVER_SENT)
        )
    session.flush()
    summary.trail_rows_redacted = redact_trail(session, pupil_id, records, words)
    actor = current_actor(session)
    session.connection().execute(
        insert(AuditLog),
        [
            {
                "at": now,
                "user_id": actor.user_id,
                "username": actor.username[:60],
                "action": AuditAction.ANONYMISE,
                "table_name": Pupil.__tablename__,
                "record_id": str(pupil_id),
                "changes": {
                    "records": summary.records,
                    "kept": summary.kept,
                    "trail_rows_redacted": summary.trail_rows_redacted,
                },
            }
        ],
    )
    if commit:
        session.commit()
        delete_files(summary.files)
    return summary


def redact_trail(
    session: Session, pupil_id: int, records: dict[type, list[int]], words: set[str]
) -> int:
    """Make the trail's rows about the pupil's records, and its text, stop holding them.

    The one sanctioned path (services/redaction.py): the records' personal fields, and the
    `words` (their values before anonymising) wherever read and summary rows carry them.
    Returns the number of trail rows rewritten.
    """
    actor = current_actor(session)
    return redaction.redact(
        session.connection(),
        pupil_id=pupil_id,
        records=[
            (model.__tablename__, str(record_id))  # type: ignore[attr-defined]
            for model, ids in records.items()
            for record_id in ids
        ],
        words=words,
        user_id=actor.user_id,
        username=actor.username,
    )


def _words(session: Session, records: dict[type, list[int]]) -> set[str]:
    """The records' personal values as they are now, before anonymising replaces them."""
    found: set[str] = set()
    for model, ids in records.items():
        if not ids:
            continue
        fields = sorted(PERSONAL[model])
        columns = [getattr(model, name) for name in fields]
        for chunk in range(0, len(ids), 500):
            for row in session.execute(
                select(*columns).where(model.id.in_(ids[chunk : chunk + 500]))  # type: ignore[attr-defined]
            ):
                values = {name: json_safe(value) for name, value in zip(fields, row, strict=True)}
                found |= words_of(model.__tablename__, values)  # type: ignore[attr-defined]
    return found
