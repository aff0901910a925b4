"""Post-16 contributions raised by assessment, and eligibilities ended with notice.

A7/A8 "contribution payable"; A9 pro-rata "school/college days remaining" (on a school's own
days where it has a term-date variation, A23); B1j plans with payment before travel; A15
"travel arrangements are made only upon payment of the student contribution"; A2 an ended
eligibility cancels what is unpaid; A12a "removed with reasonable notice", A15 "at one term's
notice", with the right of appeal (Appendix C).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

import rules
from models import (
    Contribution,
    EligibilityDecision,
    Instalment,
    Pupil,
    TermDateVariation,
    TransportApplication,
    Withdrawal,
    db,
)
from models.enums import (
    CareBy,
    Charge,
    ContributionKind,
    EstablishmentType,
    MedicalWho,
    Outcome,
    PaymentPlan,
    Phase,
    Placement,
    SignOff,
    VariationStatus,
)
from services import seats, years
from services.assessment import assess_applications
from services.contributions import post16_states, record_payment
from services.sign_off import sign_off
from tests import factories as f

HOME = (500000, 375000)
SUMMER = datetime(2024, 8, 20, 9, 0, tzinfo=UTC)
MIDYEAR = datetime(2025, 1, 13, 9, 0, tzinfo=UTC)


def _college(**kw: Any):  # type: ignore[no-untyped-def]
    return f.school(
        phase=Phase.FE_COLLEGE,
        establishment_type=EstablishmentType.FE_COLLEGE,
        statutory_low_age=16,
        statutory_high_age=None,
        easting=HOME[0] + 8000,
        northing=HOME[1],
        **kw,
    )


@pytest.fixture
def student(app_ctx: Flask) -> dict[str, Any]:
    f.academic_year()
    f.contribution_setting()
    college = _college()
    pupil = f.pupil(date_of_birth=date(2008, 3, 1), easting=HOME[0], northing=HOME[1])
    app = f.transport_application(
        pupil,
        college,
        distance_m=8100,
        full_time_hours=Decimal("16"),
        payment_plan=PaymentPlan.THREE,
    )
    db.session.commit()
    return {"college": college, "pupil": pupil, "app": app}


def _contributions() -> list[Contribution]:
    return list(db.session.scalars(select(Contribution).order_by(Contribution.id)))


def _calendar() -> years.Calendar:
    return years.calendar_for(db.session, "2024/25")


def test_a7_contribution_raised_on_the_family_plan_due_before_travel(student) -> None:
    summary = assess_applications(ids=[student["app"].id], user_id=None, now=SUMMER)
    assert summary.contributions_raised == 1
    [c] = _contributions()
    assert (c.kind, c.transport_application_id) == (ContributionKind.POST16, student["app"].id)
    cal = _calendar()
    # Decided before term: travel starts on the first operational day, the whole £456.00.
    assert (c.annual_amount, c.amount, c.start_date) == (Decimal("456.00"),) * 2 + (cal.days[0],)
    assert c.plan is PaymentPlan.THREE
    dues = [(i.number, i.due_on, i.amount) for i in c.instalments]
    assert dues == [
        (1, cal.days[0], Decimal("152.00")),
        (2, cal.days[190 // 3], Decimal("152.00")),
        (3, cal.days[2 * 190 // 3], Decimal("152.00")),
    ]


def test_a9_pro_rata_from_the_start_of_travel_midyear(student) -> None:
    assess_applications(ids=[student["app"].id], user_id=None, now=MIDYEAR)
    [c] = _contributions()
    cal = _calendar()
    expected = rules.contribution(
        Decimal("456.00"), date(2025, 1, 13), "3", cal.terms, cal.closures
    )
    assert c.start_date == date(2025, 1, 13)
    assert c.amount == expected.amount < Decimal("456.00")
    assert [i.amount for i in c.instalments] == [i.amount for i in expected.instalments]


def test_a15_awaiting_payment_until_the_first_instalment_is_paid(student) -> None:
    app_id = student["app"].id
    assess_applications(ids=[app_id], user_id=None, now=SUMMER)
    assert post16_states(db.session, [app_id]) == {app_id: "awaiting payment"}
    first = _contributions()[0].instalments[0]
    record_payment(first.id, first.amount, received_on=date(2024, 8, 28), method="card")
    assert post16_states(db.session, [app_id]) == {app_id: "paid: travel arranged"}


def test_reassessment_never_bills_twice(student) -> None:
    app_id = student["app"].id
    assess_applications(ids=[app_id], user_id=None, now=SUMMER)
    assess_applications(ids=[app_id], user_id=None, now=SUMMER)  # unchanged: nothing written
    db.session.get(TransportApplication, app_id).distance_m = 8300  # changed, still A7
    db.session.commit()
    summary = assess_applications(ids=[app_id], user_id=None, now=MIDYEAR)
    assert summary.superseded == 1 and summary.contributions_raised == 0
    [c] = _contributions()
    assert c.amount == Decimal("456.00") and len(c.instalments) == 3
    assert db.session.scalar(select(func.count()).select_from(Instalment)) == 3


def test_a2_ended_eligibility_cancels_its_unpaid_instalments(student) -> None:
    first_app = student["app"]
    assess_applications(ids=[first_app.id], user_id=None, now=SUMMER)
    paid = _contributions()[0].instalments[0]
    record_payment(paid.id, paid.amount, received_on=date(2024, 8, 28), method="card")
    newer = f.transport_application(
        student["pupil"],
        student["college"],
        distance_m=8100,
        full_time_hours=Decimal("16"),
        received_on=date(2024, 8, 1),
    )
    db.session.commit()
    summary = assess_applications(ids=[newer.id], user_id=None, now=SUMMER)
    assert summary.ended == 1 and summary.instalments_cancelled == 2
    old = db.session.scalars(
        select(Instalment)
        .join(Contribution)
        .where(Contribution.transport_application_id == first_app.id)
        .order_by(Instalment.number)
    ).all()
    assert [i.cancelled_on is None for i in old] == [True, False, False]  # the paid one stays
    assert post16_states(db.session, [first_app.id])[first_app.id].startswith("ended")
    assert post16_states(db.session, [newer.id]) == {newer.id: "awaiting payment"}


def test_a9_a23_a_school_with_its_own_term_dates_has_its_own_days(student) -> None:
    college = student["college"]
    db.session.add(
        TermDateVariation(
            school_id=college.id,
            academic_year="2024/25",
            notice_on=date(2023, 6, 1),
            first_day=date(2024, 9, 9),
            last_day=date(2025, 7, 11),
            details="The college's own year",
            status=VariationStatus.ACCEPTED,
        )
    )
    db.session.commit()
    own = years.calendar_for(db.session, "2024/25", college.id)
    council = _calendar()
    assert own.days[0] == date(2024, 9, 9) and own.days[-1] == date(2025, 7, 11)
    assert len(own.days) < len(council.days)
    assess_applications(ids=[student["app"].id], user_id=None, now=MIDYEAR)
    [c] = _contributions()
    expected = rules.contribution(
        Decimal("456.00"), date(2025, 1, 13), "3", own.terms, own.closures
    )
    wrong = rules.contribution(
        Decimal("456.00"), date(2025, 1, 13), "3", council.terms, council.closures
    )
    assert c.amount == expected.amount != wrong.amount


# ------------------------------------------------------------- eligibility withdrawn


@pytest.fixture
def carried(app_ctx: Flask) -> dict[str, Any]:
    """A Year 9 pupil carried on a route, eligible under A3 (6.1 km) or A12 (route unsuitable)."""
    f.academic_year()
    f.contribution_setting()
    app = f.pupil_on_the_only_seat(HOME, school_east=6000)
    db.session.commit()
    return {"app": app, "route": app.route}


def _withdrawal() -> Withdrawal:
    return db.session.scalar(select(Withdrawal))


def test_a15_award_in_error_withdrawn_at_one_terms_notice(carried) -> None:
    app = carried["app"]
    assess_applications(ids=[app.id], user_id=None, now=datetime(2024, 10, 10, 9, tzinfo=UTC))
    db.session.get(TransportApplication, app.id).distance_m = 4000  # re-measured: in error
    db.session.commit()
    notice = date(2024, 10, 15)
    summary = assess_applications(
        ids=[app.id], user_id=None, now=datetime(2024, 10, 15, 9, tzinfo=UTC)
    )
    assert summary.withdrawn == 1
    w = _withdrawal()
    # Notice in the autumn term: the spring term (6 Jan to 4 Apr, its half-term joined) runs
    # in full, and transport stops when the summer term starts on 22 April 2025.
    assert (w.clause, w.notice_on, w.effective_on) == ("A15", notice, date(2025, 4, 22))
    assert w.family_told_of_appeal and "appeal" in w.reason
    old = db.session.get(EligibilityDecision, w.decision_id)
    assert old.outcome is Outcome.ELIGIBLE and old.ended_on == date(2025, 4, 22)
    # Transport stays until the effective date: the pupil keeps the only seat till then.
    route_id = carried["route"].id
    assert seats.spare_seats(db.session, "2024/25", date(2025, 4, 4))[route_id]["am"] == 0
    assert seats.spare_seats(db.session, "2024/25", date(2025, 4, 22))[route_id]["am"] == 1


def test_a12a_route_found_suitable_removed_with_reasonable_notice(carried) -> None:
    app = db.session.get(TransportApplication, carried["app"].id)
    app.distance_m, app.route_unsuitable = 3000, True
    db.session.commit()
    assess_applications(ids=[app.id], user_id=None, now=datetime(2024, 10, 1, 9, tzinfo=UTC))
    assert db.session.scalar(select(EligibilityDecision.basis)) == "A12"
    app.route_unsuitable = False
    db.session.commit()
    # 00:30 on 2 October in London is still 1 October in UTC: notice is the English date.
    assess_applications(ids=[app.id], user_id=None, now=datetime(2024, 10, 1, 23, 30, tzinfo=UTC))
    w = _withdrawal()
    params = years.policy_for("2024/25")
    assert (w.clause, w.notice_on) == ("A12a", date(2024, 10, 2))
    assert w.effective_on == rules.add_working_days(
        date(2024, 10, 2), params.unsuitable_route_notice_days
    )


def test_eligible_again_lifts_the_pending_withdrawal_and_counts_once(carried) -> None:
    app = db.session.get(TransportApplication, carried["app"].id)
    assess_applications(ids=[app.id], user_id=None, now=datetime(2024, 10, 10, 9, tzinfo=UTC))
    app.distance_m = 4000
    db.session.commit()
    assess_applications(ids=[app.id], user_id=None, now=datetime(2024, 10, 15, 9, tzinfo=UTC))
    app.distance_m = 6100
    db.session.commit()
    assess_applications(ids=[app.id], user_id=None, now=datetime(2024, 10, 20, 9, tzinfo=UTC))
    route_id = carried["route"].id
    assert seats.spare_seats(db.session, "2024/25", date(2024, 11, 1))[route_id]["am"] == 0


def test_superseded_by_a_decision_without_charge_cancels_then_a_new_charge_replans(
    student,
) -> None:
    app_id = student["app"].id
    assess_applications(ids=[app_id], user_id=None, now=SUMMER)
    pupil = db.session.get(Pupil, student["pupil"].id)
    pupil.care_by, pupil.care_placement = CareBy.COUNCIL, Placement.PERMANENT
    db.session.commit()
    # A21: "Post 16 students, in or leaving care, will not be subject to a charge".
    summary = assess_applications(ids=[app_id], user_id=None, now=SUMMER)
    assert summary.superseded == 1 and summary.instalments_cancelled == 3
    assert post16_states(db.session, [app_id])[app_id].startswith("ended")
    pupil.care_by, pupil.care_placement = None, None
    db.session.commit()
    summary = assess_applications(ids=[app_id], user_id=None, now=MIDYEAR)
    assert summary.contributions_raised == 1
    [c] = _contributions()  # the same contribution, planned again from the new start
    assert c.start_date == date(2025, 1, 13) and c.amount < Decimal("456.00")
    assert all(i.cancelled_on is None for i in c.instalments) and len(c.instalments) == 3
    assert post16_states(db.session, [app_id]) == {app_id: "awaiting payment"}


def test_b1i_a_judgement_award_awaiting_sign_off_bills_nothing_until_signed_off(
    student: dict[str, Any], users: dict[str, int]
) -> None:
    """An assistant's award on an officer's judgement (A13, medical grounds) is not in force
    until an officer signs it off, and no letter goes before: nor may a bill, or a reminder
    for an instalment of it (A15 "travel arrangements are made only upon payment")."""
    application = student["app"]
    application.medical_who = MedicalWho.CHILD
    application.medical_accepted = True
    application.distance_m = 1500  # under the walking distance: eligible on medical grounds
    db.session.commit()
    summary = assess_applications(ids=[application.id], user_id=users["assistant"], now=SUMMER)
    decision = db.session.scalars(
        select(EligibilityDecision).where(EligibilityDecision.application_id == application.id)
    ).one()
    assert (decision.basis, decision.charge, decision.sign_off) == (
        "A13", Charge.CONTRIBUTION, SignOff.AWAITING
    )  # fmt: skip
    assert summary.contributions_raised == 0 and _contributions() == []
    signed = sign_off(db.session, [decision.id], users["officer"], now=SUMMER)
    assert signed.contributions_raised == 1
    [contribution] = _contributions()
    assert contribution.transport_application_id == application.id
    assert post16_states(db.session, [application.id]) == {application.id: "awaiting payment"}
