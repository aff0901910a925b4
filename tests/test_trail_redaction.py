"""Deleting a family's records, or anonymising them, leaves none of their personal values in the
audit trail: not in the delete row, not in the rows before it, not in the text of the reads
and statement summaries (issue 16, UK GDPR Art. 17).

Before this, deleting a pupil who had no application copied their whole record into the trail
for ever, and a search for an anonymised pupil's surname stayed in the trail's read rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, insert, select, text
from sqlalchemy.exc import DBAPIError

from models import (
    AuditLog,
    AuditRedaction,
    CaseNote,
    Communication,
    Contact,
    HomeAccessPoint,
    LowIncomeEvidence,
    Pupil,
    db,
)
from models.enums import AuditAction, Channel, CommunicationStatus, LetterKind
from services.anonymise import anonymise_pupil
from services.audit import acting_user
from services.redaction import REDACTED, scrub, scrub_pattern
from tests import factories

FAMILY = ("Quigley", "Ava", "12 Orchard Way", "Nettleham", "LN2 2BB", "2013-05-17",
          "jane.q@example.com", "07700 900123", "Jane Quigley", "long private drive")  # fmt: skip


def family(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A pupil with no application: a parent, a home access point, a note and a letter."""
    year = factories.academic_year("2024/25", with_calendar=False)
    pupil = factories.pupil(
        reference="QUIG0001",
        first_name="Ava",
        last_name="Quigley",
        date_of_birth=date(2013, 5, 17),
        address="12 Orchard Way",
        town="Nettleham",
        postcode="LN2 2BB",
    )
    pupil.contacts = [
        Contact(
            name="Jane Quigley",
            relationship_to_child="mother",
            email="jane.q@example.com",
            phone="07700 900123",
            preferred_channel=Channel.EMAIL,
        )
    ]
    pupil.low_income = [
        LowIncomeEvidence(
            academic_year=year.label, evidence="free school meals", verified_on=date(2024, 9, 2)
        )
    ]
    other = factories.pupil(
        first_name="Ben", last_name="Other", address="1 Elm Road", postcode="PE21 6JY"
    )
    session.flush()
    session.add(
        HomeAccessPoint(
            pupil_id=pupil.id, easting=500100, northing=375100, reason="long private drive"
        )
    )
    session.commit()
    return {"pupil": pupil.id, "contact": pupil.contacts[0].id, "other": other.id}


def letter_and_note(session, pupil_id: int, contact_id: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    letter = Communication(
        kind=LetterKind.PAYMENT_REMINDER, subject_key="instalment:1", academic_year="2024/25",
        pupil_id=pupil_id, contact_id=contact_id, channel=Channel.POST,
        addressee="Jane Quigley", address_used="12 Orchard Way", template_version=0,
        letter_date=date(2024, 9, 20), title="Ava Quigley: payment due",
        body_text="Dear Jane Quigley", pdf=b"%PDF-1.4", made_by="system",
        made_at=datetime.now(UTC), status=CommunicationStatus.SENT,
    )  # fmt: skip
    note = CaseNote(pupil_id=pupil_id, text="Jane Quigley rang about the long private drive")
    session.add_all([letter, note])
    session.commit()
    return letter.id, note.id


def trail() -> list[AuditLog]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditLog).order_by(AuditLog.id)))


def trail_text() -> str:
    return "\n".join(json.dumps(r.changes, ensure_ascii=False) for r in trail())


def held(values: tuple[str, ...]) -> list[str]:
    found = trail_text().lower()
    return [v for v in values if v.lower() in found]


def searched(client: FlaskClient, term: str) -> None:
    """A list search, which the trail records as a read with the words searched for."""
    assert client.get(f"/admin/pupil/?search={term}").status_code == 200


def summary_row(value: str) -> None:
    """A statement summary as the trail kept them (record "*", its bound values)."""
    db.session.connection().execute(
        insert(AuditLog),
        [
            {
                "at": datetime.now(UTC),
                "username": "system",
                "action": AuditAction.UPDATE,
                "table_name": "pupil",
                "record_id": "*",
                "changes": {
                    "bulk": True,
                    "statement": "UPDATE",
                    "rows": 1,
                    "where": "pupil.last_name = :last_name_1",
                    "parameters": {"last_name_1": value},
                },
            }
        ],
    )
    db.session.commit()


def test_scrub_takes_whole_words_any_case_and_keeps_the_shape() -> None:
    pattern = scrub_pattern({"Quigley", "LN2 2BB", "jane.q@example.com"})
    assert pattern is not None
    value = {
        "what": "pupil list",
        "filters": {"search": "quigley", "filters": [["Postcode", "equals", "ln2 2bb"]]},
        "note": "Quigleyson and jane.q@example.community stay",
        "rows": 3,
    }
    assert scrub(value, pattern) == {
        "what": "pupil list",
        "filters": {"search": REDACTED, "filters": [["Postcode", "equals", REDACTED]]},
        "note": "Quigleyson and jane.q@example.community stay",
        "rows": 3,
    }


def test_deleting_a_pupil_without_an_application_keeps_nothing_of_them(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        ids = family(db.session)
        # The family moved once: the old address is in the trail as an update.
        pupil = db.session.get(Pupil, ids["pupil"])
        assert pupil is not None
        pupil.town = "Cherry Willingham"
        db.session.commit()
        pupil.town = "Nettleham"
        db.session.commit()
    supervisor = client_as("supervisor")
    searched(supervisor, "Quigley")
    searched(supervisor, "Other")
    with app.app_context():
        assert held(FAMILY) == list(FAMILY)  # the trail held all of it, before
        count = len(trail())
    done = supervisor.post(
        "/admin/pupil/delete/", data={"id": str(ids["pupil"])}, follow_redirects=True
    )
    assert done.status_code == 200
    with app.app_context():
        assert db.session.get(Pupil, ids["pupil"]) is None
        assert held((*FAMILY, "Cherry Willingham")) == []
        rows = trail()
        assert len(rows) > count  # nothing was removed from the trail
        deletes = {(r.table_name, r.record_id): r for r in rows if r.action is AuditAction.DELETE}
        # Who deleted which record, each one, the personal fields redacted.
        gone = deletes[("pupil", str(ids["pupil"]))]
        assert gone.username == "supervisor"
        assert gone.changes["last_name"] == [REDACTED, None]
        assert gone.changes["first_name"] == [REDACTED, None]
        assert ("contact", str(ids["contact"])) in deletes
        assert deletes[("contact", str(ids["contact"]))].changes["relationship_to_child"] == [
            "mother",
            None,
        ]
        # The home access point went with the pupil (ON DELETE CASCADE), recorded too.
        point = next(r for (table, _), r in deletes.items() if table == "home_access_point")
        assert point.changes["reason"] == [REDACTED, None]
        assert point.changes["_deleted_with"] == f"pupil {ids['pupil']}"
        redact = next(r for r in rows if r.action is AuditAction.REDACT)
        assert redact.username == "supervisor"
        assert f"pupil {ids['pupil']}" in redact.changes["deleted"]
        # The search for the other pupil, and their records, are left as they were.
        assert "Ben" in trail_text() and '"search": "Other"' in trail_text()
        # The permits keep no personal values either.
        permits = db.session.scalars(select(AuditRedaction)).all()
        assert permits and all(p.redacted_at is not None for p in permits)
        assert "Quigley" not in json.dumps([p.fields for p in permits])


@pytest.mark.parametrize("how", ["orm", "statement"])
def test_deleting_a_contact_letter_or_note_redacts_its_trail(app_ctx: Flask, how: str) -> None:
    """Each personal record, deleted alone, the pupil still there: its values go from the
    trail; the pupil's own rows are not touched."""
    ids = family(db.session)
    letter_id, note_id = letter_and_note(db.session, ids["pupil"], ids["contact"])
    with acting_user("officer"):
        if how == "orm":
            for model, record_id in (
                (Communication, letter_id),
                (CaseNote, note_id),
                (Contact, ids["contact"]),
            ):
                db.session.delete(db.session.get(model, record_id))
                db.session.commit()
        else:
            db.session.execute(delete(Communication).where(Communication.id == letter_id))
            db.session.execute(delete(CaseNote).where(CaseNote.id == note_id))
            db.session.execute(delete(Contact).where(Contact.id == ids["contact"]))
            db.session.commit()
    assert held(("Jane Quigley", "jane.q@example.com", "07700 900123", "Dear Jane")) == []
    assert "long private drive" in trail_text()  # the home access point is still there
    assert "Quigley" in trail_text()  # and so is the pupil, whose record it is
    deletes = {(r.table_name, r.record_id): r for r in trail() if r.action is AuditAction.DELETE}
    for table, record_id in (
        ("communication", letter_id),
        ("case_note", note_id),
        ("contact", ids["contact"]),
    ):
        row = deletes[(table, str(record_id))]
        assert row.username == "officer"
        assert REDACTED in json.dumps(row.changes), table


def test_a_deleted_document_keeps_no_file_name_in_the_trail(app_ctx: Flask) -> None:
    from pathlib import Path

    from flask import current_app

    from models import CaseDocument
    from services import casework

    ids = family(db.session)
    document = casework.store_document(
        db.session, Path(str(current_app.config["CASE_DOCUMENTS_DIR"])), pupil_id=ids["pupil"],
        kind="medical_evidence", filename="Ava Quigley consultant.pdf",
        content_type="application/pdf", data=b"%PDF-1.4", uploaded_by_id=None,
    )  # fmt: skip
    db.session.commit()
    assert "consultant.pdf" in trail_text()
    db.session.delete(db.session.get(CaseDocument, document.id))
    db.session.commit()
    assert "consultant.pdf" not in trail_text()


def test_anonymising_redacts_reads_and_summaries(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        ids = family(db.session)
        summary_row("Quigley")
        summary_row("Other")
    assistant = client_as("assistant")
    searched(assistant, "Quigley")
    searched(assistant, "LN2 2BB")
    searched(assistant, "Other")
    with app.app_context():
        reads = [r for r in trail() if r.action is AuditAction.READ]
        assert any("Quigley" in json.dumps(r.changes) for r in reads)
        with acting_user("supervisor"):
            anonymise_pupil(db.session, ids["pupil"])
        assert held(FAMILY) == []
        rows = trail()
        searches = [
            r.changes["filters"]["search"]
            for r in rows
            if r.action is AuditAction.READ and "search" in r.changes.get("filters", {})
        ]
        assert sorted(searches) == sorted([REDACTED, REDACTED, "Other"])
        bound = [r.changes["parameters"]["last_name_1"] for r in rows if r.record_id == "*"
                 and "parameters" in r.changes]  # fmt: skip
        assert sorted(bound) == sorted([REDACTED, "Other"])
        # Who read what, and when, is still there: only the words went.
        assert len([r for r in rows if r.action is AuditAction.READ]) >= 3


@pytest.mark.commits  # it opens a connection of its own
def test_the_deletion_path_opens_nothing_for_a_record_still_there(app_ctx: Flask) -> None:
    """A permit without a pupil, for a live record (no delete row): the trail stays as it is;
    on PostgreSQL the function refuses it as well."""
    ids = family(db.session)
    db.session.add(
        AuditRedaction(
            pupil_id=None,
            table_name="pupil",
            record_id=str(ids["other"]),
            fields=["first_name"],
        )  # fmt: skip
    )
    db.session.commit()
    row_id = db.session.scalars(
        select(AuditLog.id).where(
            AuditLog.table_name == "pupil", AuditLog.record_id == str(ids["other"])
        )
    ).first()
    with db.engine.connect() as conn, pytest.raises(DBAPIError) as caught:
        conn.execute(text("UPDATE audit_log SET changes = '{}' WHERE id = :id"), {"id": row_id})
    assert "append-only" in str(caught.value)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn, pytest.raises(DBAPIError) as refused:
            conn.execute(text("SELECT audit_log_redact(NULL, NULL, 'x')"))
        assert "still exists" in str(refused.value)
    assert "Ben" in trail_text()


def test_deleting_an_application_or_a_home_access_point_redacts_its_free_text(
    app_ctx: Flask,
) -> None:
    """Every table in services/redaction.py's PERSONAL is treated alike: here an application's
    determination notes and a home access point's reason, each deleted alone."""
    from models import TransportApplication

    ids = family(db.session)
    pupil = db.session.get(Pupil, ids["pupil"])
    application = factories.transport_application(
        pupil, factories.school(), determination_notes="Ava is a wheelchair user"
    )
    db.session.commit()
    assert held(("wheelchair user", "long private drive")) == [
        "wheelchair user",
        "long private drive",
    ]
    db.session.delete(db.session.get(TransportApplication, application.id))
    db.session.delete(db.session.scalars(select(HomeAccessPoint)).one())
    db.session.commit()
    assert held(("wheelchair user", "long private drive")) == []
    assert "Quigley" in trail_text()  # the pupil is still there


def test_a_name_with_accents_is_taken_out_of_the_text_too(app_ctx: Flask) -> None:
    """The trail's JSON may hold "Zoë" escaped ("Zo\\u00eb"): it is found either way."""
    from services.audit import record_access

    pupil = factories.pupil(first_name="Zoë", last_name="Łukasiewicz", postcode="PE21 6JY")
    db.session.commit()
    for term in ("zoë łukasiewicz", "Łukasiewicz"):
        record_access(
            AuditAction.READ, "pupil", what="pupil list", filters={"search": term},
            session=db.session,
        )  # fmt: skip
    db.session.commit()
    db.session.delete(pupil)
    db.session.commit()
    searches = [
        r.changes["filters"]["search"]
        for r in trail()
        if r.action is AuditAction.READ and "filters" in r.changes
    ]
    assert searches == [f"{REDACTED} {REDACTED}", REDACTED]
