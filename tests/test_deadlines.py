"""Deadlines in England's dates: appeals (Appendix C), the stage-two panel's outcome, and the
B2a decision target stored on every application."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

import rules
from models import Appeal, EligibilityDecision, TransportApplication, db
from models.enums import AppealOutcome, AppealStage, Outcome, PaymentPlan
from services import years
from services.appeals import AppealFacts, appeal_problems, deadlines
from services.assessment import assess_applications
from tests import factories as f


@pytest.fixture
def refusal(app_ctx: Flask) -> EligibilityDecision:
    """A refusal decided at 23:30 UTC on 9 June 2025: 00:30 on 10 June in England (BST)."""
    f.academic_year()
    f.academic_year("2025/26", with_calendar=False)
    application = f.transport_application(f.pupil(), f.school())
    decision = f.decision(
        application,
        outcome=Outcome.NOT_ELIGIBLE,
        decided_at=datetime(2025, 6, 9, 23, 30, tzinfo=UTC),
    )
    db.session.commit()
    return decision


def test_local_date_is_englands_not_utcs() -> None:
    assert years.local_date(datetime(2025, 6, 9, 23, 30, tzinfo=UTC)) == date(2025, 6, 10)
    assert years.local_date(datetime(2025, 1, 9, 23, 30, tzinfo=UTC)) == date(2025, 1, 9)


def test_appendix_c_request_deadline_counts_from_the_decisions_english_date(refusal) -> None:
    due = deadlines(refusal, AppealStage.REVIEW, date(2025, 6, 20), db.session)
    params = years.policy_for("2024/25")
    assert due.request_deadline == rules.add_working_days(
        date(2025, 6, 10), params.review_request_working_days
    )
    # Counting from UTC's 9 June would give a day less.
    assert due.request_deadline != rules.add_working_days(
        date(2025, 6, 9), params.review_request_working_days
    )


def _stage_one_upheld(decision: EligibilityDecision) -> None:
    due = deadlines(decision, AppealStage.REVIEW, date(2025, 6, 20), db.session)
    db.session.add(
        Appeal(
            decision=decision,
            stage=AppealStage.REVIEW,
            received_on=date(2025, 6, 20),
            request_deadline=due.request_deadline,
            decision_due=due.decision_due,
            grounds="The route is unsafe.",
            outcome=AppealOutcome.UPHELD,
            decided_on=date(2025, 7, 1),
        )
    )
    db.session.flush()


def test_appendix_c_panel_date_gives_the_five_working_day_outcome_deadline(refusal) -> None:
    _stage_one_upheld(refusal)
    # A Friday panel; Monday 25 August 2025 is the summer bank holiday.
    due = deadlines(
        refusal, AppealStage.PANEL, date(2025, 7, 7), db.session, panel_on=date(2025, 8, 22)
    )
    assert due.panel_outcome_due == date(2025, 9, 1)
    assert due.decision_due == due.panel_outcome_due
    unknown = deadlines(refusal, AppealStage.PANEL, date(2025, 7, 7), db.session)
    assert unknown.panel_outcome_due is None and unknown.decision_due > date(2025, 9, 1)
    db.session.add(
        Appeal(
            decision=refusal,
            stage=AppealStage.PANEL,
            received_on=date(2025, 7, 7),
            request_deadline=due.request_deadline,
            decision_due=due.decision_due,
            panel_not_before=due.panel_not_before,
            panel_on=date(2025, 8, 22),
            panel_outcome_due=due.panel_outcome_due,
            grounds="Still unsafe.",
        )
    )
    db.session.commit()
    stored = db.session.scalar(select(Appeal).where(Appeal.stage == AppealStage.PANEL))
    assert (stored.panel_on, stored.panel_outcome_due) == (date(2025, 8, 22), date(2025, 9, 1))


def test_appendix_c_no_panel_date_on_a_stage_one_review(refusal) -> None:
    facts = AppealFacts(
        refusal, AppealStage.REVIEW, date(2025, 6, 20), None, None, None, date(2025, 7, 30)
    )
    assert [p.field for p in appeal_problems(facts, db.session)] == ["panel_on"]


def test_appendix_c_panel_date_on_the_appeal_form(
    app: Flask, client_as: Any, users: dict[str, int]
) -> None:
    with app.app_context():
        f.academic_year()
        application = f.transport_application(f.pupil(), f.school())
        decision = f.decision(
            application,
            outcome=Outcome.NOT_ELIGIBLE,
            decided_by_id=users["officer"],
            decided_at=datetime(2024, 12, 2, 11, tzinfo=UTC),
        )
        db.session.add(
            Appeal(
                decision_id=decision.id,
                stage=AppealStage.REVIEW,
                received_on=date(2024, 12, 20),
                request_deadline=date(2025, 1, 2),
                decision_due=date(2025, 1, 22),
                grounds="x",
                outcome=AppealOutcome.UPHELD,
                decided_on=date(2025, 1, 10),
            )
        )
        db.session.commit()
        decision_id = decision.id
    response = client_as("officer").post(
        "/admin/appeal/new/",
        data={
            "decision": str(decision_id),
            "stage": "stage_two",
            "received_on": "2025-01-20",
            "panel_on": "2025-03-07",
            "grounds": "Still unsafe.",
            "outcome": "pending",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        second = db.session.scalar(select(Appeal).where(Appeal.stage == AppealStage.PANEL))
        assert second.panel_on == date(2025, 3, 7)
        assert second.panel_outcome_due == date(2025, 3, 14)


# ------------------------------------------------------------------------ B2a target


def test_b2_target_stored_on_every_application_and_busy_period_flagged(app_ctx: Flask) -> None:
    f.academic_year()
    june = f.transport_application(f.pupil(), f.school(), received_on=date(2024, 6, 3))
    august = f.transport_application(f.pupil(), f.school(), received_on=date(2024, 8, 23))
    db.session.commit()
    assert years.refresh_decision_targets(db.session) == 2
    db.session.commit()
    db.session.refresh(june)
    db.session.refresh(august)
    assert (june.decision_target_on, june.decision_target_busy) == (date(2024, 6, 10), False)
    # 26 Aug 2024 is the summer bank holiday; and August is the busy period (B2a).
    assert (august.decision_target_on, august.decision_target_busy) == (date(2024, 9, 2), True)
    assert years.refresh_decision_targets(db.session) == 0  # nothing changed, nothing written


def test_b2_target_follows_a_changed_figure(app_ctx: Flask) -> None:
    from services.policy import ensure_parameter_set

    f.academic_year()
    app = f.transport_application(f.pupil(), f.school(), received_on=date(2024, 6, 3))
    db.session.commit()
    years.refresh_decision_targets(db.session)
    ensure_parameter_set("2024/25").decision_target_working_days = 10
    db.session.commit()
    assert years.refresh_decision_targets(db.session) == 1
    db.session.refresh(app)
    assert app.decision_target_on == date(2024, 6, 17)


def test_the_b2_queues_read_each_applications_stored_target(app_ctx: Flask) -> None:
    """One definition of B2a's date: the home counts, the list filter and the weekly chart
    read the target stored on the application (what its own page shows), never a second
    working-out. Three applications received the same day, stored as under three different
    figures, fall in three different places."""
    from services import queues

    today = date(2024, 6, 20)
    f.academic_year()
    stored = {
        "within": (date(2024, 6, 21), False),
        "past": (date(2024, 6, 10), False),
        "busy": (date(2024, 6, 10), True),
    }
    ids = {}
    for kind, (due, busy) in stored.items():
        application = f.transport_application(
            f.pupil(),
            f.school(),
            received_on=date(2024, 6, 3),
            decision_target_on=due,
            decision_target_busy=busy,
        )
        db.session.flush()
        ids[kind] = application.id
    db.session.commit()

    counts = queues.application_counts(db.session, today, None)
    assert {k: counts[f"b2_{k}"] for k in stored} == {"within": 1, "past": 1, "busy": 1}
    clock = queues.B2Clock(today)
    for kind in ("within", "past", "busy"):
        listed = db.session.scalars(select(TransportApplication.id).where(clock.clause(kind)))
        assert list(listed) == [ids[kind]], kind

    decided = datetime(2024, 6, 14, 12, tzinfo=UTC)  # after the 10th, before the 21st
    for app_id in ids.values():
        f.decision(db.session.get(TransportApplication, app_id), decided_at=decided)
    db.session.commit()
    week = next(b for b in queues.decisions_per_week(db.session, today) if b.decided)
    assert (week.decided, week.in_target, week.busy, week.late) == (3, 1, 1, 1)


def test_b2_targets_follow_a_years_figures_copied_forward_or_deleted(
    app: Flask, client_as: Any
) -> None:
    """The stored targets are kept right by every change to a year's figures: copying a
    year's figures forward to a year that already has applications, and a supervisor deleting
    a year's figures (back on the dated defaults, 5 working days)."""
    from models import PolicyParameterSet
    from services.policy import ensure_parameter_set
    from services.settings import copy_forward

    with app.app_context():
        f.academic_year()
        f.academic_year("2025/26", with_calendar=False)
        later = f.transport_application(
            f.pupil(), f.school(), academic_year="2025/26", received_on=date(2025, 6, 2)
        )
        db.session.commit()
        years.refresh_decision_targets(db.session)
        db.session.commit()
        assert later.decision_target_on == date(2025, 6, 9)  # 5 working days (B2a)
        ensure_parameter_set("2024/25").decision_target_working_days = 10
        db.session.commit()
        copy_forward(
            db.session,
            PolicyParameterSet,
            [db.session.scalar(select(PolicyParameterSet.id))],
        )
        db.session.commit()
        db.session.refresh(later)
        assert later.decision_target_on == date(2025, 6, 16)  # 10 working days, copied
        copied = db.session.scalar(
            select(PolicyParameterSet.id).where(PolicyParameterSet.academic_year == "2025/26")
        )
        later_id = later.id
    response = client_as("supervisor").post(
        "/admin/policy_parameter_set/delete/", data={"id": str(copied)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.get(PolicyParameterSet, copied) is None
        back = db.session.get(TransportApplication, later_id)
        assert back.decision_target_on == date(2025, 6, 9)


def test_b2_target_set_when_an_application_is_saved_on_the_screen(
    app: Flask, client_as: Any
) -> None:
    with app.app_context():
        f.academic_year()
        pupil, school = f.pupil(), f.school()
        db.session.commit()
        ids = (pupil.id, school.id)
    response = client_as("assistant").post(
        "/admin/transport_application/new/",
        data={
            "reference": "TRA7777777",
            "pupil": str(ids[0]),
            "school": str(ids[1]),
            "academic_year": "2024/25",
            "received_on": "2024-06-03",
            "payment_plan": "3",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        saved = db.session.scalar(select(TransportApplication))
        assert saved.decision_target_on == date(2024, 6, 10)
        assert saved.payment_plan is PaymentPlan.THREE


def test_the_application_screen_shows_the_post16_contribution_awaiting_payment(
    app: Flask, client_as: Any
) -> None:
    from models.enums import EstablishmentType, Phase

    with app.app_context():
        f.academic_year()
        f.contribution_setting()
        college = f.school(
            phase=Phase.FE_COLLEGE,
            establishment_type=EstablishmentType.FE_COLLEGE,
            statutory_low_age=16,
            statutory_high_age=None,
            easting=508000,
            northing=375000,
        )
        student = f.pupil(date_of_birth=date(2008, 3, 1), easting=500000, northing=375000)
        application = f.transport_application(
            student, college, distance_m=8100, full_time_hours=Decimal("16")
        )
        db.session.commit()
        assess_applications(
            ids=[application.id], user_id=None, now=datetime(2024, 8, 20, tzinfo=UTC)
        )
        app_id = application.id
    page = client_as("assistant").get(f"/admin/transport_application/details/?id={app_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "£456.00 from 04 Sep 2024 (in full): awaiting payment" in text
