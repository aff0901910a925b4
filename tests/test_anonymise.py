"""Anonymising a pupil (UK GDPR Art. 17, 5(1)(e)): the family goes, the counts and money stay,
and the audit trail stops holding their personal values while staying append-only (issue 16).

Before issue 16 no pupil with an application could be erased or anonymised by anyone, and
deleting one wrote their full record into the trail for ever.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from models import (
    Appeal,
    AuditLog,
    AuditRedaction,
    CaseDocument,
    CaseNote,
    Communication,
    Contact,
    Contribution,
    EligibilityDecision,
    Payment,
    Pupil,
    TransportApplication,
    db,
)
from models.enums import (
    AppealStage,
    AuditAction,
    Channel,
    CommunicationStatus,
    ContributionKind,
    LetterKind,
    PaymentPlan,
)
from services import casework
from services.anonymise import anonymise_pupil, cohort_start, outward_code
from services.audit import acting_user
from services.redaction import REDACTED
from tests import factories
from tests.support import postgres

ROLE = "transport_app_redact"

# What the family told the council: none of it may survive, in the tables or the trail.
PERSONAL = ("Ava", "Quigley", "12 Orchard Way", "Nettleham", "LN2 2BB", "jane.q@example.com",
            "07700 900123", "Jane Quigley", "wheelchair user", "2013-05-17")  # fmt: skip


def build_case(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A pupil with a parent, an application, a decision, an appeal, a letter and money."""
    year = factories.academic_year("2024/25", with_calendar=False)
    school = factories.school(name="Priory Academy")
    pupil = factories.pupil(
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
    application = factories.transport_application(
        pupil, school, determination_notes="Ava is a wheelchair user", full_time_hours=None
    )
    session.flush()
    decision = factories.decision(application, facts={"date_of_birth": "2013-05-17"})
    session.flush()
    session.add(
        Appeal(
            decision_id=decision.id,
            stage=AppealStage.REVIEW,
            received_on=date(2024, 7, 1),
            request_deadline=date(2024, 7, 29),
            decision_due=date(2024, 7, 29),
            grounds="Ava is a wheelchair user",
        )  # fmt: skip
    )
    session.add(
        Communication(
            kind=LetterKind.DECISION_ELIGIBLE, subject_key=f"decision:{decision.id}",
            academic_year=year.label, pupil=pupil, application=application,
            contact=pupil.contacts[0], channel=Channel.EMAIL, addressee="Jane Quigley",
            address_used="jane.q@example.com", template_version=0, letter_date=date(2024, 7, 2),
            title="Ava Quigley: your decision", body_text="Dear Jane Quigley, Ava ...",
            pdf=b"%PDF-1.4 Ava Quigley", made_by="system", made_at=datetime.now(UTC),
            status=CommunicationStatus.SENT,
        )
    )  # fmt: skip
    session.add(
        Communication(
            kind=LetterKind.PAYMENT_REMINDER, subject_key="instalment:1",
            academic_year=year.label, pupil=pupil, contact=pupil.contacts[0],
            channel=Channel.POST, addressee="Jane Quigley", address_used="12 Orchard Way",
            template_version=0, letter_date=date(2024, 9, 20), title="Payment due",
            body_text="Dear Jane Quigley", pdf=b"%PDF-1.4", made_by="system",
            made_at=datetime.now(UTC), status=CommunicationStatus.QUEUED,
        )
    )  # fmt: skip
    contribution = Contribution(
        kind=ContributionKind.POST16, pupil=pupil, academic_year=year.label,
        transport_application=application, annual_amount=Decimal("600.00"),
        amount=Decimal("600.00"), start_date=date(2024, 9, 1), plan=PaymentPlan.FULL,
    )  # fmt: skip
    session.add(contribution)
    session.flush()
    session.add(
        Payment(
            contribution_id=contribution.id,
            received_on=date(2024, 9, 2),
            amount=Decimal("250.50"),
            method="card",
            reference="Q-JANE-0001",
        )  # fmt: skip
    )
    session.add(CaseNote(pupil=pupil, text="Mother Jane Quigley rang about the wheelchair user"))
    session.flush()
    store = Path(str(current_app.config["CASE_DOCUMENTS_DIR"]))
    document = casework.store_document(
        session, store, pupil_id=pupil.id, kind="medical_evidence",
        filename="Ava Quigley medical.pdf", content_type="application/pdf",
        data=b"%PDF-1.4 Ava Quigley consultant letter", uploaded_by_id=None,
    )  # fmt: skip
    other = factories.pupil(
        first_name="Ben", last_name="Other", address="1 Elm Road", postcode="PE21 6JY"
    )
    session.commit()
    # The family moved once: the old address is in the trail as an update.
    pupil.address = "12 Orchard Way"
    pupil.town = "Nettleham"
    session.commit()
    return {
        "pupil": pupil.id,
        "application": application.id,
        "other": other.id,
        "document": document.id,
    }


def trail_text() -> str:
    db.session.expire_all()
    rows = db.session.scalars(select(AuditLog)).all()
    return "\n".join(json.dumps(r.changes, ensure_ascii=False) for r in rows)


def trail_count() -> int:
    return db.session.scalar(select(func.count(AuditLog.id))) or 0


def test_cohort_and_outward_code() -> None:
    assert cohort_start(date(2013, 5, 17)) == date(2012, 9, 1)  # Year group kept
    assert cohort_start(date(2013, 9, 1)) == date(2013, 9, 1)
    assert outward_code("ln2 2bb") == "LN2" and outward_code("PE212BB") == "PE21"


def test_the_family_goes_the_counts_and_money_stay(app_ctx: Flask) -> None:
    ids = build_case(db.session)
    assert "Quigley" in trail_text()  # the trail held them, before
    before = trail_count()
    with acting_user("supervisor"):
        result = anonymise_pupil(db.session, ids["pupil"])
    assert not result.already
    db.session.expire_all()
    pupil = db.session.get(Pupil, ids["pupil"])
    assert pupil is not None and pupil.anonymised_at is not None
    assert (pupil.first_name, pupil.last_name, pupil.address) == ("Anonymised",) * 3
    assert pupil.reference == f"ANON{pupil.id}" and pupil.town is None
    assert pupil.date_of_birth == date(2012, 9, 1) and pupil.postcode == "LN2"
    assert pupil.easting is None and pupil.northing is None
    contact = db.session.scalars(select(Contact)).one()
    assert (contact.name, contact.email, contact.phone, contact.preferred_channel) == (
        "Anonymised", None, None, Channel.POST,
    )  # fmt: skip
    assert contact.relationship_to_child == "mother"
    letter, queued = db.session.scalars(select(Communication).order_by(Communication.id)).all()
    assert letter.pdf == b"" and "Quigley" not in letter.addressee + letter.body_text + letter.title
    assert letter.status is CommunicationStatus.SENT
    # The queued one is never sent now (no addressee), nor printed.
    assert queued.pdf == b"" and queued.status is CommunicationStatus.FAILED
    assert "anonymised" in (queued.status_note or "")
    application = db.session.get(TransportApplication, ids["application"])
    assert application is not None and application.determination_notes is None
    decision = db.session.scalars(select(EligibilityDecision)).one()
    assert decision.facts["date_of_birth"] == "2012-09-01"
    assert db.session.scalars(select(Appeal)).one().grounds == "[anonymised]"
    # Case notes and documents: the text and names go, and the document's file is deleted.
    assert db.session.scalars(select(CaseNote)).one().text == "[anonymised]"
    kept_document = db.session.get(CaseDocument, ids["document"])
    assert kept_document is not None and kept_document.filename == "[anonymised]"
    store = Path(str(current_app.config["CASE_DOCUMENTS_DIR"]))
    assert not (store / kept_document.storage_key).exists()
    # Counts and money are kept.
    assert db.session.scalar(select(func.count(TransportApplication.id))) == 1
    assert db.session.scalar(select(func.sum(Contribution.amount))) == Decimal("600.00")
    assert db.session.scalar(select(func.sum(Payment.amount))) == Decimal("250.50")
    assert db.session.scalars(select(Payment)).one().reference is None
    assert result.kept["payments_total"] == "250.50"
    assert result.kept["applications"] == 1
    # Another pupil is untouched.
    assert db.session.get(Pupil, ids["other"]).first_name == "Ben"  # type: ignore[union-attr]

    # The trail: nothing personal survives, every row is still there, and it says who did it.
    text_ = trail_text()
    for value in PERSONAL:
        assert value not in text_, value
    assert REDACTED in text_
    assert trail_count() > before
    marks = db.session.scalars(
        select(AuditLog).where(
            AuditLog.action.in_([AuditAction.ANONYMISE, AuditAction.REDACT]),
            AuditLog.record_id == str(ids["pupil"]),
        )
    ).all()
    assert sorted(m.action.value for m in marks) == ["anonymise", "redact"]
    anonymise_row = next(m for m in marks if m.action is AuditAction.ANONYMISE)
    assert anonymise_row.username == "supervisor"
    assert anonymise_row.changes["kept"]["contributions_total"] == "600.00"
    assert result.trail_rows_redacted > 0
    assert "Ben" in text_  # the other pupil's trail is not redacted


def test_doing_it_again_changes_nothing(app_ctx: Flask) -> None:
    ids = build_case(db.session)
    anonymise_pupil(db.session, ids["pupil"])
    count = trail_count()
    again = anonymise_pupil(db.session, ids["pupil"])
    assert again.already and trail_count() == count


@pytest.mark.commits  # its own connection must see the committed rows
def test_the_trail_is_still_append_only_after_a_redaction(app_ctx: Flask) -> None:
    """The exception is one redaction of one anonymised pupil's records, and it is spent."""
    ids = build_case(db.session)
    anonymise_pupil(db.session, ids["pupil"])
    own = db.session.scalars(
        select(AuditLog.id).where(
            AuditLog.table_name == "pupil", AuditLog.record_id == str(ids["pupil"])
        )
    ).first()
    other = db.session.scalars(
        select(AuditLog.id).where(
            AuditLog.table_name == "pupil", AuditLog.record_id == str(ids["other"])
        )
    ).first()
    for row_id in (own, other):
        for statement in (
            "UPDATE audit_log SET changes = '{}' WHERE id = :id",
            "UPDATE audit_log SET username = 'forged' WHERE id = :id",
            "DELETE FROM audit_log WHERE id = :id",
        ):
            with db.engine.connect() as conn, pytest.raises(DBAPIError) as caught:
                conn.execute(text(statement), {"id": row_id})
            assert "append-only" in str(caught.value)


@pytest.mark.commits  # its own connection must see the committed rows
def test_no_redaction_of_a_pupil_who_is_not_anonymised(app_ctx: Flask) -> None:
    """A permit naming a live pupil's record opens nothing (the pupil must be anonymised)."""
    ids = build_case(db.session)
    db.session.add(
        AuditRedaction(
            pupil_id=ids["other"],
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
            conn.execute(text("SELECT audit_log_redact(:p, NULL, 'x')"), {"p": ids["other"]})
        assert "not anonymised" in str(refused.value)


def test_all_or_nothing(app_ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure part-way (here, in the trail's redaction) leaves the pupil as they were."""
    import services.anonymise as anonymise

    ids = build_case(db.session)

    def broken(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(anonymise, "redact_trail", broken)
    with pytest.raises(RuntimeError):
        anonymise_pupil(db.session, ids["pupil"])
    db.session.rollback()
    pupil = db.session.get(Pupil, ids["pupil"])
    assert pupil is not None and pupil.first_name == "Ava" and pupil.anonymised_at is None
    assert "Quigley" in trail_text()


def test_a_supervisor_anonymises_from_the_pupil_screen_others_may_not(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        ids = build_case(db.session)
    for role in ("assistant", "officer"):
        refused = client_as(role).post(
            "/admin/pupil/action/", data={"action": "anonymise", "rowid": str(ids["pupil"])}
        )
        assert refused.status_code == 403
    with app.app_context():
        assert db.session.get(Pupil, ids["pupil"]).anonymised_at is None  # type: ignore[union-attr]
    supervisor = client_as("supervisor")
    listing = supervisor.get("/admin/pupil/").get_data(as_text=True)
    assert "Anonymise (erase personal data)" in listing
    assert "This cannot be undone" in listing  # the confirmation the list asks first
    done = supervisor.post(
        "/admin/pupil/action/",
        data={"action": "anonymise", "rowid": str(ids["pupil"])},
        follow_redirects=True,
    )
    assert "1 pupils anonymised" in done.get_data(as_text=True)
    with app.app_context():
        pupil = db.session.get(Pupil, ids["pupil"])
        assert pupil is not None and pupil.anonymised_at is not None
        row = db.session.scalars(
            select(AuditLog).where(AuditLog.action == AuditAction.ANONYMISE)
        ).one()
        assert row.username == "supervisor"


@pytest.fixture(scope="module")
def owned_database(pg_base_url: str) -> Iterator[tuple[str, str]]:
    """A PostgreSQL database migrated by its owner, the runtime role granted as in production
    (as tests/test_audit_append_only.py's, with a role and database of its own)."""
    from alembic import command

    from tests.conftest import alembic_config

    plain = pg_base_url.replace("postgresql+psycopg://", "postgresql://")
    owner_url = postgres.create_database(pg_base_url, "audit_redact")
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone():
            conn.execute(f'CREATE ROLE "{ROLE}" LOGIN')
    cfg = alembic_config(owner_url)
    cfg.attributes["app_role"] = ROLE
    command.upgrade(cfg, "head")
    scheme, rest = owner_url.split("://", 1)
    yield owner_url, f"{scheme}://{ROLE}@{rest.split('@', 1)[1]}"


def test_the_runtime_role_redacts_only_through_the_function(
    owned_database: tuple[str, str],
) -> None:
    """PostgreSQL: the app's role has no UPDATE on the trail, permit or not; the owner's
    SECURITY DEFINER function redacts for it, and records that it did."""
    from tests.conftest import make_app

    _owner, app_url = owned_database
    flask_app = make_app(app_url)
    with flask_app.app_context():
        ids = build_case(db.session)
        row_id = db.session.scalars(
            select(AuditLog.id).where(
                AuditLog.table_name == "pupil", AuditLog.record_id == str(ids["pupil"])
            )
        ).first()
        anonymise_pupil(db.session, ids["pupil"])
        text_ = trail_text()
        assert "Quigley" not in text_ and "Orchard" not in text_
        assert db.session.scalars(
            select(AuditLog).where(AuditLog.action == AuditAction.REDACT)
        ).one()
        # Deleting a pupil redacts through the same function (it checks the pupil is gone).
        db.session.delete(db.session.get(Pupil, ids["other"]))
        db.session.commit()
        assert "Elm Road" not in trail_text()
        db.session.remove()
        db.engine.dispose()
    with psycopg.connect(app_url.replace("+psycopg", "")) as conn:
        conn.execute(
            "INSERT INTO audit_redaction (pupil_id, table_name, record_id, fields, requested_at)"
            " VALUES (%s, 'pupil', %s, '[\"first_name\"]', now())",
            (ids["pupil"], str(ids["pupil"])),
        )
        with pytest.raises(psycopg.Error):
            conn.execute("UPDATE audit_log SET changes = '{}' WHERE id = %s", (row_id,))
