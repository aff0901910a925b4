"""The applications import writes only what the importing role may write on the form (issue 16).

Before issue 16 an assistant's file set ``route_unsuitable`` (an officer's A12 determination)
with no officer recorded, and a second application for the same child, year and school went in.
"""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from imports.applications import import_applications
from models import AuditLog, Pupil, TransportApplication, db
from tests import factories

from .conftest import csv_bytes, xlsx_bytes
from .test_applications import HEADER, TODAY, good_rows, reference  # noqa: F401

WITH_DETERMINATION = [*HEADER, "route_unsuitable"]


def rows_with(unsuitable: str) -> list[list[str]]:
    rows = [[*row, "no"] for row in good_rows()]
    rows[1][-1] = unsuitable  # TRA0000002, file row 3
    return rows


def application_count() -> int:
    return db.session.scalar(select(func.count(TransportApplication.id))) or 0


def errors_of(report) -> list[tuple[int | None, str]]:  # type: ignore[no-untyped-def]
    return [(e.row, e.column) for e in report.errors]


@pytest.mark.parametrize("make", [csv_bytes, xlsx_bytes], ids=["csv", "xlsx"])
@pytest.mark.parametrize("role", ["assistant", None])
def test_a_determination_from_a_non_officer_is_refused_naming_row_and_column(
    reference,  # noqa: F811
    users,
    make,
    role,
) -> None:
    user_id = users[role] if role else None
    name = "a.csv" if make is csv_bytes else "a.xlsx"
    report = import_applications(
        make(WITH_DETERMINATION, rows_with("yes")), name, today=TODAY, user_id=user_id
    )
    assert not report.committed
    assert errors_of(report) == [(3, "route_unsuitable")]
    assert "only an eligibility officer" in report.errors[0].reason
    assert application_count() == 0


def test_no_and_blank_are_not_determinations(reference, users) -> None:  # noqa: F811
    """An assistant's file may carry the column, as long as it records nothing (the default)."""
    report = import_applications(
        csv_bytes(WITH_DETERMINATION, rows_with("")),
        "a.csv",
        today=TODAY,
        user_id=users["assistant"],
    )
    assert report.committed, report.errors
    held = db.session.scalars(select(TransportApplication)).all()
    assert len(held) == 3
    assert all(not a.route_unsuitable and a.determined_by_id is None for a in held)


@pytest.mark.parametrize("role", ["officer", "supervisor"])
def test_an_officers_determination_is_imported_and_the_officer_recorded(
    reference,  # noqa: F811
    users,
    role,
) -> None:
    report = import_applications(
        csv_bytes(WITH_DETERMINATION, rows_with("yes")), "a.csv", today=TODAY, user_id=users[role]
    )
    assert report.committed, report.errors
    apps = {a.reference: a for a in db.session.scalars(select(TransportApplication))}
    determined = apps["TRA0000002"]
    assert determined.route_unsuitable is True
    assert determined.determined_by_id == users[role]
    assert determined.determined_at is not None
    others = [apps["TRA0000001"], apps["TRA0000003"]]
    assert all(a.determined_by_id is None and a.determined_at is None for a in others)
    # The determiner is in the trail too, attributed like any other change.
    trail = db.session.scalars(
        select(AuditLog).where(
            AuditLog.table_name == "transport_application",
            AuditLog.record_id == str(determined.id),
        )
    ).all()
    assert any(
        (row.changes.get("determined_by_id") or [None, None])[1] == users[role] for row in trail
    )


def test_a_deactivated_officer_may_not_determine(reference, users) -> None:  # noqa: F811
    from models import User

    officer = db.session.get(User, users["officer"])
    officer.active = False
    db.session.commit()
    report = import_applications(
        csv_bytes(WITH_DETERMINATION, rows_with("yes")),
        "a.csv",
        today=TODAY,
        user_id=users["officer"],
    )
    assert errors_of(report) == [(3, "route_unsuitable")]


@pytest.mark.parametrize("role", ["assistant", "officer", "supervisor"])
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("medical_accepted", "yes"),
        ("exceptional_transport_need", "yes"),
        ("route_assessed_on", "01/03/2024"),
    ],
)
def test_determinations_the_import_does_not_carry_are_refused_for_everyone(
    reference,  # noqa: F811
    users,
    role,
    column,
    value,
) -> None:
    rows = [[*row, ""] for row in good_rows()]
    rows[2][-1] = value  # file row 4
    report = import_applications(
        csv_bytes([*HEADER, column], rows), "a.csv", today=TODAY, user_id=users[role]
    )
    assert errors_of(report) == [(4, column)]
    assert application_count() == 0


@pytest.mark.parametrize("role", ["assistant", "officer", "supervisor"])
def test_a_second_application_for_the_same_child_year_and_school_in_the_file(
    reference,  # noqa: F811
    users,
    role,
) -> None:
    rows = good_rows()
    twin = list(rows[0])
    twin[0] = "TRA0000009"  # another reference, same pupil, year and school (file row 5)
    report = import_applications(
        csv_bytes(HEADER, [*rows, twin]), "a.csv", today=TODAY, user_id=users[role]
    )
    assert errors_of(report) == [(5, "school_urn")]
    assert "TRA0000001 on row 2" in report.errors[0].reason
    assert application_count() == 0


@pytest.mark.parametrize("role", ["assistant", "officer", "supervisor"])
def test_a_second_application_for_the_same_child_year_and_school_held_already(
    reference,  # noqa: F811
    users,
    role,
) -> None:
    first = import_applications(csv_bytes(HEADER, good_rows()), "a.csv", today=TODAY)
    assert first.committed
    twin = list(good_rows()[1])
    twin[0] = "TRA0000010"  # pupil P000002, 2024/25, URN 110001 again
    report = import_applications(
        csv_bytes(HEADER, [twin]), "b.csv", today=TODAY, user_id=users[role]
    )
    assert errors_of(report) == [(2, "school_urn")]
    assert "TRA0000002, held in the panel" in report.errors[0].reason
    assert application_count() == 3
    # Another year or another school is a new application, not a duplicate.
    factories.school(urn=110003)
    db.session.commit()
    other_school = list(twin)
    other_school[11] = "110003"
    assert import_applications(
        csv_bytes(HEADER, [other_school]), "c.csv", today=TODAY, user_id=users[role]
    ).committed
    assert application_count() == 4


def test_the_upload_page_imports_as_the_signed_in_role(app, client_as, tmp_path) -> None:
    """The screen passes the signed-in account: an assistant refused, an officer recorded."""
    app.config["IMPORT_UPLOAD_DIR"] = str(tmp_path / "uploads")
    with app.app_context():
        factories.academic_year("2024/25", with_calendar=False)
        factories.school(urn=110001)
        factories.school(urn=110002)
        factories.parish(code="E04000001", name="Nettleham")
        db.session.commit()
    data = csv_bytes(WITH_DETERMINATION, rows_with("yes"))

    def upload(client):  # type: ignore[no-untyped-def]
        return client.post(
            "/admin/imports/preview",
            data={"kind": "applications", "file": (io.BytesIO(data), "a.csv")},
            content_type="multipart/form-data",
        )

    try:
        refused = upload(client_as("assistant")).get_data(as_text=True)
        assert "route_unsuitable" in refused and "only an eligibility officer" in refused
        assert 'name="token"' not in refused
        officer = client_as("officer")
        html = upload(officer).get_data(as_text=True)
        token = re.search(r'name="token" value="([^"]+)"', html)
        assert token, html[:2000]
        assert (
            officer.post("/admin/imports/confirm", data={"token": token.group(1)}).status_code
            == 200
        )
        with app.app_context():
            app_row = db.session.scalar(
                select(TransportApplication).where(TransportApplication.reference == "TRA0000002")
            )
            assert app_row is not None and app_row.route_unsuitable
            assert app_row.determined_by is not None and app_row.determined_by.username == "officer"
    finally:
        app.config.pop("IMPORT_UPLOAD_DIR", None)


def test_the_command_needs_an_officer_named_for_determinations(app, users, tmp_path) -> None:
    with app.app_context():
        factories.academic_year("2024/25", with_calendar=False)
        factories.school(urn=110001)
        factories.school(urn=110002)
        factories.parish(code="E04000001", name="Nettleham")
        db.session.commit()
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes(WITH_DETERMINATION, rows_with("yes")))
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["import", "applications", str(path)])
    assert refused.exit_code == 2
    assert "route_unsuitable" in refused.output
    unknown = runner.invoke(args=["import", "applications", str(path), "--as", "nobody"])
    assert unknown.exit_code == 2
    done = runner.invoke(args=["import", "applications", str(path), "--as", "officer"])
    assert done.exit_code == 0, done.output
    with app.app_context():
        app_row = db.session.scalar(
            select(TransportApplication).where(TransportApplication.reference == "TRA0000002")
        )
        assert app_row is not None and app_row.determined_by_id == users["officer"]
        assert db.session.scalar(select(func.count(Pupil.id))) == 2


def test_a_house_move_by_import_is_in_the_trail_record_by_record(reference, users) -> None:  # noqa: F811
    """Whose address changed, from what to what, and who imported it (issue 16: one summary
    row with no ids and no values)."""
    from services.audit import acting_user

    import_applications(csv_bytes(HEADER, good_rows()), "a.csv", today=TODAY)
    moved = good_rows()
    moved[1][5] = "9 New Road"  # Ben, P000002
    with acting_user("assistant", users["assistant"]):
        report = import_applications(
            csv_bytes(HEADER, moved), "b.csv", today=TODAY, user_id=users["assistant"]
        )
    assert report.committed and report.updated == {"pupils": 1}
    ben = db.session.scalar(select(Pupil).where(Pupil.reference == "P000002"))
    rows = db.session.scalars(
        select(AuditLog).where(AuditLog.table_name == "pupil", AuditLog.action == "update")
    ).all()
    assert [(r.record_id, r.username, r.changes["address"]) for r in rows] == [
        (str(ben.id), "assistant", ["2 Low Rd", "9 New Road"])
    ]
