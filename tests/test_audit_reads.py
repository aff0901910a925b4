"""Reads and exports of personal data are in the audit trail: who, when, what (issue 16).

Before issue 16 exporting 6,002 pupils wrote nothing, and opening a child's record left no
trace. One trail row per request (a list page or an export of any size costs one row), with
the record's id for a details or edit page, the page's ids and filters for a list, the filters
and row count for an export, the letters' ids for a download (UK GDPR Art. 5(2)).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from models import AuditLog, Contact, Pupil, db
from models.enums import AuditAction, Channel
from services.audit import acting_user
from tests import factories


def access_rows(action: AuditAction | None = None) -> list[AuditLog]:
    wanted = [action] if action else [AuditAction.READ, AuditAction.EXPORT, AuditAction.DOWNLOAD]
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditLog).where(AuditLog.action.in_(wanted)).order_by(AuditLog.id)
        )
    )


@pytest.fixture
def case(app: Flask) -> dict[str, int]:
    """A pupil with a parent and an application, and a few more pupils named Smith."""
    with app.app_context():
        factories.academic_year("2024/25", with_calendar=False)
        school = factories.school(name="Priory Academy")
        pupil = factories.pupil(first_name="Ava", last_name="Smith")
        pupil.contacts = [
            Contact(
                name="Jane Smith", relationship_to_child="mother", preferred_channel=Channel.POST
            )
        ]
        application = factories.transport_application(pupil, school)
        for n in range(12):
            factories.pupil(last_name="Smith", first_name=f"Sib{n}")
        factories.pupil(last_name="Jones")
        db.session.commit()
        return {"pupil": pupil.id, "application": application.id, "school": school.id}


@pytest.mark.parametrize("page", ["details", "edit"])
@pytest.mark.parametrize("role", ["assistant", "officer", "supervisor"])
@pytest.mark.parametrize(
    ("endpoint", "key"), [("pupil", "pupil"), ("transport_application", "application")]
)
def test_a_case_page_is_one_read_row_with_who_and_which_record(
    app: Flask,
    client_as: Callable[[str], FlaskClient],
    users: dict[str, int],
    case: dict[str, int],
    page: str,
    role: str,
    endpoint: str,
    key: str,
) -> None:
    client = client_as(role)
    response = client.get(f"/admin/{endpoint}/{page}/?id={case[key]}")
    assert response.status_code == 200
    with app.app_context():
        rows = access_rows()
        assert len(rows) == 1
        row = rows[0]
        assert row.action is AuditAction.READ
        assert (row.username, row.user_id) == (role, users[role])
        assert (row.table_name, row.record_id) == (endpoint, str(case[key]))
        assert row.changes["what"] == f"{endpoint} {page}"
        assert row.at is not None


def test_the_pupil_page_shows_the_parents_so_their_read_is_the_pupils(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, int]
) -> None:
    """Contacts live on the pupil's screen (inline): reading them is reading that page."""
    html = client_as("assistant").get(f"/admin/pupil/edit/?id={case['pupil']}").get_data(True)
    assert "Jane Smith" in html
    with app.app_context():
        assert [(r.table_name, r.record_id) for r in access_rows()] == [
            ("pupil", str(case["pupil"]))
        ]


def test_a_list_page_is_one_row_with_the_pages_ids_and_the_search(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, int]
) -> None:
    client = client_as("assistant")
    assert client.get("/admin/pupil/?search=Smith").status_code == 200
    with app.app_context():
        rows = access_rows()
        assert len(rows) == 1  # one row for the page, not one per pupil shown
        row = rows[0]
        assert row.action is AuditAction.READ and row.record_id == "*"
        assert row.changes["rows"] == 13 and len(row.changes["ids"]) == 13
        assert row.changes["filters"]["search"] == "Smith"
        smiths = set(db.session.scalars(select(Pupil.id).where(Pupil.last_name == "Smith")).all())
        assert set(row.changes["ids"]) == smiths  # Jones was not shown, so not read


def test_reference_data_pages_are_not_reads_of_personal_data(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, int]
) -> None:
    client = client_as("assistant")
    assert client.get(f"/admin/school/details/?id={case['school']}").status_code == 200
    assert client.get("/admin/school/").status_code == 200
    with app.app_context():
        assert access_rows() == []


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_export_is_one_row_with_its_filters_and_row_count(
    app: Flask,
    client_as: Callable[[str], FlaskClient],
    users: dict[str, int],
    case: dict[str, int],
    kind: str,
) -> None:
    client = client_as("officer")
    response = client.get(f"/admin/pupil/export/{kind}/?search=Smith")
    assert response.status_code == 200
    response.get_data()  # a CSV export streams: read it all
    with app.app_context():
        rows = access_rows()
        assert len(rows) == 1
        row = rows[0]
        assert row.action is AuditAction.EXPORT
        assert (row.username, row.user_id, row.table_name) == ("officer", users["officer"], "pupil")
        assert row.changes["rows"] == 13  # Ava and her twelve namesakes
        assert row.changes["filters"] == {"search": "Smith"}
        assert kind in row.changes["what"]


def test_every_export_is_recorded_reference_data_too(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, int]
) -> None:
    response = client_as("assistant").get("/admin/school/export/csv/")
    response.get_data()
    with app.app_context():
        rows = access_rows(AuditAction.EXPORT)
        assert [(r.table_name, r.changes["rows"]) for r in rows] == [("school", 1)]


def test_a_filtered_export_names_the_filter_in_words(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, int]
) -> None:
    client = client_as("assistant")
    with app.app_context():
        view = next(
            v
            for v in app.extensions["admin"][0]._views
            if getattr(v, "endpoint", "") == "transport_application"
        )
        key = next(k for k, (_i, f) in view._filter_args.items() if "Academic year" in f.name)
    response = client.get(f"/admin/transport_application/export/csv/?flt0_{key}=2024/25")
    response.get_data()
    with app.app_context():
        row = access_rows(AuditAction.EXPORT)[0]
        assert row.changes["rows"] == 1
        name, _operation, value = row.changes["filters"]["filters"][0]
        assert "Academic year" in name and value == "2024/25"


def test_a_report_download_is_recorded(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, int]
) -> None:
    client = client_as("assistant")
    assert client.get("/admin/reports/decisions/?year=2024/25").status_code == 200
    with app.app_context():
        # Looking at the table on screen is a read, not a download (issue 16: every read).
        [read] = access_rows()
        assert (read.action, read.table_name, read.record_id) == (
            AuditAction.READ,
            "report",
            "decisions",
        )
    for kind in ("csv", "xlsx"):
        response = client.get(f"/admin/reports/decisions/?year=2024/25&format={kind}")
        assert response.status_code == 200
    with app.app_context():
        rows = access_rows(AuditAction.EXPORT)
        assert [(r.table_name, r.record_id, r.username) for r in rows] == [
            ("report", "decisions", "assistant")
        ] * 2
        assert rows[0].changes["filters"]["year"] == "2024/25"
        assert "rows" in rows[0].changes


def test_a_letter_download_is_recorded_with_the_letters_ids(
    app_ctx: Flask, users: dict[str, int]
) -> None:
    from services.letters.sending import record_download

    with acting_user("officer", users["officer"]):
        record_download(db.session, "print batch 2024/25 decision", [3, 5, 8])
    db.session.commit()
    rows = access_rows(AuditAction.DOWNLOAD)
    assert len(rows) == 1
    row = rows[0]
    assert (row.username, row.user_id, row.table_name) == (
        "officer",
        users["officer"],
        "communication",
    )
    assert row.changes["ids"] == [3, 5, 8] and row.changes["rows"] == 3
    assert row.changes["what"] == "print batch 2024/25 decision"


def test_a_refused_read_writes_nothing(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, int]
) -> None:
    """The audit trail screen is officers' only; an assistant's attempt reads nothing."""
    client = app.test_client()
    assert client.get(f"/admin/pupil/details/?id={case['pupil']}").status_code == 302
    assert client_as("assistant").get("/admin/audit_log/").status_code == 403
    with app.app_context():
        assert access_rows() == []


def test_a_work_queue_is_one_read_row(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, int]
) -> None:
    """The "To measure" / "To refer" queues list pupils by name: recorded like a list page."""
    from models import TransportApplication
    from models.enums import Outcome

    with app.app_context():
        application = db.session.get(TransportApplication, case["application"])
        factories.decision(application, outcome=Outcome.MEASURE, basis=None, clauses=["A3b"])
        db.session.commit()
    response = client_as("assistant").get("/admin/transport_application/queue/measure")
    assert response.status_code == 200
    with app.app_context():
        rows = access_rows()
        assert len(rows) == 1
        assert rows[0].changes["ids"] == [case["application"]]
        assert rows[0].changes["filters"]["queue"] == "measure"


def test_reading_the_audit_trail_is_itself_recorded(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, int]
) -> None:
    """The trail holds old and new personal values, so a supervisor reading it is a read."""
    client = client_as("supervisor")
    assert client.get("/admin/audit_log/").status_code == 200
    with app.app_context():
        rows = [r for r in access_rows(AuditAction.READ) if r.table_name == "audit_log"]
        assert [r.username for r in rows] == ["supervisor"]
