"""The assessment service: decisions stored with their trail, idempotent, history kept, A2."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from models import EligibilityDecision, TransportApplication, db
from models.enums import (
    ApplicationStatus,
    CareBy,
    Charge,
    DtaCategory,
    EstablishmentType,
    MedicalWho,
    Outcome,
    Phase,
    Placement,
)
from services.assessment import AssessmentError, assess_applications, facts_hash
from services.policy import ensure_parameter_set, parameters_as_json, parameters_for_year
from tests import factories as f

HOME = (500000, 375000)
YEAR = TransportApplication.academic_year == "2024/25"


def school_at(east: int, north: int = 0, **kw: Any):  # type: ignore[no-untyped-def]
    values: dict[str, Any] = {
        "phase": Phase.SECONDARY,
        "establishment_type": EstablishmentType.COMMUNITY,
        "easting": HOME[0] + east,
        "northing": HOME[1] + north,
    }
    values.update(kw)
    return f.school(**values)


def dta_school_of(pupil: Any, east: int, north: int):  # type: ignore[no-untyped-def]
    """A school further away that is the pupil's DTA school (A14): eligible from there too."""
    parish = f.parish()
    pupil.parish_id = parish.id
    school = school_at(east, north)
    f.dta(school, DtaCategory.SECONDARY_ALL_ABILITY, parishes=[parish])
    return school


def decisions_of(app_id: int) -> list[EligibilityDecision]:
    return list(
        db.session.scalars(
            select(EligibilityDecision)
            .where(EligibilityDecision.application_id == app_id)
            .order_by(EligibilityDecision.id)
        )
    )


@pytest.fixture
def setup(app_ctx: Flask, users: dict[str, int]) -> dict[str, Any]:
    f.academic_year()
    school = school_at(6000)
    pupil = f.pupil(easting=HOME[0], northing=HOME[1])  # Year 9 in 2024/25
    application = f.transport_application(pupil, school, distance_m=6100)
    db.session.commit()
    return {"school": school, "pupil": pupil, "app": application, "users": users}


def test_a3_decision_stored_with_clause_trail_user_and_facts(setup: dict[str, Any]) -> None:
    app, officer = setup["app"], setup["users"]["officer"]
    summary = assess_applications(ids=[app.id], user_id=officer)
    assert summary.assessed == 1 and summary.by_outcome == {"eligible": 1}
    [decision] = decisions_of(app.id)
    assert decision.outcome is Outcome.ELIGIBLE
    assert decision.basis == "A3"
    assert "A3" in decision.clauses
    assert decision.charge is Charge.FREE
    assert decision.valid_until == date(2027, 8, 31)  # A15: end of Year 11 for a Year 9 pupil
    assert decision.review_date is None
    assert decision.reasons and all(isinstance(r, str) for r in decision.reasons)
    assert decision.decided_by_id == officer
    assert decision.decided_at is not None
    assert decision.parameters_year == "2024/25"
    assert decision.facts["distance_m"] == 6100
    assert decision.facts["is_nearest_suitable"] is True
    expected = facts_hash(decision.facts, parameters_as_json(parameters_for_year("2024/25")))
    assert decision.facts_hash == expected
    assert db.session.get(TransportApplication, app.id).status is ApplicationStatus.DECIDED


def test_rerun_on_unchanged_application_writes_nothing(setup: dict[str, Any]) -> None:
    app = setup["app"]
    assess_applications(ids=[app.id], user_id=None)
    again = assess_applications(where=YEAR, user_id=None)
    assert again.assessed == 0 and again.unchanged == 1 and again.superseded == 0
    assert len(decisions_of(app.id)) == 1


def test_a3_change_supersedes_and_keeps_history(setup: dict[str, Any]) -> None:
    app = setup["app"]
    assess_applications(ids=[app.id], user_id=None)
    db.session.get(TransportApplication, app.id).distance_m = 4000  # within 3 miles (A3)
    db.session.commit()
    summary = assess_applications(ids=[app.id], user_id=setup["users"]["assistant"])
    assert summary.assessed == 1 and summary.superseded == 1
    old, new = decisions_of(app.id)
    assert old.outcome is Outcome.ELIGIBLE and old.superseded_at is not None
    assert new.outcome is Outcome.NOT_ELIGIBLE and new.superseded_at is None
    assert new.basis == "A3"
    assert db.session.get(TransportApplication, app.id).current_decision.id == new.id


def test_measure_when_no_distance_settles_it(setup: dict[str, Any]) -> None:
    near = school_at(2000)  # straight line 2000 m: under 3 miles, the route is unknown
    app = f.transport_application(setup["pupil"], near, received_on=date(2024, 5, 1))
    db.session.commit()
    assess_applications(ids=[app.id], user_id=None)
    [decision] = decisions_of(app.id)
    assert decision.outcome is Outcome.MEASURE
    assert db.session.get(TransportApplication, app.id).status is ApplicationStatus.RECEIVED


def test_a13_pending_medical_determination_is_referred(setup: dict[str, Any]) -> None:
    near = school_at(1500)
    app = f.transport_application(
        setup["pupil"], near, distance_m=1600, medical_who=MedicalWho.CHILD
    )
    db.session.commit()
    assess_applications(ids=[app.id], user_id=None)
    assert decisions_of(app.id)[0].outcome is Outcome.REFER


def test_a2_new_eligible_application_ends_the_other_eligibility(setup: dict[str, Any]) -> None:
    first = setup["app"]
    assess_applications(ids=[first.id], user_id=None)
    other_school = dta_school_of(setup["pupil"], 0, 7000)
    second = f.transport_application(
        setup["pupil"], other_school, distance_m=7100, received_on=date(2024, 7, 1)
    )
    db.session.commit()
    summary = assess_applications(ids=[second.id], user_id=None)
    assert summary.ended == 1
    [old] = decisions_of(first.id)
    assert old.ended_on is not None
    assert "A2" in old.end_reason and second.reference in old.end_reason
    assert old.superseded_at is None  # ended, not rewritten: history is kept
    [new] = decisions_of(second.id)
    assert new.outcome is Outcome.ELIGIBLE and new.ended_on is None
    # Re-assessing the older application (its facts changed: the pupil's DTA is now known)
    # never ends the newer one; its own new decision is ended again, since A2 still applies.
    assess_applications(where=YEAR, user_id=None)
    assert decisions_of(second.id)[0].ended_on is None
    current_first = db.session.get(TransportApplication, first.id).current_decision
    assert current_first.outcome is Outcome.ELIGIBLE and current_first.ended_on is not None


def test_a2_in_one_batch_the_newest_application_keeps_eligibility(setup: dict[str, Any]) -> None:
    first = setup["app"]
    second = f.transport_application(
        setup["pupil"],
        dta_school_of(setup["pupil"], 0, 7000),
        distance_m=7100,
        received_on=date(2024, 8, 1),
    )
    db.session.commit()
    summary = assess_applications(where=YEAR, user_id=None)
    assert summary.by_outcome == {"eligible": 2} and summary.ended == 1
    assert decisions_of(first.id)[0].ended_on is not None
    assert decisions_of(second.id)[0].ended_on is None


def test_a2_refused_new_application_leaves_the_eligibility(setup: dict[str, Any]) -> None:
    first = setup["app"]
    assess_applications(ids=[first.id], user_id=None)
    near = school_at(0, 3000)
    f.transport_application(setup["pupil"], near, distance_m=3100, received_on=date(2024, 7, 1))
    db.session.commit()
    assess_applications(where=YEAR, user_id=None)
    # Not ended under A2 (a refused application overrides nothing). The nearer school now
    # recorded makes the first award one made in error: withdrawn at notice (A15), not A2.
    assert not any((d.end_reason or "").startswith("A2") for d in decisions_of(first.id))


def test_dated_parameters_a_changed_year_row_supersedes_its_decisions(
    setup: dict[str, Any],
) -> None:
    app = setup["app"]
    assess_applications(ids=[app.id], user_id=None)
    f.academic_year("2025/26", with_calendar=False)
    later = ensure_parameter_set("2025/26")
    later.secondary_walking_distance_m = 7000  # next year's figure
    db.session.commit()
    assert assess_applications(where=YEAR, user_id=None).unchanged == 1  # 2024/25 untouched
    row = ensure_parameter_set("2024/25")
    row.secondary_walking_distance_m = 6500  # this year's figure changed by a supervisor
    db.session.commit()
    summary = assess_applications(where=YEAR, user_id=None)
    assert summary.superseded == 1
    assert decisions_of(app.id)[-1].outcome is Outcome.NOT_ELIGIBLE


def test_all_or_nothing_when_a_year_has_no_policy_figures(setup: dict[str, Any]) -> None:
    f.academic_year("2019/20", with_calendar=False)
    old = f.transport_application(
        setup["pupil"], setup["school"], academic_year="2019/20", received_on=date(2019, 6, 1)
    )
    db.session.commit()
    with pytest.raises(AssessmentError, match="2019/20"):
        assess_applications(ids=[setup["app"].id, old.id], user_id=None)
    assert db.session.scalar(select(EligibilityDecision.id)) is None
    assert db.session.get(TransportApplication, setup["app"].id).status is (
        ApplicationStatus.RECEIVED
    )


def test_a7b_post16_without_hours_is_reported_not_guessed(setup: dict[str, Any]) -> None:
    college = school_at(
        8000,
        phase=Phase.FE_COLLEGE,
        establishment_type=EstablishmentType.FE_COLLEGE,
        statutory_low_age=16,
        statutory_high_age=None,
    )
    student = f.pupil(date_of_birth=date(2008, 3, 1), easting=HOME[0], northing=HOME[1])
    app = f.transport_application(student, college, distance_m=8100)
    db.session.commit()
    summary = assess_applications(ids=[app.id], user_id=None)
    assert summary.assessed == 0 and summary.skipped[0][0] == app.reference
    assert "Not assessed: 1" in summary.as_text()
    db.session.get(TransportApplication, app.id).full_time_hours = Decimal("16")
    db.session.commit()
    assess_applications(ids=[app.id], user_id=None)
    [decision] = decisions_of(app.id)
    assert decision.basis == "A7" and decision.charge is Charge.CONTRIBUTION


def test_withdrawn_applications_are_not_assessed(setup: dict[str, Any]) -> None:
    db.session.get(TransportApplication, setup["app"].id).status = ApplicationStatus.WITHDRAWN
    db.session.commit()
    summary = assess_applications(where=YEAR, user_id=None)
    assert summary.assessed == 0 and summary.unchanged == 0
    assert db.session.scalar(select(EligibilityDecision.id)) is None


def test_case_from_facts_matches_the_contract_parser(setup: dict[str, Any]) -> None:
    """The quick builder gives exactly the `Case` the strict JSON contract parser gives."""
    from rules.contract import parse_case
    from services.assessment import case_from_facts
    from services.eligibility_facts import gather_facts

    college = school_at(
        8000,
        phase=Phase.FE_COLLEGE,
        establishment_type=EstablishmentType.FE_COLLEGE,
        statutory_low_age=16,
        statutory_high_age=None,
    )
    student = f.pupil(
        date_of_birth=date(2008, 3, 1),
        care_by=CareBy.OTHER_LA,
        care_placement=Placement.PERMANENT,
    )
    f.transport_application(
        student,
        college,
        full_time_hours=Decimal("12.25"),
        medical_who=MedicalWho.PARENT,
        medical_accepted=True,
        medical_until=date(2025, 3, 1),
        exceptional_circumstances=True,
        purchase_order="PO-9",
    )
    db.session.commit()
    cases = gather_facts(db.session, YEAR)
    assert len(cases) == 2
    for gathered in cases:
        facts = gathered.facts
        assert facts is not None
        strict = dict(facts)
        if facts["post16"] is not None:
            hours = Decimal(str(facts["post16"]["full_time_hours"]))
            strict["post16"] = {**facts["post16"], "full_time_hours": hours}
        assert case_from_facts(facts) == parse_case(strict)
