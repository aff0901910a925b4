"""Facts gathered from the database for the rules (issue 3 "In the panel"; A2, A3, A5, A14)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from models import LowIncomeEvidence, PolicyParameterSet, TransportApplication, db
from models.enums import (
    CareBy,
    DtaCategory,
    EstablishmentType,
    MedicalWho,
    Phase,
    Placement,
    SixthForm,
)
from services.eligibility_facts import gather_facts, straight_line_m
from services.policy import (
    STORED_FIELDS,
    UNREAD_COLUMNS,
    ensure_parameter_set,
    parameters_for_year,
)
from tests import factories as f

HOME = (500000, 375000)


def facts_for(app_id: int) -> dict[str, Any]:
    [case] = gather_facts(db.session, TransportApplication.id == app_id)
    assert case.problem is None, case.problem
    assert case.facts is not None
    return case.facts


def secondary(**kw: Any):  # type: ignore[no-untyped-def]
    """An open 11-16 community secondary school at an offset (metres east, north) from HOME."""
    east, north = kw.pop("at", (3000, 0))
    values: dict[str, Any] = {
        "phase": Phase.SECONDARY,
        "establishment_type": EstablishmentType.COMMUNITY,
        "easting": HOME[0] + east,
        "northing": HOME[1] + north,
    }
    values.update(kw)
    return f.school(**values)


@pytest.fixture
def year(app_ctx: Flask):  # type: ignore[no-untyped-def]
    return f.academic_year()


def test_a14_dta_school_via_the_homes_parish(year: Any) -> None:
    parish = f.parish()
    school = secondary()
    f.dta(school, DtaCategory.SECONDARY_ALL_ABILITY, parishes=[parish])
    pupil = f.pupil(parish_id=parish.id, easting=HOME[0], northing=HOME[1])
    app = f.transport_application(pupil, school)
    assert facts_for(app.id)["is_dta_school"] is True


def test_a14_dta_school_via_the_homes_postcode(year: Any) -> None:
    code = f.postcode("LN9 9ZZ")
    school = secondary()
    f.dta(school, DtaCategory.SECONDARY_ALL_ABILITY, postcodes=[code])
    pupil = f.pupil(postcode="LN9 9ZZ", parish_id=None)
    app = f.transport_application(pupil, school)
    assert facts_for(app.id)["is_dta_school"] is True


def test_a14_parish_comes_from_the_postcode_when_the_pupil_has_none(year: Any) -> None:
    parish = f.parish()
    f.postcode("LN8 8YY", parish)
    school = secondary()
    f.dta(school, DtaCategory.SECONDARY_ALL_ABILITY, parishes=[parish])
    pupil = f.pupil(postcode="LN8 8YY", parish_id=None)
    app = f.transport_application(pupil, school)
    assert facts_for(app.id)["is_dta_school"] is True


def test_appendix_g_dta_of_another_category_does_not_count(year: Any) -> None:
    parish = f.parish()
    school = secondary(phase=Phase.ALL_THROUGH, statutory_low_age=4, statutory_high_age=18)
    f.dta(school, DtaCategory.PRIMARY, parishes=[parish])  # a secondary pupil's DTA is not this
    other = f.parish()
    pupil = f.pupil(parish_id=other.id)
    app = f.transport_application(pupil, school)
    assert facts_for(app.id)["is_dta_school"] is False
    pupil.parish_id = parish.id
    db.session.flush()
    assert facts_for(app.id)["is_dta_school"] is False  # Year 9: primary DTA is the wrong kind


def test_appendix_g_grammar_dta_counts_for_a_selective_school(year: Any) -> None:
    parish = f.parish()
    grammar = secondary(selective=True, establishment_type=EstablishmentType.ACADEMY)
    f.dta(grammar, DtaCategory.GRAMMAR, parishes=[parish])
    pupil = f.pupil(parish_id=parish.id)
    app = f.transport_application(pupil, grammar)
    facts = facts_for(app.id)
    assert facts["is_dta_school"] is True
    assert facts["school_type"] == "academy"


def test_a3f_a_satellite_stands_for_its_main_site(year: Any) -> None:
    parish = f.parish()
    main = secondary(at=(6000, 0))
    satellite = secondary(at=(1000, 0), main_site_id=main.id)
    f.dta(main, DtaCategory.SECONDARY_ALL_ABILITY, parishes=[parish])
    pupil = f.pupil(parish_id=parish.id, easting=HOME[0], northing=HOME[1])
    app = f.transport_application(pupil, satellite)
    facts = facts_for(app.id)
    assert facts["is_dta_school"] is True
    # A3f: transport goes to the main site, so the straight line is to the main site.
    assert facts["straight_line_m"] == 6000
    # Satellites are never candidates: the main site is the only suitable school here.
    assert facts["nearest_suitable_rank"] == 1


def test_straight_line_is_rounded_down_to_whole_metres(year: Any) -> None:
    assert straight_line_m((0, 0), (1, 1)) == 1
    assert straight_line_m((0, 0), (3, 4)) == 5
    assert straight_line_m((0, 0), None) is None
    school = secondary(at=(3, 4))
    pupil = f.pupil(easting=HOME[0], northing=HOME[1])
    app = f.transport_application(pupil, school)
    assert facts_for(app.id)["straight_line_m"] == 5
    pupil.easting = None
    db.session.flush()
    facts = facts_for(app.id)
    assert facts["straight_line_m"] is None
    assert facts["nearest_suitable_rank"] is None


def test_a3_nearest_rank_by_straight_line_when_not_measured(year: Any) -> None:
    secondary(at=(3000, 0))
    chosen = secondary(at=(0, 4000))
    pupil = f.pupil(easting=HOME[0], northing=HOME[1])
    app = f.transport_application(pupil, chosen)
    facts = facts_for(app.id)
    assert facts["nearest_suitable_rank"] == 2
    assert facts["is_nearest_suitable"] is False


def test_a3b_measured_route_ranks_the_chosen_school(year: Any) -> None:
    secondary(at=(3000, 0))
    chosen = secondary(at=(0, 4000))
    pupil = f.pupil(easting=HOME[0], northing=HOME[1])
    app = f.transport_application(pupil, chosen, distance_m=2900)
    facts = facts_for(app.id)
    assert facts["nearest_suitable_rank"] == 1
    assert facts["is_nearest_suitable"] is True
    assert facts["distance_m"] == 2900


def test_a2a_unsuitable_schools_are_not_ranked(year: Any) -> None:
    """Independent, closed, wrong phase, wrong age range and satellites never count as nearer."""
    secondary(at=(100, 0), establishment_type=EstablishmentType.INDEPENDENT)
    secondary(at=(200, 0), is_open=False)
    secondary(
        at=(300, 0), phase=Phase.PRIMARY, statutory_low_age=4, statutory_high_age=11
    )  # primary
    secondary(at=(400, 0), phase=Phase.SIXTH_FORM, statutory_low_age=16, statutory_high_age=19)
    main = secondary(at=(9000, 0))
    secondary(at=(500, 0), main_site_id=main.id)
    secondary(at=(600, 0), selective=True)  # grammar: not suitable for an all-ability place
    chosen = secondary(at=(0, 5000))
    pupil = f.pupil(easting=HOME[0], northing=HOME[1])
    app = f.transport_application(pupil, chosen)
    facts = facts_for(app.id)
    assert facts["nearest_suitable_rank"] == 1
    assert facts["is_nearest_suitable"] is True


def test_a5_rank_of_the_chosen_school_among_three(year: Any) -> None:
    for i in range(3):
        secondary(at=(1000 * (i + 1), 0))
    chosen = secondary(at=(0, 3500))
    pupil = f.pupil(easting=HOME[0], northing=HOME[1])
    app = f.transport_application(pupil, chosen)
    assert facts_for(app.id)["nearest_suitable_rank"] == 4


def test_a14_nearer_than_the_dta_school(year: Any) -> None:
    parish = f.parish()
    dta_school = secondary(at=(8000, 0))
    f.dta(dta_school, DtaCategory.SECONDARY_ALL_ABILITY, parishes=[parish])
    nearer = secondary(at=(0, 6000))
    further = secondary(at=(0, 9000))
    pupil = f.pupil(parish_id=parish.id, easting=HOME[0], northing=HOME[1])
    near_app = f.transport_application(pupil, nearer)
    far_app = f.transport_application(pupil, further)
    assert facts_for(near_app.id)["nearer_than_dta_school"] is True
    assert facts_for(near_app.id)["is_dta_school"] is False
    assert facts_for(far_app.id)["nearer_than_dta_school"] is False


def test_a5c_low_income_evidence_is_per_academic_year(year: Any) -> None:
    f.academic_year("2023/24", with_calendar=False)
    school = secondary()
    pupil = f.pupil()
    app = f.transport_application(pupil, school)
    db.session.add(
        LowIncomeEvidence(
            pupil=pupil,
            academic_year="2023/24",
            evidence="free school meals",
            verified_on=date(2023, 9, 1),
        )
    )
    db.session.flush()
    assert facts_for(app.id)["low_income"] is False  # last year's evidence is not this year's
    db.session.add(
        LowIncomeEvidence(
            pupil=pupil,
            academic_year="2024/25",
            evidence="Universal Credit",
            verified_on=date(2024, 9, 1),
        )
    )
    db.session.flush()
    assert facts_for(app.id)["low_income"] is True


def test_a21_a22_care_from_the_pupil_and_the_purchase_order(year: Any) -> None:
    school = secondary()
    council = f.pupil(care_by=CareBy.COUNCIL, care_placement=Placement.TEMPORARY)
    other = f.pupil(ehcp=True, care_by=CareBy.OTHER_LA, care_placement=Placement.PERMANENT)
    a = f.transport_application(council, school)
    b = f.transport_application(other, school, purchase_order="PO-1234")
    assert facts_for(a.id)["care"] == {
        "by": "council",
        "placement": "temporary",
        "purchase_order": None,
    }
    facts = facts_for(b.id)
    assert facts["care"] == {
        "by": "other_la",
        "placement": "permanent",
        "purchase_order": "PO-1234",
    }
    assert facts["ehcp"] is True


def test_a13_a11_determinations_recorded_on_the_application(year: Any) -> None:
    school = secondary()
    pupil = f.pupil()
    app = f.transport_application(
        pupil,
        school,
        medical_who=MedicalWho.PARENT,
        medical_accepted=None,
        exceptional_circumstances=True,
        exceptional_accepted=False,
        route_unsuitable=True,
        religion_or_belief=True,
    )
    facts = facts_for(app.id)
    assert facts["medical"] == {"who": "parent", "accepted": None, "until": None}
    assert facts["exceptional_circumstances"] == {"accepted": False}
    assert facts["route_unsuitable"] is True
    # A6: the family's evidence is recorded, but this school has no religious character, so it
    # is not "the nearest school chosen on grounds of religion or belief" (services/schools).
    assert facts["religion_or_belief"] is False
    assert facts["post16"] is None


def test_a7_post16_course_facts_from_year_12(year: Any) -> None:
    college = secondary(
        phase=Phase.FE_COLLEGE,
        establishment_type=EstablishmentType.FE_COLLEGE,
        statutory_low_age=16,
        statutory_high_age=None,
    )
    student = f.pupil(date_of_birth=date(2008, 3, 1))  # 16 on 31 August 2024: Year 12
    app = f.transport_application(
        student, college, full_time_hours=Decimal("12.50"), programme_started_before_19=True
    )
    facts = facts_for(app.id)
    assert facts["school_type"] == "fe_college"
    assert facts["post16"] == {
        "full_time_hours": 12.5,
        "higher_education": False,
        "apprenticeship": False,
        "repeat_or_non_progression": False,
        "programme_started_before_19": True,
        "post19_need_determined": False,
    }
    assert facts["nearest_suitable_rank"] == 1


def test_a7b_post16_without_course_hours_is_not_assessable(year: Any) -> None:
    college = secondary(phase=Phase.SIXTH_FORM, statutory_low_age=16, statutory_high_age=19)
    student = f.pupil(date_of_birth=date(2008, 3, 1))
    app = f.transport_application(student, college)
    [case] = gather_facts(db.session, TransportApplication.id == app.id)
    assert case.problem is not None and "hours" in case.problem


# A7b: "Be attending their nearest or designated school with a sixth form provision, or their
# nearest or designated college subject to distance".
YEAR_12 = date(2008, 3, 1)  # 16 on 31 August 2024
YEAR_10 = date(2010, 1, 15)  # 14 on 31 August 2024


def post16_application(student: Any, school: Any) -> TransportApplication:
    return f.transport_application(student, school, full_time_hours=Decimal("20"))


def test_a7b_a_nearer_school_without_a_sixth_form_is_not_the_post16_nearest(year: Any) -> None:
    """The nearer school teaches to 18 by its statutory ages but GIAS says it has no sixth form:
    it is not "the nearest school with a sixth form provision", so the student's school is."""
    secondary(at=(2000, 0), statutory_high_age=18, sixth_form=SixthForm.DOES_NOT_HAVE)
    secondary(at=(2500, 0), sixth_form=SixthForm.DOES_NOT_HAVE)  # 11-16
    chosen = secondary(at=(0, 6000), statutory_high_age=18, sixth_form=SixthForm.HAS)
    app = post16_application(f.pupil(date_of_birth=YEAR_12), chosen)
    facts = facts_for(app.id)
    assert facts["nearest_suitable_rank"] == 1
    assert facts["is_nearest_suitable"] is True

    # With the facts, the rules award A7 (before the sixth-form field, rank 2 refused it).
    from rules.assess import assess
    from services.assessment import case_from_facts

    decision = assess(case_from_facts(facts))
    assert (str(decision.outcome), decision.basis) == ("eligible", "A7")


def test_a3_a_school_without_a_sixth_form_still_counts_before_16(year: Any) -> None:
    """The sixth-form field is about post-16 provision only (A7b); for Year 10 the nearer
    schools are suitable whatever it says (A3a)."""
    secondary(at=(2000, 0), statutory_high_age=18, sixth_form=SixthForm.DOES_NOT_HAVE)
    secondary(at=(2500, 0), sixth_form=SixthForm.DOES_NOT_HAVE)
    chosen = secondary(at=(0, 6000), statutory_high_age=18, sixth_form=SixthForm.HAS)
    app = f.transport_application(f.pupil(date_of_birth=YEAR_10), chosen)
    facts = facts_for(app.id)
    assert facts["nearest_suitable_rank"] == 3
    assert facts["is_nearest_suitable"] is False


@pytest.mark.parametrize(
    ("nearer", "counts"),
    [
        ({"statutory_high_age": 18, "sixth_form": SixthForm.HAS}, True),
        ({"statutory_high_age": 18, "sixth_form": SixthForm.DOES_NOT_HAVE}, False),
        # "Not recorded" and "Not applicable" say nothing: the age range decides, as before.
        ({"statutory_high_age": 18, "sixth_form": SixthForm.NOT_RECORDED}, True),
        ({"statutory_high_age": 16, "sixth_form": SixthForm.NOT_RECORDED}, False),
        ({"statutory_high_age": 19, "sixth_form": SixthForm.NOT_APPLICABLE}, True),
        # A7b "... school with a sixth form provision, or their nearest or designated
        # college": colleges are a ranking of their own, so a nearer college does not stop a
        # school sixth form being the nearest school with a sixth form (RULES.md v2).
        (
            {
                "phase": Phase.FE_COLLEGE,
                "establishment_type": EstablishmentType.FE_COLLEGE,
                "statutory_low_age": 16,
                "statutory_high_age": None,
                "sixth_form": SixthForm.NOT_APPLICABLE,
            },
            False,
        ),
        (
            {
                "phase": Phase.SIXTH_FORM,
                "statutory_low_age": 16,
                "statutory_high_age": 19,
                "sixth_form": SixthForm.DOES_NOT_HAVE,
            },
            True,
        ),
    ],
    ids=[
        "has",
        "does-not-have",
        "not-recorded-to-18",
        "not-recorded-to-16",
        "not-applicable-to-19",
        "fe-college",
        "sixth-form-college",
    ],
)
def test_a7b_which_nearer_schools_count_for_a_post16_student(
    year: Any, nearer: dict[str, Any], counts: bool
) -> None:
    secondary(at=(2000, 0), **nearer)
    chosen = secondary(at=(0, 6000), statutory_high_age=18, sixth_form=SixthForm.HAS)
    app = post16_application(f.pupil(date_of_birth=YEAR_12), chosen)
    assert facts_for(app.id)["nearest_suitable_rank"] == (2 if counts else 1)


def test_a7b_a_school_without_a_sixth_form_has_no_post16_rank(year: Any) -> None:
    """A post-16 student recorded at a school GIAS says has no sixth form is not at a suitable
    school, so it is never "the nearest"; the DTA and nearer-than-DTA tests still apply."""
    chosen = secondary(at=(0, 6000), statutory_high_age=18, sixth_form=SixthForm.DOES_NOT_HAVE)
    app = post16_application(f.pupil(date_of_birth=YEAR_12), chosen)
    facts = facts_for(app.id)
    assert facts["nearest_suitable_rank"] is None
    assert facts["is_nearest_suitable"] is False


def test_year_group_override_is_passed_to_the_rules(year: Any) -> None:
    school = secondary()
    pupil = f.pupil(year_group_override=8)
    app = f.transport_application(pupil, school)
    assert facts_for(app.id)["year_group"] == 8


def test_facts_are_gathered_in_a_handful_of_queries(year: Any) -> None:
    """Set-based: the number of queries does not grow with the number of applications."""
    parish = f.parish()
    schools = [secondary(at=(1000 * i, 500)) for i in range(1, 6)]
    f.dta(schools[0], DtaCategory.SECONDARY_ALL_ABILITY, parishes=[parish])
    for i in range(40):
        pupil = f.pupil(parish_id=parish.id)
        f.transport_application(pupil, schools[i % 5])
    db.session.flush()
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        cases = gather_facts(db.session, TransportApplication.academic_year == "2024/25")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(cases) == 40
    # Applications, low-income evidence, measured routes, schools, DTAs.
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 5


def test_policy_parameters_come_from_the_stored_row(year: Any) -> None:
    assert UNREAD_COLUMNS == ()
    defaults = parameters_for_year("2024/25")
    assert defaults.primary_walking_distance_m == 3218
    row = ensure_parameter_set("2024/25")
    assert {name: getattr(row, name) for name in STORED_FIELDS} == {
        name: getattr(defaults, name) for name in STORED_FIELDS
    }
    row.primary_walking_distance_m = 3300
    db.session.flush()
    assert parameters_for_year("2024/25").primary_walking_distance_m == 3300
    assert ensure_parameter_set("2024/25").id == row.id  # idempotent
    assert db.session.query(PolicyParameterSet).count() == 1


def test_every_policy_figure_is_stored_per_year() -> None:
    """Appendix C and B2 deadlines are dated parameters a supervisor can change, like distances."""
    from services.policy import UNSTORED_FIELDS

    assert UNSTORED_FIELDS == ()
