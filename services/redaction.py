"""What is personal, and the one sanctioned way to take it out of the audit trail (issue 16).

UK GDPR Art. 5(1)(c), (e) and 17: the trail is append-only and kept for ever, so whatever it
holds about a family must stop being there once their records are anonymised
(services/anonymise.py) or deleted. `PERSONAL` is the single list of the personal fields, per
table, and what anonymising sets them to; the trail's hooks (services/audit.py) and the
anonymisation both redact by it.

`redact` is the only path that changes trail rows: it files a pending `AuditRedaction` per
record (and one, ``audit_log`` / ``*``, carrying the personal values to take out of text) and
the database lets exactly those rows' ``changes`` change while the permits are pending and the
pupil is anonymised or the record is gone (migrations 0023 and 0029). On PostgreSQL the
owner's SECURITY DEFINER function ``audit_log_redact`` does it (the runtime role may not UPDATE
the trail) and checks a deleted record really is gone; on SQLite the same transformation runs
here. What changes:

* in each trail row about one of the records, the values of its personal fields become
  "[redacted]" (the row still says who did what, when, to which record and field);
* in read, export and download rows and in statement summaries (``record_id "*"``), whose text
  carries what was searched for or bound in a WHERE clause, each whole-word occurrence of one
  of the records' personal values (a surname searched for, a postcode filtered on) becomes
  "[redacted]", whichever record they were about.

A permit's values are emptied once it is spent: the permits table must not keep them either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Date, String, Text, cast, insert, or_, select, text, update
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Connection

from models import (
    Appeal,
    AuditLog,
    AuditRedaction,
    CaseDocument,
    CaseNote,
    Communication,
    Contact,
    EligibilityDecision,
    HomeAccessPoint,
    Payment,
    Pupil,
    RouteMeasurement,
    TransportApplication,
    Withdrawal,
)
from models.enums import AuditAction, Channel

ANONYMISED = "Anonymised"
REMOVED = "[anonymised]"
REDACTED = "[redacted]"

# Per table, the personal fields and what anonymising makes them (None: emptied). Fields whose
# new value depends on the record (the pupil's date of birth, reference and postcode; the
# decisions' facts) are set in services/anonymise.py and listed here with None.
PERSONAL: dict[type, dict[str, Any]] = {
    Pupil: {
        "reference": None,
        "first_name": ANONYMISED,
        "last_name": ANONYMISED,
        "date_of_birth": None,
        "address": ANONYMISED,
        "town": None,
        "postcode": None,
        "easting": None,
        "northing": None,
    },
    Contact: {
        "name": ANONYMISED,
        "postal_address": None,
        "postcode": None,
        "email": None,
        "phone": None,
        "preferred_channel": Channel.POST,  # e-mail needs an address (B1i check constraint)
    },
    Communication: {
        "addressee": ANONYMISED,
        "address_used": REMOVED,
        "title": REMOVED,
        "body_text": REMOVED,
        "status_note": None,
        "pdf": b"",
    },
    TransportApplication: {"determination_notes": None},
    EligibilityDecision: {"facts": None},
    Appeal: {"grounds": REMOVED, "outcome_notes": None},
    Withdrawal: {"reason": REMOVED},
    RouteMeasurement: {"geometry": None, "access_easting": None, "access_northing": None},
    Payment: {"reference": None},
    HomeAccessPoint: {"easting": None, "northing": None, "reason": None},  # deleted
    CaseNote: {"text": REMOVED},
    CaseDocument: {"filename": REMOVED},  # and its file deleted
}
# The same, by table name: what the trail's hooks see.
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    model.__tablename__: frozenset(fields)  # type: ignore[attr-defined]
    for model, fields in PERSONAL.items()
}
# Of those, the ones a search box or a filter could carry as text: names, addresses, e-mail,
# telephone, references, dates; not amounts, coordinates, JSON, files or a choice from a list
# (a contact's preferred channel "post" is no one's personal value).
TEXT_FIELDS: dict[str, frozenset[str]] = {
    model.__tablename__: frozenset(  # type: ignore[attr-defined]
        name
        for name in fields
        if isinstance(model.__table__.c[name].type, String | Date)  # type: ignore[attr-defined]
        and not isinstance(model.__table__.c[name].type, SAEnum)  # type: ignore[attr-defined]
    )
    for model, fields in PERSONAL.items()
}
# The permit for the text of read and summary rows (migration 0029).
TEXT_TABLE, TEXT_RECORD = AuditLog.__tablename__, "*"
# Longer text is a letter or a note, not something typed into a search box or a filter.
WORD_LIMIT = 200
_PLACEHOLDERS = frozenset({ANONYMISED.lower(), REMOVED, REDACTED})


def redacted(value: Any) -> Any:
    """[old, new] keeps its shape: each value that was there becomes "[redacted]"."""
    if isinstance(value, list):
        return [None if v is None else REDACTED for v in value]
    return None if value is None else REDACTED


def redact_changes(table_name: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """A trail row's ``changes`` with the table's personal fields redacted."""
    fields = PERSONAL_FIELDS.get(table_name, frozenset())
    return {k: redacted(v) if k in fields else v for k, v in changes.items()}


def words_of(table_name: str, values: Mapping[str, Any]) -> set[str]:
    """The record's personal values that a search or a filter could have carried as text.

    `values` are JSON-safe (services.audit.json_safe): dates are ISO strings.
    """
    found: set[str] = set()
    for key in TEXT_FIELDS.get(table_name, frozenset()):
        value = values.get(key)
        if isinstance(value, str):
            word = value.strip()
            if 2 <= len(word) <= WORD_LIMIT and word.lower() not in _PLACEHOLDERS:
                found.add(word)
    return found


def scrub_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    """Each word, whole (not inside a longer word), any case; longest first."""
    ordered = sorted(set(words), key=lambda w: (-len(w), w))
    if not ordered:
        return None
    return re.compile(
        r"(?<!\w)(?:" + "|".join(re.escape(w) for w in ordered) + r")(?!\w)", re.IGNORECASE
    )


def scrub(value: Any, pattern: re.Pattern[str]) -> Any:
    """Every string inside a JSON value with the words replaced; keys and shape kept."""
    if isinstance(value, str):
        return pattern.sub(REDACTED, value)
    if isinstance(value, list):
        return [scrub(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v, pattern) for k, v in value.items()}
    return value


def redact(
    connection: Connection,
    *,
    pupil_id: int | None,
    records: Iterable[tuple[str, str]],
    words: Iterable[str],
    user_id: int | None,
    username: str,
) -> int:
    """Redact the trail about `records` (table, id) and the `words` in its text; one row says so.

    `pupil_id` names the anonymised pupil they belong to; None means the records were just
    deleted (the database checks they are gone). Runs on `connection`, inside the caller's
    transaction. Returns the number of trail rows rewritten.
    """
    now = datetime.now(UTC)
    named = list(dict.fromkeys(records))
    if not named:
        return 0
    kept_words = sorted(set(words))
    permits: list[dict[str, Any]] = [
        {
            "pupil_id": pupil_id,
            "table_name": table,
            "record_id": record,
            "fields": sorted(PERSONAL_FIELDS[table]) if table != TEXT_TABLE else kept_words,
            "requested_at": now,
        }
        for table, record in named + ([(TEXT_TABLE, TEXT_RECORD)] if kept_words else [])
    ]
    connection.execute(insert(AuditRedaction), permits)
    if connection.dialect.name == "postgresql":
        return int(
            connection.execute(
                text("SELECT audit_log_redact(:pupil, :user_id, :username)"),
                {"pupil": pupil_id, "user_id": user_id, "username": username},
            ).scalar_one()
        )
    total = 0
    pattern = scrub_pattern(kept_words)
    if pattern is not None:
        stored = cast(AuditLog.changes, Text)
        rows = connection.execute(
            select(AuditLog.id, AuditLog.changes).where(
                or_(
                    AuditLog.action.in_(
                        [AuditAction.READ, AuditAction.EXPORT, AuditAction.DOWNLOAD]
                    ),
                    AuditLog.record_id == TEXT_RECORD,
                ),
                # Only rows whose stored text holds a word (as stored: JSON-escaped) are
                # walked value by value.
                or_(
                    *(
                        stored.ilike(f"%{_like_escaped(f)}%", escape="\\")
                        for f in _stored_forms(kept_words)
                    )
                ),
            )
        ).all()
        for row_id, changes in rows:
            total += _rewrite(connection, row_id, changes, scrub(changes, pattern))
    for table, record in named:
        rows = connection.execute(
            select(AuditLog.id, AuditLog.changes).where(
                AuditLog.table_name == table, AuditLog.record_id == record
            )
        ).all()
        for row_id, changes in rows:
            total += _rewrite(connection, row_id, changes, redact_changes(table, changes))
    pending = (AuditRedaction.redacted_at.is_(None),) + (
        (AuditRedaction.pupil_id.is_(None),)
        if pupil_id is None
        else (AuditRedaction.pupil_id == pupil_id,)
    )
    connection.execute(
        update(AuditRedaction)
        .where(*pending, AuditRedaction.table_name == TEXT_TABLE)
        .values(fields=[])
    )
    connection.execute(update(AuditRedaction).where(*pending).values(redacted_at=now))
    connection.execute(
        insert(AuditLog),
        [
            {
                "at": now,
                "user_id": user_id,
                "username": username[:60],
                "action": AuditAction.REDACT,
                **_redact_row(pupil_id, named, total),
            }
        ],
    )
    return total


def _redact_row(pupil_id: int | None, named: list[tuple[str, str]], total: int) -> dict[str, Any]:
    """Where the ``redact`` row points: the pupil, or (for deletions) the trail itself."""
    if pupil_id is not None:
        return {
            "table_name": Pupil.__tablename__,
            "record_id": str(pupil_id),
            "changes": {"trail_rows_redacted": total},
        }
    return {
        "table_name": TEXT_TABLE,
        "record_id": TEXT_RECORD,
        "changes": {
            "trail_rows_redacted": total,
            "deleted": [f"{table} {record}" for table, record in named],
        },
    }


def _stored_forms(words: Iterable[str]) -> set[str]:
    """Each word as the trail's JSON text may hold it: as typed, and with non-ASCII letters
    escaped (json.dumps), in its lower, upper and title case (LIKE folds ASCII case only)."""
    forms: set[str] = set()
    for word in words:
        for variant in (word, word.lower(), word.upper(), word.title()):
            forms.add(variant)
            forms.add(json.dumps(variant)[1:-1])
    return forms


def _like_escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _rewrite(connection: Connection, row_id: int, old: Any, new: Any) -> int:
    if new == old:
        return 0
    connection.execute(
        text("UPDATE audit_log SET changes = :changes WHERE id = :id"),
        {"changes": json.dumps(new), "id": row_id},
    )
    return 1
