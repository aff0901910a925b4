"""Each business check lives in one service, so every entry point refuses the same input in the
same words (issue 12): the screens, the import, and the services that commands call.

Application and pupil dates: the transport-application and pupil screens against the
pupils-and-applications import (services/applications.py). Payments (B1j): the payments screen
and `flask payments record` against services.contributions.record_payment. Appeals (Appendix
C): the appeals screen against services.appeals.check_appeal.
"""

from __future__ import annotations

import html
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from imports.applications import import_applications
from models import Appeal, EligibilityDecision, Payment, Pupil, TransportApplication, db
from models.enums import AppealOutcome, AppealStage, Outcome
from services import appeals, years
from services import contributions as money
from services.errors import FieldError
from tests import factories as f
from tests.imports.conftest import csv_bytes
from tests.test_contributions import _allocated_contribution, _instalments

# In the autumn term of 2024/25: the year the import rows and the screens' checks both use.
TODAY = date(2024, 9, 10)

HEADER = [
    "application_reference",
    "pupil_reference",
    "first_name",
    "last_name",
    "date_of_birth",
    "address",
    "postcode",
    "academic_year",
    "school_urn",
    "received_on",
]


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(years, "today", lambda: TODAY)


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _import_refusal(column: str, *, dob: str = "05/05/2013", received: str = "01/03/2024") -> str:
    """The import's words for the one bad cell of a one-row file."""
    row = ["TRA0000001", "P000001", "Ava", "Smith", dob, "1 High St", "LN1 1AA"]
    row += ["2024/25", "110001", received]
    report = import_applications(csv_bytes(HEADER, [row]), "apps.csv")
    assert not report.committed
    assert [(e.row, e.column) for e in report.errors] == [(2, column)]
    return report.errors[0].reason


def _page_text(response: Any) -> str:
    assert response.status_code == 200  # the form is shown again: nothing was saved
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def year_and_school(app: Flask) -> int:
    with app.app_context():
        f.academic_year("2024/25", with_calendar=False)
        school = f.school(urn=110001)
        pupil = f.pupil()
        db.session.commit()
        return int(pupil.id), int(school.id)


@pytest.mark.parametrize(
    ("received", "typed", "words"),
    [
        ("01/10/2024", "2024-10-01", "is in the future"),
        ("01/08/2023", "2023-08-01", "more than a year before 2024/25 starts"),
    ],
    ids=["future", "too-early"],
)
def test_a_received_date_is_refused_alike_by_the_screen_and_the_import(
    app: Flask,
    client_as: Any,
    year_and_school: tuple[int, int],
    received: str,
    typed: str,
    words: str,
) -> None:
    pupil_id, school_id = year_and_school
    with app.app_context():
        imported = _import_refusal("received_on", received=received)
    assert words in imported
    form = {
        "reference": "TRA0000009",
        "pupil": str(pupil_id),
        "academic_year": "2024/25",
        "school": str(school_id),
        "received_on": typed,
    }
    page = _page_text(client_as("assistant").post("/admin/transport_application/new/", data=form))
    assert imported in page
    with app.app_context():
        assert _count(TransportApplication) == 0


@pytest.mark.parametrize(
    ("born", "typed", "words"),
    [
        ("01/01/2031", "2031-01-01", "cannot be in the future"),
        ("01/06/2023", "2023-06-01", "under 2 at the start of 2024/25"),
        ("01/01/1990", "1990-01-01", "over 25 at the start of 2024/25"),
    ],
    ids=["future", "too-young", "too-old"],
)
def test_a_date_of_birth_is_refused_alike_by_the_screen_and_the_import(
    app: Flask,
    client_as: Any,
    year_and_school: tuple[int, int],
    born: str,
    typed: str,
    words: str,
) -> None:
    with app.app_context():
        imported = _import_refusal("date_of_birth", dob=born)
        pupils = _count(Pupil)
    assert words in imported
    form = {
        "reference": "LP0009999",
        "first_name": "Leo",
        "last_name": "Patel",
        "date_of_birth": typed,
        "address": "1 High Street",
        "postcode": "LN1 1YL",
        "lives_in_county": "y",
    }
    page = _page_text(client_as("assistant").post("/admin/pupil/new/", data=form))
    assert imported in page
    with app.app_context():
        assert _count(Pupil) == pupils


@pytest.mark.parametrize(
    ("received_on", "extra", "words"),
    [
        (date(2024, 9, 1), Decimal("1"), "still outstanding on instalment 1"),
        (date(2024, 5, 1), Decimal("0"), "before the application it pays for was received"),
        (date(2024, 9, 11), Decimal("0"), "on a date in the future"),
    ],
    ids=["over-outstanding", "before-the-application", "future"],
)
def test_a_payment_is_refused_alike_by_the_screen_the_command_and_the_service_b1j(
    app: Flask, client_as: Any, received_on: date, extra: Decimal, words: str
) -> None:
    with app.app_context():
        cid, _ = _allocated_contribution()
        first = _instalments(cid)[0]
        first_id, amount = first.id, first.amount + extra
        pupil = first.contribution.pupil.reference
        with pytest.raises(FieldError) as refused:
            money.record_payment(first_id, amount, received_on=received_on, method="card")
        db.session.rollback()
    said = str(refused.value)
    assert words in said
    form = {
        "instalment": str(first_id),
        "received_on": received_on.isoformat(),
        "amount": str(amount),
        "method": "card",
        "reference": "",
    }
    page = _page_text(client_as("assistant").post("/admin/payment/new/", data=form))
    assert said in page
    command = app.test_cli_runner().invoke(
        args=["payments", "record", pupil, "2024/25", "1", str(amount)]
        + ["--received-on", received_on.isoformat(), "--method", "card", "--user", "assistant"]
    )
    assert command.exit_code == 2
    assert f"error: {said}" in command.output
    with app.app_context():
        assert _count(Payment) == 0


def test_the_payments_command_records_what_the_rule_allows_b1j(app: Flask, users: Any) -> None:
    with app.app_context():
        cid, _ = _allocated_contribution()
        first = _instalments(cid)[0]
        pupil, amount = first.contribution.pupil.reference, first.amount
    command = app.test_cli_runner().invoke(
        args=["payments", "record", pupil, "2024/25", "1", str(amount)]
        + ["--received-on", "2024-09-01", "--method", "card", "--user", "assistant"]
    )
    assert command.exit_code == 0, command.output
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        assert payment is not None and payment.amount == amount
        assert payment.recorded_by_id == users["assistant"]


def _refusal(officer_id: int, decided: date) -> EligibilityDecision:
    f.academic_year()
    application = f.transport_application(f.pupil(), f.school())
    decision = EligibilityDecision(
        application=application,
        outcome=Outcome.NOT_ELIGIBLE,
        basis="A3",
        clauses=["A3"],
        reasons=["Within the walking distance (A3)."],
        facts={},
        facts_hash="1" * 64,
        parameters_year="2024/25",
        decided_by_id=officer_id,
        decided_at=datetime(decided.year, decided.month, decided.day, 11, 0, tzinfo=UTC),
    )
    db.session.add(decision)
    db.session.commit()
    return decision


def test_an_appeal_received_before_its_decision_is_refused_alike_appendix_c(
    app: Flask, client_as: Any, users: dict[str, int]
) -> None:
    received = date(2024, 11, 29)
    with app.app_context():
        decision = _refusal(users["officer"], date(2024, 12, 2))
        decision_id = decision.id
        reviewer = db.session.get(type(decision.decided_by), users["supervisor"])
        with pytest.raises(FieldError) as refused:
            appeals.check_appeal(
                appeals.AppealFacts(
                    decision, AppealStage.REVIEW, received, reviewer, AppealOutcome.PENDING, None
                )
            )
    said = str(refused.value)
    assert refused.value.field == "received_on"
    assert "before the decision it appeals against (02/12/2024)" in said
    form = {
        "decision": str(decision_id),
        "stage": "stage_one",
        "received_on": received.isoformat(),
        "grounds": "The walking route has no footway (Appendix D).",
        "reviewer": str(users["supervisor"]),
        "outcome": "pending",
    }
    page = _page_text(client_as("officer").post("/admin/appeal/new/", data=form))
    assert said in page
    with app.app_context():
        assert _count(Appeal) == 0
