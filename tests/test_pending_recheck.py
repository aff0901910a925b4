"""An award re-checked, not yet re-decided, stays in force (A12a, A15).

A12a: a route "reassessed ... and if found to be suitable transport provision will be removed
with reasonable notice"; A15: an award made in error may be removed "at one term's notice".
Neither lets an award end silently. A re-check whose outcome is `refer` or `measure` has not
decided anything yet, so the award, its seat on the vehicle and any post-16 contribution stay
until a final decision: a refusal then withdraws it with notice and the right of appeal (the
path of `services.seats.withdrawal.withdraw_eligibilities`); eligibility again withdraws
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from models import EligibilityDecision, Instalment, TransportApplication, Withdrawal, db
from models.eligibility_decision import PENDING_RECHECK_WORDS
from models.enums import (
    ApplicationStatus,
    EstablishmentType,
    MedicalWho,
    Outcome,
    PaymentPlan,
    Phase,
)
from services import seats, years
from services.assessment import assess_applications
from services.contributions import post16_states
from services.seats.withdrawal import notice_effective
from tests import factories as f

HOME = (500000, 375000)
YEAR = "2024/25"
AWARDED = datetime(2024, 10, 10, 9, tzinfo=UTC)
RECHECKED = datetime(2024, 10, 15, 9, tzinfo=UTC)
DECIDED = datetime(2024, 11, 4, 9, tzinfo=UTC)
LATER = date(2025, 3, 3)  # a school day well after the re-check


@pytest.fixture
def carried(app: Flask) -> dict[str, int]:
    """A Year 9 pupil on the only seat of a route, eligible under A3 on a 6,100 m route to a
    school 4,000 m away as the crow flies (so without a measured route the rules say
    `measure`, A3b)."""
    with app.app_context():
        f.academic_year()
        f.contribution_setting()
        application = f.pupil_on_the_only_seat(HOME, school_east=4000)
        db.session.commit()
        assess_applications(ids=[application.id], user_id=None, now=AWARDED)
        award = db.session.scalar(select(EligibilityDecision.id))
        return {"app": application.id, "route": application.route_id, "award": award}


def _change(app_id: int, **values: Any) -> None:
    application = db.session.get(TransportApplication, app_id)
    for name, value in values.items():
        setattr(application, name, value)
    db.session.commit()


def _spare(route_id: int, on: date = LATER) -> int:
    return seats.spare_seats(db.session, YEAR, on)[route_id]["am"]


def _current(app_id: int) -> EligibilityDecision:
    return db.session.scalar(
        select(EligibilityDecision).where(
            EligibilityDecision.application_id == app_id,
            EligibilityDecision.superseded_at.is_(None),
        )
    )


def _withdrawals() -> list[Withdrawal]:
    return list(db.session.scalars(select(Withdrawal)))


def test_a12a_a15_a_measure_recheck_keeps_the_award_and_its_seat(
    app: Flask, carried: dict[str, int]
) -> None:
    """The measured route is set aside to be measured again: `measure` (A3b), not a refusal.
    The award stands, the pupil keeps the only seat, nothing is withdrawn (before, the seat
    was freed at once with no notice)."""
    with app.app_context():
        _change(carried["app"], distance_m=None)
        summary = assess_applications(ids=[carried["app"]], user_id=None, now=RECHECKED)

        assert _current(carried["app"]).outcome is Outcome.MEASURE
        assert summary.standing == 1 and summary.withdrawn == 0
        assert "pending a re-check" in summary.as_text()
        award = db.session.get(EligibilityDecision, carried["award"])
        assert award.superseded_at is not None and award.ended_on is None
        assert award.pending_recheck_words == PENDING_RECHECK_WORDS
        assert _withdrawals() == []
        assert _spare(carried["route"]) == 0
        # Still waiting for a decision (B2): the re-check is work, not an outcome.
        status = db.session.get(TransportApplication, carried["app"]).status
        assert status is ApplicationStatus.RECEIVED


def test_a15_a_refer_recheck_then_a_refusal_withdraws_the_award_with_notice(
    app: Flask, carried: dict[str, int]
) -> None:
    """Re-measured at 4,000 m and a medical case pending: `refer` (A13), the award stands;
    the officer refuses the medical grounds: a refusal, and only now the A15 withdrawal of
    the award, with notice from the dated parameters and the right of appeal; the pupil rides
    until the effective date."""
    with app.app_context():
        _change(carried["app"], distance_m=4000, medical_who=MedicalWho.CHILD)
        assess_applications(ids=[carried["app"]], user_id=None, now=RECHECKED)
        assert _current(carried["app"]).outcome is Outcome.REFER
        assert _withdrawals() == [] and _spare(carried["route"]) == 0

        _change(carried["app"], medical_accepted=False)
        summary = assess_applications(ids=[carried["app"]], user_id=None, now=DECIDED)

        assert _current(carried["app"]).outcome is Outcome.NOT_ELIGIBLE
        assert summary.withdrawn == 1
        [w] = _withdrawals()
        notice = DECIDED.date()
        cal = years.school_calendars(db.session, YEAR, {_school_of(carried["app"])})
        expected = notice_effective("A15", notice, years.policy_for(YEAR), next(iter(cal.values())))
        assert (w.decision_id, w.clause, w.notice_on) == (carried["award"], "A15", notice)
        assert w.effective_on == expected == date(2025, 4, 22)
        assert w.family_told_of_appeal and "appeal" in w.reason
        award = db.session.get(EligibilityDecision, carried["award"])
        assert award.ended_on == expected and not award.stands_pending_recheck
        assert award.pending_recheck_words is None
        assert _spare(carried["route"], date(2025, 4, 4)) == 0  # carried until then
        assert _spare(carried["route"], expected) == 1


def test_a12a_a_recheck_that_finds_the_pupil_eligible_again_withdraws_nothing(
    app: Flask, carried: dict[str, int]
) -> None:
    with app.app_context():
        _change(carried["app"], distance_m=None)
        assess_applications(ids=[carried["app"]], user_id=None, now=RECHECKED)
        _change(carried["app"], distance_m=6200)
        summary = assess_applications(ids=[carried["app"]], user_id=None, now=DECIDED)

        assert _current(carried["app"]).outcome is Outcome.ELIGIBLE
        assert summary.withdrawn == 0 and _withdrawals() == []
        award = db.session.get(EligibilityDecision, carried["award"])
        assert not award.stands_pending_recheck
        assert _spare(carried["route"]) == 0  # counted once, on the new award


def test_a_second_recheck_keeps_the_same_award_standing(
    app: Flask, carried: dict[str, int]
) -> None:
    """measure, then refer: still not decided; the first award still stands, once."""
    with app.app_context():
        _change(carried["app"], distance_m=None)
        assess_applications(ids=[carried["app"]], user_id=None, now=RECHECKED)
        _change(carried["app"], distance_m=4000, medical_who=MedicalWho.CHILD)
        summary = assess_applications(ids=[carried["app"]], user_id=None, now=DECIDED)
        assert _current(carried["app"]).outcome is Outcome.REFER
        assert summary.standing == 0  # already standing
        standing = db.session.scalars(
            select(EligibilityDecision.id).where(EligibilityDecision.stands_pending_recheck)
        ).all()
        assert standing == [carried["award"]] and _spare(carried["route"]) == 0


def test_a2_a_new_eligible_application_ends_a_standing_award(
    app: Flask, carried: dict[str, int]
) -> None:
    """A2: "A new application for transport will override any current transport
    eligibility": an award standing pending a re-check is one."""
    with app.app_context():
        _change(carried["app"], distance_m=None)
        assess_applications(ids=[carried["app"]], user_id=None, now=RECHECKED)
        old = db.session.get(TransportApplication, carried["app"])
        new = f.transport_application(
            old.pupil, old.school, distance_m=6100, received_on=date(2024, 11, 1)
        )
        db.session.commit()
        summary = assess_applications(ids=[new.id], user_id=None, now=DECIDED)
        assert summary.ended == 1
        award = db.session.get(EligibilityDecision, carried["award"])
        assert award.ended_on == DECIDED.date() and award.pending_recheck_words is None
        assert _spare(carried["route"]) == 1


def test_the_application_and_case_pages_say_the_award_stands_pending_the_recheck(
    app: Flask, carried: dict[str, int], client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        _change(carried["app"], distance_m=None)
        assess_applications(ids=[carried["app"]], user_id=None, now=RECHECKED)
        pupil_id = db.session.get(TransportApplication, carried["app"]).pupil_id
    client = client_as("officer")
    for url in (
        f"/admin/transport_application/details/?id={carried['app']}",
        f"/admin/pupil/details/?id={pupil_id}",
    ):
        page = client.get(url)
        assert page.status_code == 200
        assert PENDING_RECHECK_WORDS in page.get_data(as_text=True), url
    # The applications list: "measure", and the award behind it, in the same cell.
    listed = client.get("/admin/transport_application/").get_data(as_text=True)
    assert "award (A3) stands pending it" in listed
    queue = client.get("/admin/transport_application/queue/measure").get_data(as_text=True)
    assert PENDING_RECHECK_WORDS in queue


def test_the_list_says_nothing_of_an_award_once_it_is_settled(
    app: Flask, carried: dict[str, int], client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        _change(carried["app"], distance_m=None)
        assess_applications(ids=[carried["app"]], user_id=None, now=RECHECKED)
        _change(carried["app"], distance_m=6100)  # measured: the final decision, eligible
        assess_applications(ids=[carried["app"]], user_id=None, now=DECIDED)
    listed = client_as("officer").get("/admin/transport_application/").get_data(as_text=True)
    assert "Eligible" in listed and "stands pending" not in listed


def _school_of(app_id: int) -> int:
    return db.session.get(TransportApplication, app_id).school_id


# ------------------------------------------------------------- post-16 contribution


@pytest.fixture
def student(app: Flask) -> int:
    """A post-16 student at the nearest college, 8,100 m by road, contribution payable (A7)."""
    with app.app_context():
        f.academic_year()
        f.contribution_setting()
        college = f.school(
            phase=Phase.FE_COLLEGE,
            establishment_type=EstablishmentType.FE_COLLEGE,
            statutory_low_age=16,
            statutory_high_age=None,
            easting=HOME[0] + 4000,
            northing=HOME[1],
        )
        pupil = f.pupil(date_of_birth=date(2008, 3, 1), easting=HOME[0], northing=HOME[1])
        application = f.transport_application(
            pupil,
            college,
            distance_m=8100,
            full_time_hours=Decimal("16"),
            payment_plan=PaymentPlan.THREE,
        )
        db.session.commit()
        summary = assess_applications(ids=[application.id], user_id=None, now=AWARDED)
        assert summary.contributions_raised == 1
        return application.id


def test_a15_the_contribution_stays_in_force_pending_the_recheck(app: Flask, student: int) -> None:
    """Before, the re-check's `measure` (no charge) cancelled the unpaid instalments at once."""
    with app.app_context():
        state = post16_states(db.session, [student])[student]
        _change(student, distance_m=None)
        summary = assess_applications(ids=[student], user_id=None, now=RECHECKED)
        assert _current(student).outcome is Outcome.MEASURE
        assert summary.instalments_cancelled == 0
        cancelled = db.session.scalar(
            select(func.count()).select_from(Instalment).where(Instalment.cancelled_on.is_not(None))
        )
        assert cancelled == 0
        assert post16_states(db.session, [student])[student] == state


def test_an_assistants_refusal_awaiting_sign_off_keeps_the_award_and_its_seat(
    app: Flask, carried: dict[str, int], users: dict[str, int]
) -> None:
    """DOMAIN.md: officers sign off decisions. Until an officer confirms an assistant's refusal,
    nothing is decided for the family, so the award stands as for a re-check (A12a, A15): the
    seat is not given away meanwhile, and a refusal sent back leaves it standing too."""
    from services.sign_off import send_back, sign_off

    with app.app_context():
        _change(carried["app"], distance_m=2100)  # within the secondary walking distance
        assess_applications(ids=[carried["app"]], user_id=users["assistant"], now=RECHECKED)
        refusal = _current(carried["app"])
        assert refusal.outcome is Outcome.NOT_ELIGIBLE
        award = db.session.get(EligibilityDecision, carried["award"])
        assert award.stands_pending_recheck and award.ended_on is None
        assert _withdrawals() == [] and _spare(carried["route"]) == 0

        send_back(db.session, [refusal.id], users["officer"])
        db.session.expire_all()
        assert db.session.get(EligibilityDecision, carried["award"]).stands_pending_recheck
        assert _spare(carried["route"]) == 0

        assess_applications(ids=[carried["app"]], user_id=users["assistant"], now=DECIDED)
        again = _current(carried["app"])
        assert again.outcome is Outcome.NOT_ELIGIBLE and _spare(carried["route"]) == 0
        sign_off(db.session, [again.id], users["officer"])
        db.session.expire_all()
        [withdrawal] = _withdrawals()
        assert withdrawal.decision_id == carried["award"]
        assert not db.session.get(EligibilityDecision, carried["award"]).stands_pending_recheck
