"""A step's letters are queued the moment it commits (issue 13: "after a bulk assessment,
allocation, withdrawal or appeal step, letters are made for what changed and for nothing
else; running it again makes none"), not at the worker's next periodic pass."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from models import Appeal, Communication, EligibilityDecision, Job, JobStatus, Withdrawal, db
from models.enums import (
    AppealStage,
    EstablishmentType,
    LetterKind,
    Outcome,
    PaymentPlan,
    Phase,
    Sessions,
)
from services import seats
from services.jobs import enqueue, run_job
from services.letters.follow_up import RECORDS, Changed, letters_left_to_caller, queue_letters
from tests import factories as f

from .conftest import make_case

YEAR = "2024/25"
SUMMER = date(2024, 8, 20)


def letter_keys() -> list[tuple[LetterKind, str]]:
    rows = db.session.execute(
        select(Communication.kind, Communication.subject_key).order_by(Communication.id)
    )
    return [(kind, key) for kind, key in rows]


def letters_jobs() -> list[Job]:
    return list(db.session.scalars(select(Job).where(Job.kind == "letters").order_by(Job.id)))


def run_again(job: Job) -> str:
    """The same letters job started afresh (a retry, or a second message for the step)."""
    again = enqueue("letters", job.parameters)
    assert run_job(again.id) is JobStatus.DONE
    db.session.refresh(again)
    return again.result


@pytest.fixture
def seat_year(app_ctx: Flask, queue_file: Path) -> str:
    f.academic_year()
    f.contribution_setting()
    db.session.commit()
    return YEAR


def test_a_seat_withdrawal_queues_its_notice_and_the_job_makes_only_that(
    seat_year: str,
) -> None:
    school = f.school(easting=497000, northing=371000)
    route = f.route([school], seats=2)
    holders = [
        f.concessionary_application(
            f.pupil(easting=497000 + 2000 * (2 - k), northing=371000),
            school,
            route,
            sessions=Sessions.BOTH,
            payment_plan=PaymentPlan.THREE,
        )
        for k in range(2)
    ]
    db.session.commit()
    with letters_left_to_caller():  # the offers' letters are not this test's
        assert seats.allocate(YEAR, on=SUMMER, route_ids=[route.id]).allocated == 2
    assert letters_jobs() == []

    seats.withdraw(
        route.id,
        {"am": 1, "pm": 0},
        year=YEAR,
        on=date(2024, 10, 1),
        reason="Seat needed for an entitled child",
        family_told_of_appeal=True,
        decided_by_id=None,
    )

    withdrawal = db.session.scalars(select(Withdrawal)).one()
    [job] = letters_jobs()  # queued as the withdrawal committed
    assert job.status is JobStatus.QUEUED
    assert job.parameters["only"] == {"withdrawal": [withdrawal.id]}
    assert run_job(job.id) is JobStatus.DONE
    # The notice and nothing else: the two seat offers still owed are the periodic pass's.
    assert letter_keys() == [(LetterKind.SEAT_WITHDRAWAL, f"withdrawal:{withdrawal.id}")]
    assert run_again(job).startswith(f"{YEAR}: 0 letters made")
    assert len(letter_keys()) == 1
    assert holders[1].id  # the lowest in the register lost the seat


def test_a_refused_withdrawal_queues_nothing(seat_year: str) -> None:
    route = f.route([f.school()], seats=2)
    db.session.commit()
    with pytest.raises(seats.SeatError):
        seats.withdraw(
            route.id,
            {"am": 0, "pm": 0},
            year=YEAR,
            on=date(2024, 10, 1),
            reason="x",
            family_told_of_appeal=True,
            decided_by_id=None,
        )
    assert letters_jobs() == []


def _refusal(officer_id: int) -> int:
    f.academic_year("2024/25", with_calendar=False)
    case = make_case(Outcome.NOT_ELIGIBLE)
    case.decision.decided_by_id = officer_id
    case.decision.decided_at = datetime(2024, 12, 2, 11, tzinfo=UTC)
    make_case(Outcome.NOT_ELIGIBLE)  # another family's decision letter, owed meanwhile
    db.session.commit()
    return case.decision.id


def test_an_appeal_step_on_the_screen_queues_its_letter_and_the_job_makes_only_that(
    app: Flask, client_as: Any, users: dict[str, int], queue_file: Path
) -> None:
    with app.app_context():
        decision_id = _refusal(users["officer"])
    officer = client_as("officer")
    response = officer.post(
        "/admin/appeal/new/",
        data={
            "decision": str(decision_id),
            "stage": "stage_one",
            "received_on": "2024-12-20",
            "grounds": "The walking route has no footway (Appendix D).",
            "reviewer": str(users["supervisor"]),
            "outcome": "pending",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        appeal = db.session.scalars(select(Appeal)).one()
        [job] = letters_jobs()
        assert (job.parameters["only"], job.started_by) == ({"appeal": [appeal.id]}, "officer")
        assert run_job(job.id) is JobStatus.DONE
        acknowledged = (LetterKind.APPEAL_ACKNOWLEDGEMENT, f"appeal:{appeal.id}")
        assert letter_keys() == [acknowledged]  # not the two decision letters owed
        assert run_again(job).startswith(f"{YEAR}: 0 letters made")
        appeal_id = appeal.id

    # The review decides: the outcome letter is queued as the edit commits, and only it.
    response = officer.post(
        f"/admin/appeal/edit/?id={appeal_id}",
        data={
            "decision": str(decision_id),
            "stage": "stage_one",
            "received_on": "2024-12-20",
            "grounds": "The walking route has no footway (Appendix D).",
            "reviewer": str(users["supervisor"]),
            "outcome": "upheld",
            "decided_on": "2025-01-10",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        appeal = db.session.get(Appeal, appeal_id)
        assert appeal.stage is AppealStage.REVIEW and appeal.decided_on == date(2025, 1, 10)
        job = letters_jobs()[-1]
        assert job.status is JobStatus.QUEUED
        assert run_job(job.id) is JobStatus.DONE
        outcome = (LetterKind.APPEAL_STAGE_ONE_OUTCOME, f"appeal-outcome:{appeal_id}")
        assert letter_keys() == [acknowledged, outcome]
        assert run_again(job).startswith(f"{YEAR}: 0 letters made")
        assert len(letter_keys()) == 2


def test_an_assessment_queues_its_decision_letters_and_a_reassessment_that_changes_nothing_none(
    year: str, queue_file: Path, users: dict[str, int]
) -> None:
    from services.assessment import assess_applications

    home = (500000, 375000)
    school = f.school(
        phase=Phase.SECONDARY,
        establishment_type=EstablishmentType.COMMUNITY,
        easting=home[0] + 6000,
        northing=home[1],
    )
    application = f.transport_application(
        f.pupil(easting=home[0], northing=home[1]), school, distance_m=6100
    )
    make_case(Outcome.NOT_ELIGIBLE)  # another family's letter, owed meanwhile
    db.session.commit()
    assess_applications(ids=[application.id], user_id=users["officer"])
    [job] = letters_jobs()
    decision = db.session.scalars(
        select(EligibilityDecision).where(EligibilityDecision.application_id == application.id)
    ).one()
    assert job.parameters["only"] == {"decision": [decision.id]}
    assert run_job(job.id) is JobStatus.DONE
    assert [key for _kind, key in letter_keys()] == [f"decision:{decision.id}"]  # not the other
    assess_applications(ids=[application.id], user_id=users["officer"])  # same facts
    assert len(letters_jobs()) == 1  # nothing changed, nothing owed: no job


def test_nothing_is_queued_when_turned_off_or_when_the_caller_makes_the_letters(
    year: str, queue_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case(Outcome.NOT_ELIGIBLE)
    db.session.commit()
    changed = Changed()
    changed.add(year, "decision", [case.decision.id])
    with letters_left_to_caller():
        assert queue_letters(changed) == []
    monkeypatch.setenv("LETTERS_AT_ONCE", "0")
    assert queue_letters(changed) == []
    monkeypatch.delenv("LETTERS_AT_ONCE")
    assert len(queue_letters(changed)) == 1


def test_every_letter_kind_names_the_record_it_is_about() -> None:
    assert set(RECORDS) == set(LetterKind)


def _awarded_in_error(user_id: int | None) -> Any:
    """A Year 9 pupil on the only seat of a route, awarded transport (A3) on a 6,100 m route,
    then re-measured at 4,000 m: the award was made in error (A15). The award's own letter is
    not the tests' (made by the caller, `letters_left_to_caller`)."""
    from services.assessment import assess_applications

    application = f.pupil_on_the_only_seat((500000, 375000), school_east=6000)
    db.session.commit()
    with letters_left_to_caller():
        assess_applications(ids=[application.id], user_id=user_id)
    application.distance_m = 4000
    db.session.commit()
    return application


def test_an_eligibility_withdrawn_on_reassessment_queues_its_notice_with_the_new_decision(
    seat_year: str,
) -> None:
    """A15: an award made in error is withdrawn at a term's notice when reassessment refuses;
    the reassessment's job makes the notice and the new decision's letter, nothing older."""
    from services.assessment import assess_applications

    application = _awarded_in_error(user_id=None)

    summary = assess_applications(ids=[application.id], user_id=None)

    assert summary.withdrawn == 1
    withdrawal = db.session.scalars(select(Withdrawal)).one()
    refusal = db.session.scalars(
        select(EligibilityDecision).where(EligibilityDecision.superseded_at.is_(None))
    ).one()
    [job] = letters_jobs()
    assert job.parameters["only"] == {"decision": [refusal.id], "withdrawal": [withdrawal.id]}
    assert run_job(job.id) is JobStatus.DONE
    assert sorted(letter_keys()) == sorted(
        [
            (LetterKind.DECISION_NOT_ELIGIBLE, f"decision:{refusal.id}"),
            (LetterKind.ELIGIBILITY_WITHDRAWAL, f"withdrawal:{withdrawal.id}"),
        ]
    )
    assert run_again(job).startswith(f"{YEAR}: 0 letters made")


def test_an_allocation_queues_its_offers_and_waiting_list_letters(seat_year: str) -> None:
    from tests.test_seats import _register_scenario

    route, _apps = _register_scenario(seat_count=4)
    report = seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])
    assert (report.allocated, report.waiting) == (3, 3)
    [job] = letters_jobs()
    assert sorted(job.parameters["only"]) == ["seat", "seat_application"]
    assert run_job(job.id) is JobStatus.DONE
    kinds = sorted(kind.value for kind, _key in letter_keys())
    assert kinds == ["seat_offer"] * 3 + ["seat_waiting_list"] * 3
    seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])  # again: nothing changes
    assert len(letters_jobs()) == 1 and run_again(job).startswith(f"{YEAR}: 0 letters made")


def test_an_assistants_refusal_queues_nothing_until_an_officer_signs_it_off(
    seat_year: str, users: dict[str, int]
) -> None:
    """DOMAIN.md: officers sign off decisions. The assistant's refusal owes no letter; the
    sign-off queues the refusal's letter and the A15 notice of the award it withdraws."""
    from services.assessment import assess_applications
    from services.sign_off import sign_off

    application = _awarded_in_error(user_id=users["officer"])
    assess_applications(ids=[application.id], user_id=users["assistant"])
    assert letters_jobs() == []  # awaiting sign-off: nothing owed, nothing queued

    refusal = db.session.scalars(
        select(EligibilityDecision).where(EligibilityDecision.superseded_at.is_(None))
    ).one()
    sign_off(db.session, [refusal.id], users["officer"])
    withdrawal = db.session.scalars(select(Withdrawal)).one()
    [job] = letters_jobs()
    assert job.parameters["only"] == {"decision": [refusal.id], "withdrawal": [withdrawal.id]}
    assert run_job(job.id) is JobStatus.DONE
    assert sorted(letter_keys()) == sorted(
        [
            (LetterKind.DECISION_NOT_ELIGIBLE, f"decision:{refusal.id}"),
            (LetterKind.ELIGIBILITY_WITHDRAWAL, f"withdrawal:{withdrawal.id}"),
        ]
    )
