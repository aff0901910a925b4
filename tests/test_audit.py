"""The audit trail: every insert, update and delete, by whom, from what to what (issue 5)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from models import AuditLog, School, User, db
from models.enums import AuditAction, EstablishmentType
from services.audit import MASK, acting_user
from tests import factories


def trail(table: str | None = None) -> list[AuditLog]:
    query = select(AuditLog).order_by(AuditLog.id)
    if table:
        query = query.where(AuditLog.table_name == table)
    return list(db.session.scalars(query))


def test_insert_update_delete_each_write_a_row_with_old_and_new_values(app_ctx: Flask) -> None:
    school = factories.school(name="Old Name")
    db.session.commit()
    school.name = "New Name"
    db.session.commit()
    db.session.delete(school)
    db.session.commit()

    rows = trail("school")
    assert [r.action for r in rows] == [AuditAction.INSERT, AuditAction.UPDATE, AuditAction.DELETE]
    assert {r.record_id for r in rows} == {str(school.id)}
    assert rows[0].changes["name"] == [None, "Old Name"]
    assert rows[1].changes == {"name": ["Old Name", "New Name"]}
    assert rows[2].changes["name"] == ["New Name", None]
    assert all(r.username == "system" and r.user_id is None for r in rows)


def test_values_are_stored_json_safe_decimal_date_and_enum(app_ctx: Flask) -> None:
    factories.academic_year("2024/25", with_calendar=False)
    setting = factories.contribution_setting("2024/25", post16_contribution=Decimal("456.00"))
    db.session.commit()
    setting.post16_contribution = Decimal("470.50")
    db.session.commit()
    (year_row,) = trail("academic_year")
    assert year_row.changes["starts"] == [None, "2024-09-01"]
    update_row = trail("contribution_setting")[-1]
    assert update_row.changes == {"post16_contribution": ["456.00", "470.50"]}
    school = factories.school(establishment_type=EstablishmentType.COMMUNITY)
    db.session.commit()
    assert trail("school")[-1].changes["establishment_type"] == [None, "community"]
    assert school.id


def test_a_rolled_back_change_leaves_no_audit_row(app_ctx: Flask) -> None:
    factories.school(name="Never kept")
    db.session.rollback()
    assert trail("school") == []


def test_password_hashes_are_masked_never_copied(app_ctx: Flask, users: dict[str, int]) -> None:
    user = db.session.get(User, users["officer"])
    assert user is not None
    user.password_hash = "new-hash-value"
    db.session.commit()
    rows = trail("user_account")
    assert rows, "creating and changing accounts is audited"
    for row in rows:
        assert "new-hash-value" not in str(row.changes)
        assert "argon2" not in str(row.changes)
    assert rows[-1].changes["password_hash"] == [MASK, MASK]


def test_a_command_or_service_names_its_user_with_acting_user(app_ctx: Flask) -> None:
    with acting_user("nightly-import", user_id=7):
        factories.school(name="Imported")
        db.session.commit()
    (row,) = trail("school")
    assert (row.username, row.user_id) == ("nightly-import", 7)
    factories.school(name="Later")
    db.session.commit()
    assert trail("school")[-1].username == "system"


def test_set_based_statements_record_each_record_old_and_new(app_ctx: Flask) -> None:
    """Services' session.execute(update/insert/delete): one trail row per record (issue 16)."""
    a = factories.school(name="A")
    b = factories.school(name="B")
    untouched = factories.school(name="C")
    db.session.commit()
    with acting_user("bulk-service"):
        db.session.execute(update(School).where(School.id.in_([a.id, b.id])).values(name="Renamed"))
        db.session.execute(
            insert(School),
            [
                {
                    "urn": 990001 + i,
                    "name": f"Bulk {i}",
                    "phase": "secondary",
                    "establishment_type": "academy",
                    "statutory_low_age": 11,
                    "statutory_high_age": 16,
                    "postcode": "LN1 1AA",
                    "easting": 497000,
                    "northing": 371000,
                }
                for i in range(3)
            ],
        )
        bulk_ids = db.session.scalars(select(School.id).where(School.name.like("Bulk%"))).all()
        db.session.execute(delete(School).where(School.name.like("Bulk%")))
        db.session.commit()
    rows = [r for r in trail("school") if r.changes.get("_statement")]
    updates = [r for r in rows if r.action is AuditAction.UPDATE]
    assert sorted(r.record_id for r in updates) == sorted([str(a.id), str(b.id)])
    assert {r.record_id: r.changes["name"] for r in updates} == {
        str(a.id): ["A", "Renamed"],
        str(b.id): ["B", "Renamed"],
    }
    assert str(untouched.id) not in {r.record_id for r in rows}
    inserts = [r for r in rows if r.action is AuditAction.INSERT]
    assert sorted(r.changes["name"][1] for r in inserts) == ["Bulk 0", "Bulk 1", "Bulk 2"]
    deletes = [r for r in rows if r.action is AuditAction.DELETE]
    assert sorted(r.record_id for r in deletes) == sorted(str(i) for i in bulk_ids)
    assert all(r.changes["name"][1] is None for r in deletes)
    assert all(r.username == "bulk-service" for r in rows)


def test_a_bulk_insert_records_each_rows_own_values(app_ctx: Flask) -> None:
    """Rows naming different columns, enums and repeated values: every trail row carries its
    own record's values as JSON (issue 16), however the trail batches the conversion."""
    with acting_user("bulk-service"):
        db.session.execute(
            insert(School),
            [
                {"urn": 990101, "name": "One", "phase": "secondary",
                 "establishment_type": "academy", "postcode": "LN1 1AA"},
                {"urn": 990102, "name": "Two", "phase": "secondary",
                 "establishment_type": "academy", "postcode": "LN1 1AA"},
                {"urn": 990103, "name": "Three", "phase": "primary",
                 "establishment_type": "community", "postcode": "LN1 1AA", "selective": True},
            ],
        )  # fmt: skip
        db.session.commit()
    rows = [r for r in trail("school") if r.changes.get("_statement") == "insert"]
    by_name = {r.changes["name"][1]: r.changes for r in rows}
    assert sorted(by_name) == ["One", "Three", "Two"]
    assert by_name["One"]["phase"] == [None, "secondary"]
    assert by_name["Three"]["phase"] == [None, "primary"]
    assert by_name["Three"]["establishment_type"] == [None, EstablishmentType.COMMUNITY.value]
    assert by_name["Three"]["selective"] == [None, True] and "selective" not in by_name["One"]
    assert by_name["Two"]["urn"] == [None, 990102]
    # Which record (issue 16): the key the database assigned, not a placeholder.
    ids = dict(db.session.execute(select(School.name, School.id)).all())
    assert {r.changes["name"][1]: r.record_id for r in rows} == {
        name: str(ids[name]) for name in ("One", "Two", "Three")
    }


def test_an_insert_from_select_records_each_new_row(app_ctx: Flask) -> None:
    factories.school(name="A")
    db.session.commit()
    columns = [
        "urn",
        "name",
        "phase",
        "establishment_type",
        "statutory_low_age",
        "statutory_high_age",
        "postcode",
        "easting",
        "northing",
    ]
    source = select(
        (School.urn + 1).label("urn"),
        School.name,
        School.phase,
        School.establishment_type,
        School.statutory_low_age,
        School.statutory_high_age,
        School.postcode,
        School.easting,
        School.northing,
    )
    db.session.execute(insert(School).from_select(columns, source))
    db.session.commit()
    (copy,) = [r for r in trail("school") if r.changes.get("_statement")]
    new_id = db.session.scalar(select(School.id).order_by(School.id.desc()))
    assert copy.action is AuditAction.INSERT and copy.record_id == str(new_id)
    assert copy.changes["name"] == [None, "A"]


def test_a_bulk_statement_rolled_back_leaves_no_summary(app_ctx: Flask) -> None:
    factories.school(name="A")
    db.session.commit()
    db.session.execute(update(School).values(name="Z"))
    db.session.rollback()
    assert [r for r in trail("school") if r.changes.get("_statement")] == []


@pytest.mark.commits  # its own connection must see the committed row
def test_the_database_refuses_update_and_delete_on_audit_log(app_ctx: Flask) -> None:
    """Append-only is enforced by a trigger (migration 0002), not only by the screens."""
    factories.school()
    db.session.commit()
    for statement in ("UPDATE audit_log SET username = 'forged'", "DELETE FROM audit_log"):
        with (
            db.engine.connect() as conn,
            pytest.raises((IntegrityError, OperationalError, DBAPIError)) as caught,
        ):
            conn.execute(text(statement))
        assert "append-only" in str(caught.value)
    assert {r.username for r in trail()} == {"system"}


def test_panel_changes_are_attributed_to_the_signed_in_user(
    client_as: Callable[[str], FlaskClient], app: Flask, users: dict[str, int]
) -> None:
    client = client_as("supervisor")
    with app.app_context():
        factories.academic_year("2024/25", with_calendar=False)
        db.session.commit()
    response = client.post(
        "/admin/contribution_setting/new/",
        data={
            "academic_year": "2024/25",
            "post16_contribution": "456.00",
            "concessionary_annual_charge": "456.00",
            "offers_full": "y",
            "offers_three": "y",
            "offers_six": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        (row,) = trail("contribution_setting")
        assert (row.username, row.user_id) == ("supervisor", users["supervisor"])
        assert row.changes["post16_contribution"] == [None, "456.00"]


def test_sign_in_is_attributed_to_the_user_and_failures_to_anonymous(
    app: Flask, users: dict[str, int]
) -> None:
    client = app.test_client()
    client.post("/login", data={"username": "officer", "password": "wrong password!"})
    client.post("/login", data={"username": "officer", "password": "correct horse battery staple"})
    with app.app_context():
        rows = [r for r in trail("user_account") if r.action is AuditAction.UPDATE]
        assert [(r.username, sorted(k for k in r.changes if k[0] != "_")) for r in rows] == [
            ("anonymous", ["failed_logins"]),
            ("officer", ["failed_logins", "last_login_at"]),
        ]


def test_orm_bulk_update_by_primary_key_is_recorded_per_record(app_ctx):  # type: ignore[no-untyped-def]
    """The ORM's bulk UPDATE by primary key: each record's trail row, old and new name."""
    from sqlalchemy import select, update

    from models import AuditLog, Parish, db
    from tests import factories

    first, second = factories.parish(), factories.parish()
    db.session.commit()
    first_name, second_name = first.name, second.name
    db.session.execute(
        update(Parish), [{"id": first.id, "name": "Renamed 1"}, {"id": second.id, "name": "R2"}]
    )
    db.session.commit()
    names = db.session.scalars(select(Parish.name).order_by(Parish.id)).all()
    assert names == ["Renamed 1", "R2"]
    summaries = db.session.scalars(
        select(AuditLog).where(AuditLog.table_name == "parish", AuditLog.action == "update")
    ).all()
    assert {row.record_id: row.changes["name"] for row in summaries} == {
        str(first.id): [first_name, "Renamed 1"],
        str(second.id): [second_name, "R2"],
    }


def test_a_bulk_action_records_each_record_by_whom(
    client_as: Callable[[str], FlaskClient], app: Flask, users: dict[str, int]
) -> None:
    """A list's bulk action (here Delete) bypasses the views' model hooks; the trail still has
    a row per record with its old values and the signed-in user (issue 16: form, action,
    import, command and bulk statement alike)."""
    with app.app_context():
        ids = [factories.school(name=name).id for name in ("Action One", "Action Two")]
        db.session.commit()
    response = client_as("supervisor").post(
        "/admin/school/action/", data={"action": "delete", "rowid": [str(i) for i in ids]}
    )
    assert response.status_code == 302
    with app.app_context():
        rows = [r for r in trail("school") if r.action is AuditAction.DELETE]
        assert sorted(r.record_id for r in rows) == sorted(str(i) for i in ids)
        assert sorted(r.changes["name"][0] for r in rows) == ["Action One", "Action Two"]
        assert {(r.username, r.user_id) for r in rows} == {("supervisor", users["supervisor"])}


def test_a_decisions_facts_are_in_the_trail_by_their_digest_not_copied(app_ctx: Flask) -> None:
    """Every new decision is in the trail, record by record; its facts (the child's date of
    birth, address, school) are recorded by the digest the decision stores beside them, which
    proves what was decided on without a second copy of personal data (UK GDPR Art. 5(1)(c))."""
    from models import EligibilityDecision
    from services.assessment import assess_applications

    factories.academic_year()
    pupil = factories.pupil(easting=500000, northing=375000)
    school = factories.school(easting=506000, northing=375000)
    application = factories.transport_application(pupil, school, distance_m=6100)
    db.session.commit()
    assess_applications(ids=[application.id], user_id=None)
    decision = db.session.scalars(select(EligibilityDecision)).one()
    [row] = [r for r in trail("eligibility_decision") if r.action is AuditAction.INSERT]
    assert row.record_id == str(decision.id)
    assert row.changes["facts"] == [None, f"sha256:{decision.facts_hash}"]
    assert row.changes["outcome"] == [None, decision.outcome.value]
    assert pupil.date_of_birth.isoformat() not in str(row.changes)
