"""The case view (issue 14): the child's whole case in time order on the pupil page, notes that
are added and never edited, evidence checked and kept outside the database with every download
recorded, assignment by role, and a second application for the same child and year flagged.
"""

from __future__ import annotations

import io
import os
import re
import stat
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from models import (
    AuditLog,
    CaseAssignment,
    CaseDocument,
    CaseDocumentDownload,
    CaseNote,
    Contact,
    EligibilityDecision,
    TransportApplication,
    db,
)
from models.case_note import NoteIsFinal
from models.enums import Outcome
from tests import factories as f

PDF = b"%PDF-1.4\n%test evidence\n"


@pytest.fixture
def case(app: Flask, users: dict[str, int], tmp_path: Path) -> dict[str, Any]:
    app.config["CASE_DOCUMENTS_DIR"] = str(tmp_path / "store")
    with app.app_context():
        f.academic_year("2024/25")
        school = f.school(name="Fenland Academy")
        pupil = f.pupil(first_name="Robin", last_name="Case")
        db.session.add(Contact(pupil=pupil, name="Jo Case", relationship_to_child="Mother"))
        application = f.transport_application(pupil, school, received_on=date(2024, 6, 3))
        f.decision(
            application,
            outcome=Outcome.NOT_ELIGIBLE,
            reasons=["Within the walking distance (A3)."],
            decided_at=datetime(2024, 6, 7, 9, 0, tzinfo=UTC),
        )
        db.session.commit()
        return {
            "pupil": pupil.id,
            "application": application.id,
            "reference": application.reference,
            "school": school.id,
            "store": tmp_path / "store",
        }


def _page(client: FlaskClient, pupil_id: int) -> str:
    response = client.get(f"/admin/pupil/details/?id={pupil_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_pupil_page_is_the_case_with_next_steps(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, Any]
) -> None:
    page = _page(client_as("officer"), case["pupil"])
    assert "Jo Case" in page  # contacts
    assert case["reference"] in page and "Within the walking distance (A3)." in page
    assert f"Take {case['reference']}" in page  # an officer can take it from here
    assert f"Record an appeal on {case['reference']}" in page  # a refusal can be appealed
    assert f"url=/admin/pupil/details/?id%3D{case['pupil']}" in page  # edits come back to the case
    trail = page[page.index("Everything on the case") :]
    assert trail.index("Decision on") < trail.index("received")  # newest first


def test_a_note_is_added_with_its_author_never_edited_and_audited(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, Any], users: dict[str, int]
) -> None:
    client = client_as("assistant")
    response = client.post(
        f"/admin/pupil/case/{case['pupil']}/note",
        data={"text": "Mother rang: the lane floods in winter.", "application_id": ""},
    )
    assert response.status_code == 302
    assert "Mother rang: the lane floods in winter." in _page(client, case["pupil"])
    with app.app_context():
        note = db.session.scalars(select(CaseNote)).one()
        assert note.author_id == users["assistant"] and note.written_at is not None
        assert db.session.scalars(
            select(AuditLog).where(AuditLog.table_name == "case_note")
        ).all(), "the note's insert is in the audit trail"
        note.text = "changed"
        with pytest.raises(NoteIsFinal):
            db.session.flush()
        db.session.rollback()
    empty = client.post(
        f"/admin/pupil/case/{case['pupil']}/note", data={"text": "  "}, follow_redirects=True
    )
    assert "Write the note before adding it." in empty.get_data(as_text=True)


def test_evidence_is_checked_stored_privately_and_every_download_recorded(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, Any], users: dict[str, int]
) -> None:
    client = client_as("officer")
    url = f"/admin/pupil/case/{case['pupil']}/document"
    fake = client.post(
        url,
        data={
            "kind": "medical_evidence",
            "file": (io.BytesIO(b"<html>"), "gp.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "Upload a PDF, JPEG or PNG file" in fake.get_data(as_text=True)
    ok = client.post(
        url,
        data={
            "kind": "medical_evidence",
            "application_id": str(case["application"]),
            "file": (io.BytesIO(PDF), "gp letter.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    with app.app_context():
        document = db.session.scalars(select(CaseDocument)).one()
        assert (document.size_bytes, document.content_type) == (len(PDF), "application/pdf")
        stored = case["store"] / document.storage_key
    assert stored.read_bytes() == PDF  # outside the database row
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(case["store"]).st_mode) == 0o700
    page = _page(client, case["pupil"])
    link = re.search(r'href="(/admin/pupil/case/\d+/document/\d+)"', page)
    assert link is not None
    for _ in range(2):
        download = client.get(link.group(1))
        assert download.status_code == 200 and download.data == PDF
        assert download.headers["Content-Disposition"].startswith("attachment")
    with app.app_context():
        rows = db.session.scalars(select(CaseDocumentDownload)).all()
        assert [r.user_id for r in rows] == [users["officer"]] * 2
    anonymous = app.test_client().get(link.group(1))
    assert anonymous.status_code == 302 and "/login" in anonymous.location


def test_an_oversized_document_is_refused_naming_the_limit(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, Any], monkeypatch: Any
) -> None:
    from services import casework

    monkeypatch.setattr(casework, "MAX_DOCUMENT_BYTES", 100)
    response = client_as("assistant").post(
        f"/admin/pupil/case/{case['pupil']}/document",
        data={
            "kind": "other",
            "file": (io.BytesIO(PDF + b"x" * 200), "big.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "the most is" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(CaseDocument)).all() == []


def test_an_officer_takes_a_case_and_only_a_supervisor_reassigns_it(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, Any], users: dict[str, int]
) -> None:
    url = f"/admin/transport_application/assign/{case['application']}"
    assert client_as("assistant").post(url, data={"what": "take"}).status_code == 403
    officer = client_as("officer")
    assert officer.post(url, data={"what": "take"}).status_code == 302
    assert (
        officer.post(url, data={"what": "assign", "user_id": users["assistant"]}).status_code == 403
    )
    with app.app_context():
        held = db.session.scalars(select(CaseAssignment)).one()
        assert held.user_id == users["officer"]
    supervisor = client_as("supervisor")
    moved = supervisor.post(url, data={"what": "assign", "user_id": users["supervisor"]})
    assert moved.status_code == 302
    with app.app_context():
        held = db.session.scalars(select(CaseAssignment)).one()
        assert (held.user_id, held.assigned_by_id) == (users["supervisor"], users["supervisor"])
    mine = supervisor.get(
        "/admin/transport_application/?flt0_" + _filter_arg(app, "Assigned to") + "=me"
    )
    assert case["reference"] in mine.get_data(as_text=True)


def _filter_arg(app: Flask, name: str) -> str:
    admin = app.extensions["admin"][0]
    view = next(v for v in admin._views if getattr(v, "endpoint", None) == "transport_application")
    index, flt = next((i, x) for i, x in enumerate(view._filters) if str(x.name) == name)
    return view.get_filter_arg(index, flt)


def _application_form(case: dict[str, Any], reference: str, **extra: str) -> dict[str, str]:
    return {
        "reference": reference,
        "pupil": str(case["pupil"]),
        "academic_year": "2024/25",
        "school": str(case["school"]),
        "received_on": "10/06/2024",
        **extra,
    }


def test_a_second_application_for_the_child_and_year_needs_confirming(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, Any]
) -> None:
    client = client_as("assistant")
    first = client.post(
        "/admin/transport_application/new/", data=_application_form(case, "TRA-SECOND")
    )
    body = first.get_data(as_text=True)
    assert first.status_code == 200, "the form comes back rather than saving"
    assert f"already has application {case['reference']} for 2024/25" in body
    with app.app_context():
        assert (
            db.session.scalar(
                select(TransportApplication).where(TransportApplication.reference == "TRA-SECOND")
            )
            is None
        )
    confirmed = client.post(
        "/admin/transport_application/new/",
        data=_application_form(case, "TRA-SECOND", confirm_second_application="y"),
    )
    assert confirmed.status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(
                select(TransportApplication).where(TransportApplication.reference == "TRA-SECOND")
            )
            is not None
        )


def _save_from(client: FlaskClient, edit_url: str) -> str:
    """Open the edit form at `edit_url` and save it unchanged: where the panel goes next."""
    from html import unescape

    from tests.test_access_matrix import _FormHarvester

    form = client.get(edit_url)
    assert form.status_code == 200, edit_url
    harvester = _FormHarvester()
    harvester.feed(form.get_data(as_text=True))
    saved = client.post(edit_url, data=harvester.data)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:3000]
    return unescape(saved.location)


def _link(page: str, pattern: str) -> str:
    from html import unescape

    match = re.search(pattern, page)
    assert match, pattern
    return unescape(match.group(1))


def test_saving_from_the_case_returns_to_the_case(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, Any]
) -> None:
    """Issue 14: the child's details, an application and a seat application opened from the
    case are saved back to the case, not to the generic list."""
    with app.app_context():
        application = db.session.get(TransportApplication, case["application"])
        seat_app = f.concessionary_application(
            application.pupil, application.school, f.route([application.school])
        )
        db.session.commit()
        seat_ref = seat_app.reference
    client = client_as("officer")
    page = _page(client, case["pupil"])
    case_url = f"/admin/pupil/details/?id={case['pupil']}"
    edits = {
        "pupil": _link(page, r'href="([^"]+)">Edit the child\'s details'),
        "application": _link(page, rf'href="([^"]+)">Edit {case["reference"]}<'),
        "seat application": _link(page, rf'href="([^"]+)">Edit {seat_ref}<'),
    }
    for what, edit_url in edits.items():
        assert _save_from(client, edit_url).endswith(case_url), what
    # The seat application's own page, opened from the case, also edits back to the case.
    details = client.get(_link(page, rf'href="([^"]+)">{seat_ref}<')).get_data(as_text=True)
    edit_url = _link(details, r'href="(/admin/concessionary_application/edit/[^"]+)"')
    assert _save_from(client, edit_url).endswith(case_url)


def test_saving_from_a_queue_returns_to_the_queue(
    app: Flask, client_as: Callable[[str], FlaskClient], case: dict[str, Any]
) -> None:
    """Issue 14: an application opened from a queue (its page, then Edit) saves back there."""
    with app.app_context():
        db.session.scalar(
            select(EligibilityDecision).where(
                EligibilityDecision.application_id == case["application"]
            )
        ).outcome = Outcome.MEASURE
        db.session.commit()
    client = client_as("officer")
    queue_url = "/admin/transport_application/queue/measure"
    queue = client.get(queue_url).get_data(as_text=True)
    details_url = _link(queue, rf'href="([^"]+)">{case["reference"]}<')
    details = client.get(details_url).get_data(as_text=True)
    edit_url = _link(details, r'href="(/admin/transport_application/edit/[^"]+)"')
    assert _save_from(client, edit_url).split("?")[0].endswith(queue_url)
