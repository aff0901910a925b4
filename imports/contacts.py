"""The applications import's parent/carer columns: one contact per row, all optional.

    contact_name             the parent's or carer's full name (the other columns need it)
    contact_relationship*    mother, father, foster carer, ... (* when contact_name is given)
    contact_address          postal address, when it is not the child's home address
    contact_postcode         its postcode
    contact_email            e-mail address
    contact_phone            phone number
    contact_channel          post or email (default: email when an address is given, else post)
    contact_parental_responsibility  yes/no (default yes)

A contact is matched on the pupil and the name (ignoring case): a new one is added, a changed
one updated, an identical one left alone, so re-importing the same file changes nothing. The
columns are read only where contact_name is filled in, so files without them import as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from sqlalchemy import func, select

from models import Contact, Pupil, db
from models.enums import Channel

from .reading import Cells, Table, among, bulk_update, insert_rows
from .report import ImportReport

NAME = "contact_name"
RELATIONSHIP = "contact_relationship"
ADDRESS = "contact_address"
POSTCODE = "contact_postcode"
EMAIL = "contact_email"
PHONE = "contact_phone"
CHANNEL = "contact_channel"
RESPONSIBILITY = "contact_parental_responsibility"
COLUMNS = (NAME, RELATIONSHIP, ADDRESS, POSTCODE, EMAIL, PHONE, CHANNEL, RESPONSIBILITY)
FIELDS = (
    "relationship_to_child",
    "postal_address",
    "postcode",
    "email",
    "phone",
    "preferred_channel",
    "parental_responsibility",
)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ContactRow(NamedTuple):
    row: int
    pupil_reference: str
    name: str
    values: tuple[Any, ...]  # FIELDS order


def read_contacts(table: Table, report: ImportReport, pupil_column: str) -> list[ContactRow]:
    """The rows that name a contact, checked cell by cell (errors go to the report)."""
    if NAME not in table.columns:
        return []
    found: list[ContactRow] = []
    for i, row in enumerate(table.numbers):
        values = table.row(i)
        if not (values.get(NAME) or "").strip():
            continue
        cells = Cells(row, values, report)
        name = cells.text(NAME, required=True, max_len=120)
        relationship = cells.text(RELATIONSHIP, required=True, max_len=40)
        email = cells.text(EMAIL, max_len=254)
        if email and not _EMAIL_RE.match(email):
            cells._fail(EMAIL, f"{email!r} is not an e-mail address")
        channel = cells.choice(CHANNEL, Channel) or (Channel.EMAIL if email else Channel.POST)
        if channel is Channel.EMAIL and not email:
            cells._fail(CHANNEL, "email is chosen but contact_email is empty (B1i)")
        contact = (
            relationship,
            cells.text(ADDRESS, max_len=300),
            cells.postcode(POSTCODE),
            email,
            cells.text(PHONE, max_len=30),
            channel,
            cells.boolean(RESPONSIBILITY, default=True),
        )
        pupil_ref = cells.raw(pupil_column)
        if not cells.failed and name and pupil_ref:
            found.append(ContactRow(row, pupil_ref, name, contact))
    return found


def plan_contacts(rows: list[ContactRow], report: ImportReport) -> list[ContactRow]:
    """Count what the rows would do against the held contacts; returns the rows to write."""
    held = _held({r.pupil_reference for r in rows})
    seen: set[tuple[str, str]] = set()
    wanted: list[ContactRow] = []
    for r in rows:
        key = (r.pupil_reference, r.name.casefold())
        if key in seen:
            continue  # the pupil's other applications repeat the same contact
        seen.add(key)
        stored = held.get(key)
        if stored is None:
            report.inserted["contacts"] += 1
        elif stored[1] == r.values:
            report.unchanged["contacts"] += 1
            continue
        else:
            report.updated["contacts"] += 1
        wanted.append(r)
    return wanted


def write_contacts(rows: list[ContactRow], pupil_ids: Mapping[str, int]) -> None:
    """Insert new contacts and update changed ones (inside the import's transaction)."""
    held = _held({r.pupil_reference for r in rows})
    inserts: list[tuple[Any, ...]] = []
    updates: list[dict[str, Any]] = []
    for r in rows:
        stored = held.get((r.pupil_reference, r.name.casefold()))
        if stored is None:
            inserts.append((pupil_ids[r.pupil_reference], r.name, *r.values))
        else:
            updates.append({"id": stored[0], **dict(zip(FIELDS, r.values, strict=True))})
    insert_rows(Contact, ("pupil_id", "name", *FIELDS), inserts)
    if updates:
        bulk_update(Contact, updates)


def _held(pupil_refs: set[str]) -> dict[tuple[str, str], tuple[int, tuple[Any, ...]]]:
    if not pupil_refs:
        return {}
    query = (
        select(
            Pupil.reference,
            func.lower(Contact.name),
            Contact.id,
            *(getattr(Contact, f) for f in FIELDS),
        )
        .join(Pupil, Pupil.id == Contact.pupil_id)
        .where(among(Pupil.reference, pupil_refs))
    )
    return {
        (ref, name.casefold()): (cid, tuple(values))
        for ref, name, cid, *values in db.session.execute(query)
    }
