"""The letters screens (issue 13): the communications log with its audited PDF download and a
resend, print batches, the template editor's preview and versions, and jobs with progress."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from models import AuditLog, Communication, Job, JobStatus, LetterDownload, LetterTemplate, db
from models.enums import CommunicationStatus, LetterKind, Outcome
from services.jobs import run_job
from services.letters.kinds import kinds_of
from services.letters.owed import make_letters

from .conftest import make_case


def one_letter(year: str) -> Communication:
    make_case(Outcome.NOT_ELIGIBLE)
    db.session.commit()
    make_letters(db.session, year, kinds_of("decision"))
    return db.session.scalars(select(Communication)).one()


def test_the_log_lists_letters_and_says_it_is_log_only(year: str, client_as: Any) -> None:
    letter = one_letter(year)
    other = make_case(Outcome.ELIGIBLE)
    db.session.commit()
    make_letters(db.session, year, kinds_of("decision"))
    page = client_as("assistant").get("/admin/communication/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Decision: not eligible" in text and "Decision: eligible" in text
    assert "E-mail is not switched on" in text and "NOTIFY_API_KEY" not in text
    for column, value in (("pupil_id", letter.pupil_id), ("application_id", letter.application_id)):
        only = client_as("assistant").get(f"/admin/communication/?flt0_{column}_equals={value}")
        shown = only.get_data(as_text=True)
        assert "Decision: not eligible" in shown and "Decision: eligible" not in shown
    assert other.application.id != letter.application_id


def test_downloading_a_letter_is_recorded_with_the_user_in_the_audit_trail(
    year: str, client_as: Any, users: dict[str, int]
) -> None:
    letter = one_letter(year)
    response = client_as("officer").get(f"/admin/communication/pdf/{letter.id}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert "is not eligible" in PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    [download] = db.session.scalars(select(LetterDownload)).all()
    assert (download.what, download.communication_ids, download.user_id) == (
        f"letter {letter.id}",
        [letter.id],
        users["officer"],
    )
    audited = db.session.scalar(
        select(func.count(AuditLog.id)).where(
            AuditLog.table_name == "letter_download", AuditLog.user_id == users["officer"]
        )
    )
    assert audited == 1


def test_anonymous_cannot_download_a_letter(app: Any, year: str) -> None:
    letter = one_letter(year)
    response = app.test_client().get(f"/admin/communication/pdf/{letter.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db.session.scalar(select(func.count(LetterDownload.id))) == 0


def test_a_resend_is_a_new_queued_row_pointing_at_the_original(year: str, client_as: Any) -> None:
    letter = one_letter(year)
    letter.status = CommunicationStatus.PRINTED
    db.session.commit()
    response = client_as("assistant").post(f"/admin/communication/resend/{letter.id}")
    assert response.status_code == 302
    old, new = db.session.scalars(select(Communication).order_by(Communication.id)).all()
    assert new.resend_of_id == old.id and new.status is CommunicationStatus.QUEUED
    assert new.body_text == old.body_text and new.template_version == old.template_version


def test_a_print_batch_is_one_pdf_audited_and_marks_letters_printed(
    year: str, client_as: Any
) -> None:
    one_letter(year)
    make_case(Outcome.ELIGIBLE)
    db.session.commit()
    make_letters(db.session, year, kinds_of("decision"))
    client = client_as("assistant")
    assert "Waiting to print" in client.get("/admin/communication/print/").get_data(as_text=True)
    response = client.post("/admin/communication/print/", data={"year": year, "letters": ""})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert len(PdfReader(io.BytesIO(response.data)).pages) == 2
    statuses = set(db.session.scalars(select(Communication.status)))
    assert statuses == {CommunicationStatus.PRINTED}
    [batch] = db.session.scalars(select(LetterDownload)).all()
    assert batch.what.startswith(f"print batch {year}") and len(batch.communication_ids) == 2
    listed = client.get("/admin/communication/print/").get_data(as_text=True)
    assert "Batches printed" in listed and batch.what in listed


def test_the_template_editor_previews_against_a_real_case_then_saves_a_version(
    year: str, client_as: Any
) -> None:
    case = make_case(Outcome.NOT_ELIGIBLE)
    db.session.commit()
    form = {
        "kind": LetterKind.DECISION_NOT_ELIGIBLE.value,
        "year": year,
        "title": "Decision on {{ application.reference }}",
        "body": "Dear {{ recipient.name }},\n\n{{ child.full_name }}: ask by "
        "{{ review.last_date | long_date }}.",
        "reference": case.application.reference,
        "preview": "1",
    }
    client = client_as("supervisor")
    shown = client.post("/admin/letter_template/write/", data=form).get_data(as_text=True)
    assert f"Decision on {case.application.reference}" in shown
    assert "Dear Ann Łukasz," in shown and "Zoë Łukasz: ask by" in shown
    assert db.session.scalar(select(func.count(LetterTemplate.id))) == 0  # nothing saved
    as_pdf = client.post("/admin/letter_template/write/", data={**form, "pdf": "1"})
    assert as_pdf.mimetype == "application/pdf"
    assert "Zoë Łukasz: ask by" in PdfReader(io.BytesIO(as_pdf.data)).pages[0].extract_text()
    [download] = db.session.scalars(select(LetterDownload)).all()
    assert download.what == f"preview decision_not_eligible {case.application.reference}"

    bad = client.post(
        "/admin/letter_template/write/", data={**form, "body": "{{ child.shoe_size }}"}
    ).get_data(as_text=True)
    assert "There is a problem" in bad and "shoe_size" in bad

    missing = client.post(
        "/admin/letter_template/write/", data={**form, "reference": "TRA-NOPE"}
    ).get_data(as_text=True)
    assert "no 2024/25 case with the reference TRA-NOPE" in missing

    saved = client.post("/admin/letter_template/write/", data={**form, "save": "1"})
    assert saved.status_code == 302
    [row] = db.session.scalars(select(LetterTemplate)).all()
    assert row.version == 1 and row.title == form["title"]
    make_letters(db.session, year, kinds_of("decision"))
    letter = db.session.scalars(select(Communication)).one()
    assert letter.template_version == 1 and letter.title.startswith("Decision on")


def test_only_supervisors_write_templates(year: str, client_as: Any) -> None:
    for role in ("assistant", "officer"):
        client = client_as(role)
        assert client.get("/admin/letter_template/").status_code == 200
        assert client.get("/admin/letter_template/write/").status_code == 403
        response = client.post(
            "/admin/letter_template/write/",
            data={
                "kind": "decision_eligible",
                "year": year,
                "title": "T",
                "body": "B",
                "save": "1",
            },
        )
        assert response.status_code == 403
    assert db.session.scalar(select(func.count(LetterTemplate.id))) == 0


@pytest.mark.commits  # the job runs in a worker thread on its own connection
def test_a_job_started_from_the_log_shows_a_progress_bar_and_its_report(
    year: str, client_as: Any, queue_file: Path
) -> None:
    for _ in range(3):
        make_case(Outcome.NOT_ELIGIBLE)
    db.session.commit()
    client = client_as("assistant")
    log_page = client.get("/admin/communication/").get_data(as_text=True)
    assert 'action="/admin/job/start/"' in log_page
    started = client.post(
        "/admin/job/start/",
        data={"kind": "letters", "year": year, "letters": "decision", "next": "/admin/"},
    )
    job = db.session.scalars(select(Job)).one()
    assert started.headers["Location"].endswith(f"/admin/job/details/?id={job.id}")
    page = client.get(f"/admin/job/details/?id={job.id}").get_data(as_text=True)
    assert "<progress" in page and "jobs.js" in page and 'data-live="1"' in page
    assert client.get(f"/admin/job/progress/{job.id}").get_json()["status"] == "queued"

    assert run_job(job.id) is JobStatus.DONE  # what the worker does with the queued id
    data = client.get(f"/admin/job/progress/{job.id}").get_json()
    assert (data["status"], data["done"], data["total"], data["percent"]) == ("done", 3, 3, 100)
    assert data["finished"] and data["result"].startswith(f"{year}: 3 letters made")
    page = client.get(f"/admin/job/details/?id={job.id}").get_data(as_text=True)
    assert "3 letters made" in page and 'data-live="0"' in page


def test_a_job_with_bad_input_is_refused_with_the_field_named(
    year: str, client_as: Any, queue_file: Path
) -> None:
    client = client_as("assistant")
    response = client.post(
        "/admin/job/start/", data={"kind": "allocation", "year": year, "on": "31/02/2025"}
    )
    assert response.status_code == 302
    followed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The job was not started: on:" in followed
    assert db.session.scalar(select(func.count(Job.id))) == 0


def test_assessment_and_allocation_jobs_start_from_their_own_lists(
    year: str, client_as: Any, queue_file: Path
) -> None:
    client = client_as("assistant")
    for url, kind in (
        ("/admin/transport_application/", "assessment"),
        ("/admin/concessionary_application/", "allocation"),
    ):
        page = client.get(url).get_data(as_text=True)
        assert f'name="kind" value="{kind}"' in page and f'name="next" value="{url}"' in page
        started = client.post("/admin/job/start/", data={"kind": kind, "year": year, "next": url})
        assert started.status_code == 302
    kinds = [j.kind for j in db.session.scalars(select(Job).order_by(Job.id))]
    assert kinds == ["assessment", "allocation"]


def test_the_application_page_lists_its_letters_with_a_link_to_the_log(
    year: str, client_as: Any
) -> None:
    letter = one_letter(year)
    page = client_as("officer").get(
        f"/admin/transport_application/details/?id={letter.application_id}"
    )
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Letters and e-mails" in text
    assert f"/admin/communication/details/?id={letter.id}" in text
    assert f"flt0_application_id_equals={letter.application_id}" in text


def test_the_pupil_page_lists_the_childs_letters(year: str, client_as: Any) -> None:
    letter = one_letter(year)
    text = (
        client_as("assistant")
        .get(f"/admin/pupil/details/?id={letter.pupil_id}")
        .get_data(as_text=True)
    )
    assert "Letters and e-mails" in text and f"Letter {letter.id}" in text
    assert f"flt0_pupil_id_equals={letter.pupil_id}" in text
