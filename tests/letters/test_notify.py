"""E-mail letters go through GOV.UK Notify's own Python client to a local stand-in for the
Notify API that checks each request's JWT and body (tests/letters/notify_stand_in.py)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from models import Communication, db
from models.enums import CommunicationStatus, Outcome
from services.letters.kinds import kinds_of
from services.letters.owed import make_letters
from services.letters.sending import send_queued_emails, sender_from_environment

from .conftest import make_case
from .notify_stand_in import NotifyStandIn, make_api_key

DECISIONS = kinds_of("decision")


@pytest.fixture
def notify(monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifyStandIn]:
    key, service_id, secret = make_api_key()
    stand_in = NotifyStandIn(service_id, secret, template_id=str(uuid.uuid4())).start()
    monkeypatch.setenv("NOTIFY_API_KEY", key)
    monkeypatch.setenv("NOTIFY_EMAIL_TEMPLATE_ID", stand_in.template_id)
    monkeypatch.setenv("NOTIFY_BASE_URL", stand_in.url)
    yield stand_in
    stand_in.stop()


def emails() -> list[Communication]:
    return list(db.session.scalars(select(Communication).order_by(Communication.id)))


def test_an_email_letter_is_sent_through_the_notify_client_with_a_valid_jwt(
    year: str, notify: NotifyStandIn
) -> None:
    make_case(Outcome.NOT_ELIGIBLE, email="ann@example.com")
    make_case(Outcome.ELIGIBLE)  # by post: never sent to Notify
    db.session.commit()
    make_letters(db.session, year, DECISIONS)
    report = send_queued_emails(db.session, year, DECISIONS, sender_from_environment())
    assert (report.sent, report.failed) == (1, 0)
    [request] = notify.received
    assert request.status == 201 and request.claims["iss"] == notify.service_id
    email, post = emails()
    assert request.body == {
        "email_address": "ann@example.com",
        "template_id": notify.template_id,
        "personalisation": {"subject": email.title, "body": email.body_text},
        "reference": email.subject_key,  # the record, never a name
    }
    assert email.status is CommunicationStatus.SENT
    assert uuid.UUID(email.notify_id)  # Notify's id for the notification
    assert post.status is CommunicationStatus.QUEUED  # the print batch's
    # Sent once: a second send finds nothing queued.
    assert send_queued_emails(db.session, year, DECISIONS, sender_from_environment()).sent == 0
    assert len(notify.received) == 1


def test_a_wrong_key_is_refused_by_notify_and_the_letter_marked_failed(
    year: str, notify: NotifyStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong, _service, _secret = make_api_key()
    monkeypatch.setenv("NOTIFY_API_KEY", f"panel_test-{notify.service_id}-{uuid.uuid4()}")
    make_case(Outcome.NOT_ELIGIBLE, email="ann@example.com")
    db.session.commit()
    make_letters(db.session, year, DECISIONS)
    report = send_queued_emails(db.session, year, DECISIONS, sender_from_environment())
    assert (report.sent, report.failed) == (0, 1)
    assert notify.received[0].status == 403 and "signature" in notify.received[0].error
    [letter] = emails()
    assert letter.status is CommunicationStatus.FAILED and "403" in letter.status_note
    assert wrong  # another service's key is refused the same way
    monkeypatch.setenv("NOTIFY_API_KEY", wrong)
    letter.status = CommunicationStatus.QUEUED
    db.session.commit()
    send_queued_emails(db.session, year, DECISIONS, sender_from_environment())
    assert notify.received[1].status == 403


def test_an_address_notify_refuses_fails_that_letter_and_the_batch_goes_on(
    year: str, notify: NotifyStandIn
) -> None:
    bad = make_case(Outcome.NOT_ELIGIBLE, email="ann@example.com")
    make_case(Outcome.ELIGIBLE, email="bo@example.com")
    db.session.flush()
    bad.application.pupil.contacts[0].email = "not an address"
    db.session.commit()
    make_letters(db.session, year, DECISIONS)
    report = send_queued_emails(db.session, year, DECISIONS, sender_from_environment())
    assert (report.sent, report.failed) == (1, 1)
    assert sorted(r.status for r in notify.received) == [201, 400]
    assert any("email_address" in (r.error or "") for r in notify.received)
    statuses = {c.address_used: c.status for c in emails()}
    assert statuses == {
        "not an address": CommunicationStatus.FAILED,
        "bo@example.com": CommunicationStatus.SENT,
    }


def test_flask_letters_run_sends_through_notify_and_says_so(
    app: Flask, year: str, notify: NotifyStandIn
) -> None:
    make_case(Outcome.NOT_ELIGIBLE, email="ann@example.com")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["letters", "run", "--year", year])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1 letters made")
    assert f"sent through GOV.UK Notify ({notify.url})" in result.stderr
    assert "1 e-mails sent, 0 failed" in result.stderr
    assert [r.status for r in notify.received] == [201]


@pytest.mark.commits  # the letters job runs on a connection of its own
def test_making_sending_and_failing_letters_logs_nothing_personal(
    year: str, notify: NotifyStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """Letters hold personal data; the application's logs get counts, ids and kinds only
    (issue 13), whichever way a letter goes: made by a job, sent, or refused by Notify."""
    from services.jobs import enqueue, run_job

    refused = make_case(Outcome.NOT_ELIGIBLE, email="ann@example.com")
    make_case(Outcome.ELIGIBLE, email="bo@example.com")
    posted = make_case(Outcome.NOT_ELIGIBLE)
    db.session.flush()
    refused.application.pupil.contacts[0].email = "not an address"
    posted.application.pupil.contacts[0].postal_address = "14 Quarry Lane\nLincoln"
    posted.application.pupil.contacts[0].postcode = "LN2 9ZZ"
    db.session.commit()
    caplog.set_level(logging.DEBUG)
    job = enqueue("letters", {"year": year, "kind": "decision"})
    run_job(job.id)
    personal = {
        "Zoë",
        "Łukasz",
        "Ann",
        "ann@example.com",
        "bo@example.com",
        "not an address",
        "14 Quarry Lane",
        "LN2 9ZZ",
        refused.application.reference,
    }
    assert caplog.records, "the job logged nothing: the check would prove nothing"
    assert any("failed" in r.getMessage() for r in caplog.records)  # the refusal was logged
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert [word for word in personal if word in logged] == []
