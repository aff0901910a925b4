"""One definition of the school facts (services/schools.py), used by eligibility and by the
seat register alike (issue 11; RULES.md v2 "Facts the panel gathers"; A2, A3a, A3f, A5a, A6,
A7b, A14, Appendix F tiers 3 and 5).

Every test here failed on the code before issue 11: the rankings mixed measured routes with
straight lines, sixth forms and colleges were one set, the attended school fell out of its own
ranking at GIAS's upper age, an unknown home location was "not the nearest school", the parish's
"in county" was never read, A6 rested on a hand-set flag, and the register had its own looser
"designated or nearest school".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from models import (
    LowIncomeEvidence,
    Pupil,
    RouteMeasurement,
    School,
    TransportApplication,
    db,
)
from models.enums import (
    DistanceMethod,
    DtaCategory,
    EstablishmentType,
    MeasurementKind,
    Phase,
    SixthForm,
)
from rules.assess import assess
from services import seats
from services.assessment import case_from_facts
from services.eligibility_facts import GatheredCase, gather_facts
from services.schools import HOME_LOCATION_NEEDED, SCHOOL_LOCATION_NEEDED
from tests import factories as f

HOME = (500000, 375000)
YEAR = "2024/25"
PRIMARY_Y5 = date(2015, 5, 5)  # 9 on 31 August 2024: Year 5
SECONDARY_Y9 = date(2011, 5, 5)  # 13 on 31 August 2024: Year 9
POST16_Y12 = date(2008, 3, 1)  # 16 on 31 August 2024: Year 12
EIGHTEEN = date(2006, 3, 1)  # 18 on 31 August and on 1 September 2024


@pytest.fixture
def year(app_ctx: Flask):  # type: ignore[no-untyped-def]
    return f.academic_year()


def at(east: int, north: int = 0, **kw: Any) -> School:
    """An open 11-16 community secondary school at an offset (metres) from HOME."""
    values: dict[str, Any] = {
        "phase": Phase.SECONDARY,
        "establishment_type": EstablishmentType.COMMUNITY,
        "easting": HOME[0] + east,
        "northing": HOME[1] + north,
    }
    values.update(kw)
    return f.school(**values)


def primary_at(east: int, north: int = 0, **kw: Any) -> School:
    return at(east, north, phase=Phase.PRIMARY, statutory_low_age=4, statutory_high_age=11, **kw)


def sixth_form_at(east: int, north: int = 0, **kw: Any) -> School:
    return at(east, north, statutory_high_age=18, sixth_form=SixthForm.HAS, **kw)


def college_at(east: int, north: int = 0, **kw: Any) -> School:
    return at(
        east,
        north,
        phase=Phase.FE_COLLEGE,
        establishment_type=EstablishmentType.FE_COLLEGE,
        statutory_low_age=16,
        statutory_high_age=None,
        sixth_form=SixthForm.NOT_APPLICABLE,
        **kw,
    )


def child(born: date, **kw: Any) -> Pupil:
    kw.setdefault("easting", HOME[0])
    kw.setdefault("northing", HOME[1])
    return f.pupil(date_of_birth=born, **kw)


def apply(pupil: Pupil, school: School, **kw: Any) -> TransportApplication:
    if pupil.date_of_birth <= POST16_Y12:
        kw.setdefault("full_time_hours", Decimal("20"))
    return f.transport_application(pupil, school, **kw)


def route(app: TransportApplication, school: School, metres: int) -> None:
    """A measured route from the application's home to a school (an officer's measurement)."""
    db.session.add(
        RouteMeasurement(
            application_id=app.id,
            school_id=school.id,
            kind=MeasurementKind.HAND,
            method=DistanceMethod.DRIVING_ROUTE,
            distance_m=metres,
            measured_on=date(2024, 7, 1),
            measured_via="hand measurement",
            reason="measured on the map",
        )
    )
    db.session.flush()


def gathered(app: TransportApplication) -> GatheredCase:
    db.session.flush()
    [case] = gather_facts(db.session, TransportApplication.id == app.id)
    assert case.facts is not None
    return case


def facts_of(app: TransportApplication) -> dict[str, Any]:
    case = gathered(app)
    assert case.problem is None, case.problem
    assert case.facts is not None
    return case.facts


def decide(app: TransportApplication) -> tuple[str, str | None]:
    decision = assess(case_from_facts(facts_of(app)))
    return str(decision.outcome), decision.basis


def register_entry(pupil: Pupil, school: School) -> seats.Candidate:
    bus = f.route([school])
    ca = f.concessionary_application(pupil, school, bus)
    db.session.flush()
    [found] = [
        c
        for c in seats.gather_candidates(db.session, [seats.CA.route_id == bus.id], YEAR)
        if c.application_id == ca.id
    ]
    return found


# --- A7b: sixth forms and colleges are ranked apart ----------------------------------------------


def test_a7b_the_nearest_college_counts_when_a_school_sixth_form_is_nearer(year: Any) -> None:
    sixth_form_at(2000)
    college = college_at(0, 6000)
    app = apply(child(POST16_Y12), college)
    facts = facts_of(app)
    assert facts["is_nearest_suitable"] is True
    assert facts["nearest_suitable_rank"] == 1
    assert decide(app) == ("eligible", "A7")


def test_a7b_the_nearest_school_sixth_form_counts_when_a_college_is_nearer(year: Any) -> None:
    college_at(2000)
    school = sixth_form_at(0, 6000)
    app = apply(child(POST16_Y12), school)
    assert facts_of(app)["is_nearest_suitable"] is True
    assert decide(app) == ("eligible", "A7")


def test_a7b_a_nearer_college_still_outranks_a_college(year: Any) -> None:
    college_at(2000)
    chosen = college_at(0, 6000)
    app = apply(child(POST16_Y12), chosen)
    assert facts_of(app)["nearest_suitable_rank"] == 2


def test_a7b_the_college_dta_is_not_beaten_by_a_school_sixth_form(year: Any) -> None:
    """nearer_than_dta_school compares a college with the home's college DTA, not its sixth
    form DTA (A7b "nearest or designated college")."""
    parish = f.parish()
    f.dta(sixth_form_at(8000), DtaCategory.SIXTH_FORM, parishes=[parish])
    f.dta(college_at(0, 9000), DtaCategory.FE_COLLEGE, parishes=[parish])
    sixth_form_at(-1000)  # the nearest school sixth form
    chosen = college_at(0, -7000)  # nearer than the DTA college, further than the sixth form
    app = apply(child(POST16_Y12, parish_id=parish.id), chosen)
    facts = facts_of(app)
    assert facts["nearer_than_dta_school"] is True
    assert facts["is_nearest_suitable"] is True


# --- the attended school stays in its own ranking ---------------------------------------------


def test_an_18_year_old_at_the_nearest_11_18_school_is_ranked(year: Any) -> None:
    school = sixth_form_at(0, 6000)  # GIAS: 11-18
    sixth_form_at(0, 9000)
    app = apply(child(EIGHTEEN), school)
    facts = facts_of(app)
    assert facts["nearest_suitable_rank"] == 1
    assert decide(app) == ("eligible", "A7")


# --- like for like -------------------------------------------------------------------------------


def test_recording_a_route_never_turns_an_eligible_family_into_a_refused_one(year: Any) -> None:
    """The issue's case: 3,350 m recorded for a primary child; another primary school is
    3,200 m away in a straight line, its route not measured. Before: the chosen school was
    ranked by its route and the other by its straight line, and the child refused. Now the
    straight lines decide for all until the other school's route is measured (RULES.md v2)."""
    chosen = primary_at(0, 3100)
    other = primary_at(3200)
    app = apply(child(PRIMARY_Y5), chosen)
    assert facts_of(app)["is_nearest_suitable"] is True  # before the measurement
    assert decide(app) == ("measure", None)  # 3,100 m straight: the route decides
    app.distance_m = 3350
    assert facts_of(app)["is_nearest_suitable"] is True
    assert decide(app) == ("eligible", "A3")

    route(app, other, 3900)  # by routes too
    assert facts_of(app)["is_nearest_suitable"] is True
    assert decide(app) == ("eligible", "A3")


def test_a_school_nearer_by_straight_line_is_nearer_until_routes_say_otherwise(year: Any) -> None:
    chosen = primary_at(0, 3100)
    other = primary_at(3000)
    app = apply(child(PRIMARY_Y5), chosen, distance_m=3350)
    assert facts_of(app)["nearest_suitable_rank"] == 2
    route(app, other, 3600)
    assert facts_of(app)["nearest_suitable_rank"] == 1
    assert decide(app) == ("eligible", "A3")


def test_a_measured_nearer_route_still_ranks_the_other_school_first(year: Any) -> None:
    chosen = primary_at(0, 3100)
    other = primary_at(3200)
    app = apply(child(PRIMARY_Y5), chosen, distance_m=3350)
    route(app, other, 3300)
    facts = facts_of(app)
    assert (facts["is_nearest_suitable"], facts["nearest_suitable_rank"]) == (False, 2)
    assert decide(app) == ("not_eligible", "A3")


def test_a_school_whose_straight_line_exceeds_the_route_cannot_be_nearer(year: Any) -> None:
    chosen = primary_at(0, 3100)
    primary_at(3400)  # straight line 3,400 m > the 3,350 m route: no route of it is shorter
    app = apply(child(PRIMARY_Y5), chosen, distance_m=3350)
    assert facts_of(app)["nearest_suitable_rank"] == 1


def test_nearer_than_the_dta_school_compares_routes_with_routes(year: Any) -> None:
    parish = f.parish()
    dta_school = at(3000)
    f.dta(dta_school, DtaCategory.SECONDARY_ALL_ABILITY, parishes=[parish])
    chosen = at(0, 4000)
    app = apply(child(SECONDARY_Y9, parish_id=parish.id), chosen, distance_m=6000)
    route(app, dta_school, 7000)  # the DTA school is 3 km as the crow flies, 7 km by road
    facts = facts_of(app)
    assert facts["nearer_than_dta_school"] is True
    assert decide(app) == ("eligible", "A3")


def test_nearer_than_the_dta_school_by_straight_lines_until_its_route_is_measured(
    year: Any,
) -> None:
    parish = f.parish()
    dta_school = at(3000)
    f.dta(dta_school, DtaCategory.SECONDARY_ALL_ABILITY, parishes=[parish])
    at(1000)  # the nearest school: the chosen one is not it
    chosen = at(0, 4000)
    app = apply(child(SECONDARY_Y9, parish_id=parish.id), chosen, distance_m=6000)
    assert facts_of(app)["nearer_than_dta_school"] is False  # 4,000 m against 3,000 m
    assert decide(app) == ("not_eligible", "A3")
    route(app, dta_school, 7000)
    assert facts_of(app)["nearer_than_dta_school"] is True  # 6,000 m against 7,000 m
    assert decide(app) == ("eligible", "A3")


def test_a5_three_nearest_by_routes_once_the_chosen_school_is_measured(year: Any) -> None:
    pupil = child(SECONDARY_Y9)
    db.session.add(
        LowIncomeEvidence(
            pupil=pupil,
            academic_year=YEAR,
            evidence="free school meals",
            verified_on=date(2024, 9, 1),
        )
    )
    near = [at(1000 * (i + 1)) for i in range(3)]
    chosen = at(0, 3500)
    app = apply(pupil, chosen, distance_m=5000)
    # Three straight lines shorter than its route, unmeasured: straight lines for all.
    assert facts_of(app)["nearest_suitable_rank"] == 4
    assert decide(app) == ("not_eligible", "A3")
    for school, metres in zip(near, (4000, 5200, 6100), strict=True):
        route(app, school, metres)
    facts = facts_of(app)
    assert (facts["nearest_suitable_rank"], facts["is_nearest_suitable"]) == (2, False)
    assert decide(app) == ("eligible", "A5")


# --- unknown is not false (A1c) ------------------------------------------------------------------


def test_a_home_without_a_location_goes_to_measure_never_not_the_nearest(year: Any) -> None:
    school = at(0, 6000)
    app = apply(child(SECONDARY_Y9, easting=None, northing=None), school, distance_m=6100)
    case = gathered(app)
    assert case.facts is not None
    assert case.facts["is_nearest_suitable"] is None
    assert case.facts["nearer_than_dta_school"] is None
    assert HOME_LOCATION_NEEDED in case.missing
    assert decide(app) == ("measure", None)


def test_a_home_without_a_location_at_its_dta_school_is_decided(year: Any) -> None:
    parish = f.parish()
    school = at(0, 6000)
    f.dta(school, DtaCategory.SECONDARY_ALL_ABILITY, parishes=[parish])
    pupil = child(SECONDARY_Y9, easting=None, northing=None, parish_id=parish.id)
    app = apply(pupil, school, distance_m=6100)
    assert facts_of(app)["is_dta_school"] is True
    assert decide(app) == ("eligible", "A3")


def test_a_school_without_a_location_goes_to_measure(year: Any) -> None:
    school = at(0, 0, easting=None, northing=None)
    app = apply(child(SECONDARY_Y9), school)
    case = gathered(app)
    assert case.facts is not None
    assert case.facts["is_nearest_suitable"] is None
    assert SCHOOL_LOCATION_NEEDED in case.missing
    assert decide(app) == ("measure", None)


# --- residence (A2) ------------------------------------------------------------------------------


def test_a2_a_parish_outside_the_county_means_not_resident(year: Any) -> None:
    outside = f.parish(in_county=False)
    school = at(0, 6000)
    app = apply(child(SECONDARY_Y9, parish_id=outside.id), school)
    assert facts_of(app)["lives_in_county"] is False
    assert decide(app) == ("not_eligible", "A2")
    assert register_entry(app.pupil, school).applicant.lives_in_county is False


def test_a2_the_postcodes_parish_decides_when_the_pupil_has_none(year: Any) -> None:
    outside = f.parish(in_county=False)
    f.postcode("PE9 9ZZ", outside)
    school = at(0, 6000)
    app = apply(child(SECONDARY_Y9, postcode="PE9 9ZZ", parish_id=None), school)
    assert facts_of(app)["lives_in_county"] is False


def test_a2_a_parish_in_the_county_keeps_what_the_record_says(year: Any) -> None:
    inside = f.parish(in_county=True)
    school = at(0, 6000)
    yes = apply(child(SECONDARY_Y9, parish_id=inside.id), school)
    no = apply(child(SECONDARY_Y9, parish_id=inside.id, lives_in_county=False), school)
    assert facts_of(yes)["lives_in_county"] is True
    assert facts_of(no)["lives_in_county"] is False


# --- A6: the school's religious character ---------------------------------------------------------


def low_income(pupil: Pupil) -> Pupil:
    db.session.add(
        LowIncomeEvidence(
            pupil=pupil,
            academic_year=YEAR,
            evidence="Universal Credit",
            verified_on=date(2024, 9, 1),
        )
    )
    return pupil


def test_a6_the_nearest_school_of_its_religious_character(year: Any) -> None:
    for i in range(3):
        at(1000 * (i + 1), religious_character="Church of England")
    chosen = at(0, 12000, religious_character="Roman Catholic")
    app = apply(low_income(child(SECONDARY_Y9)), chosen, religion_or_belief=True, distance_m=12500)
    assert facts_of(app)["religion_or_belief"] is True
    assert decide(app) == ("eligible", "A6")


def test_a6_a_nearer_school_of_the_same_character_refuses_a6(year: Any) -> None:
    other = at(5000, religious_character="Roman Catholic")
    chosen = at(0, 12000, religious_character="Roman Catholic")
    app = apply(low_income(child(SECONDARY_Y9)), chosen, religion_or_belief=True)
    assert facts_of(app)["religion_or_belief"] is False  # by straight lines: nothing measured
    route(app, chosen, 12500)
    app.distance_m = 12500
    route(app, other, 9000)  # and by routes
    assert facts_of(app)["religion_or_belief"] is False


def test_a6_a_school_without_a_religious_character_is_not_chosen_on_those_grounds(
    year: Any,
) -> None:
    chosen = at(0, 12000, religious_character="Does not apply")
    app = apply(low_income(child(SECONDARY_Y9)), chosen, religion_or_belief=True, distance_m=12500)
    assert facts_of(app)["religion_or_belief"] is False


def test_a6_by_routes_once_the_nearer_same_character_school_is_measured(year: Any) -> None:
    at(1000)  # the nearest school, of no religious character
    other = at(5000, religious_character="Roman Catholic")
    chosen = at(0, 8000, religious_character="Roman Catholic")
    app = apply(low_income(child(SECONDARY_Y9)), chosen, religion_or_belief=True, distance_m=12500)
    route(app, chosen, 12500)
    assert facts_of(app)["religion_or_belief"] is False  # 5,000 m against 8,000 m
    route(app, other, 13000)
    assert facts_of(app)["religion_or_belief"] is True
    assert decide(app) == ("eligible", "A6")


def test_care_leaver_and_school_named_in_ehcp_are_gathered(year: Any) -> None:
    school = at(0, 6000, establishment_type=EstablishmentType.INDEPENDENT)
    pupil = child(SECONDARY_Y9, ehcp=True, care_leaver=True)
    app = apply(pupil, school, school_named_in_ehcp=True, distance_m=6100)
    facts = facts_of(app)
    assert facts["care_leaver"] is True
    assert facts["school_named_in_ehcp"] is True
    assert decide(app) == ("eligible", "A3")  # A2a: named in the EHCP, the suitable school


# --- the two workflows agree (Appendix F tiers 3 and 5 are A3's facts) ---------------------------


@dataclass
class World:
    pupil: Pupil
    school: School
    attends: bool  # what the policy says: at the designated or nearest school
    measure: Callable[[TransportApplication], None] | None = None
    distance_m: int | None = None


def _college_nearest() -> World:
    sixth_form_at(2000)
    return World(child(POST16_Y12), college_at(0, 6000), True)


def _eighteen() -> World:
    return World(child(EIGHTEEN), sixth_form_at(0, 6000), True)


def _measured() -> World:
    chosen = primary_at(0, 3100)
    other = primary_at(3200)
    return World(
        child(PRIMARY_Y5),
        chosen,
        True,
        measure=lambda app: route(app, other, 3900),
        distance_m=3350,
    )


def _measured_nearer_by_straight_line() -> World:
    primary_at(3000)
    return World(child(PRIMARY_Y5), primary_at(0, 3100), False, distance_m=3350)


def _sixth_form_dta_year9() -> World:
    parish = f.parish()
    chosen = sixth_form_at(0, 6000)
    f.dta(chosen, DtaCategory.SIXTH_FORM, parishes=[parish])
    at(2000)
    return World(child(SECONDARY_Y9, parish_id=parish.id), chosen, False)


def _satellite() -> World:
    main = at(5000)
    satellite = at(1000, main_site_id=main.id)
    at(4000)
    return World(child(SECONDARY_Y9), satellite, False)


def _satellite_of_dta_school() -> World:
    parish = f.parish()
    main = at(6000)
    f.dta(main, DtaCategory.SECONDARY_ALL_ABILITY, parishes=[parish])
    return World(child(SECONDARY_Y9, parish_id=parish.id), at(1000, main_site_id=main.id), True)


def _grammar_is_not_nearer() -> World:
    at(2000, selective=True)
    return World(child(SECONDARY_Y9), at(0, 6000), True)


def _upper_school_is_not_nearer() -> World:
    at(2000, statutory_low_age=13, statutory_high_age=18)  # an upper school, 13-18
    at(2500, statutory_low_age=16, statutory_high_age=19, phase=Phase.SIXTH_FORM)
    return World(child(date(2012, 5, 5)), at(0, 6000), True)  # Year 8 (12 on 31 August)


def _home_unknown() -> World:
    return World(child(SECONDARY_Y9, easting=None, northing=None), at(0, 6000), False)


def _home_unknown_dta() -> World:
    parish = f.parish()
    chosen = at(0, 6000)
    f.dta(chosen, DtaCategory.SECONDARY_ALL_ABILITY, parishes=[parish])
    pupil = child(SECONDARY_Y9, easting=None, northing=None, parish_id=parish.id)
    return World(pupil, chosen, True)


def _parish_outside_the_county() -> World:
    parish = f.parish(in_county=False)
    return World(child(SECONDARY_Y9, parish_id=parish.id), at(0, 6000), True)


WORLDS = {
    "A7b-college-nearest": _college_nearest,
    "18-at-the-nearest-11-18": _eighteen,
    "like-for-like-measured": _measured,
    "like-for-like-straight-lines": _measured_nearer_by_straight_line,
    "sixth-form-DTA-Year-9": _sixth_form_dta_year9,
    "A3f-satellite-is-its-main-site": _satellite,
    "A3f-satellite-of-the-DTA-school": _satellite_of_dta_school,
    "selective-not-nearer": _grammar_is_not_nearer,
    "age-range-not-nearer": _upper_school_is_not_nearer,
    "home-location-unknown": _home_unknown,
    "home-location-unknown-DTA": _home_unknown_dta,
    "A2-parish-outside-the-county": _parish_outside_the_county,
}


@pytest.mark.parametrize("build", list(WORLDS.values()), ids=list(WORLDS))
def test_eligibility_and_the_seat_register_agree(year: Any, build: Callable[[], World]) -> None:
    world = build()
    app = apply(world.pupil, world.school, distance_m=world.distance_m)
    if world.measure is not None:
        world.measure(app)
    facts = facts_of(app)
    at_designated_or_nearest = facts["is_dta_school"] or facts["is_nearest_suitable"] is True
    entry = register_entry(world.pupil, world.school).applicant
    assert at_designated_or_nearest is world.attends
    assert entry.attends_designated_or_nearest is world.attends
    assert entry.lives_in_county is facts["lives_in_county"]  # Appendix F 1st tier is A2's
    if world.attends and facts["straight_line_m"] is not None:
        # Appendix F 5th tier: the distance to that school, the route where measured.
        expected = (
            facts["distance_m"] if facts["distance_m"] is not None else facts["straight_line_m"]
        )
        assert entry.distance_m == expected


# --- end to end: the council's own files, `flask import`, `flask assess run` ---------------------


def _csv(path: Any, header: list[str], rows: list[list[str]]) -> str:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_end_to_end_imported_files_then_flask_assess_run(app_ctx: Flask, tmp_path: Any) -> None:
    """Each case of issue 11's fact gathering, from files through the commands to the stored
    decision; before issue 11 every one of these was decided wrongly."""
    from models import EligibilityDecision

    f.academic_year()
    college_at(0, 6000, urn=120001)
    sixth_form_at(2000, urn=120002)  # nearer than the college: a different A7b ranking
    primary_at(0, 3100, urn=120003)
    primary_at(3200, urn=120004)  # 3,200 m as the crow flies, its route not measured
    at(0, 6000, urn=120005)
    db.session.commit()
    areas = _csv(
        tmp_path / "areas.csv",
        ["area_type", "area_code", "area_name", "in_county"],
        [["parish", "E04000001", "Nettleham", "yes"], ["parish", "E04000002", "Over", "no"]],
    )
    header = [
        "application_reference",
        "pupil_reference",
        "first_name",
        "last_name",
        "date_of_birth",
        "address",
        "postcode",
        "parish_code",
        "easting",
        "northing",
        "lives_in_county",
        "care_leaver",
        "academic_year",
        "school_urn",
        "received_on",
        "distance_m",
        "distance_method",
        "full_time_hours",
    ]
    x, y = str(HOME[0]), str(HOME[1])
    rows = [
        # A7b: at the nearest college, a school sixth form nearer.
        [
            "TRA0000001",
            "P1",
            "Ann",
            "A",
            "01/03/2008",
            "1 Rd",
            "LN1 1AA",
            "E04000001",
            x,
            y,
            "",
            "no",
            "2024/25",
            "120001",
            "01/03/2024",
            "6100",
            "driving_route",
            "20",
        ],
        # A1c: the home has no location.
        [
            "TRA0000002",
            "P2",
            "Bo",
            "B",
            "05/05/2011",
            "2 Rd",
            "LN1 1AA",
            "E04000001",
            "",
            "",
            "",
            "no",
            "2024/25",
            "120005",
            "01/03/2024",
            "6100",
            "driving_route",
            "",
        ],
        # A2: the parish is outside the county; the file leaves residence blank.
        [
            "TRA0000003",
            "P3",
            "Cy",
            "C",
            "05/05/2011",
            "3 Rd",
            "LN1 1AA",
            "E04000002",
            x,
            y,
            "",
            "no",
            "2024/25",
            "120005",
            "01/03/2024",
            "6100",
            "driving_route",
            "",
        ],
        # Like for like: 3,350 m recorded; the other school's route is not measured.
        [
            "TRA0000004",
            "P4",
            "Di",
            "D",
            "05/05/2015",
            "4 Rd",
            "LN1 1AA",
            "E04000001",
            x,
            y,
            "",
            "no",
            "2024/25",
            "120003",
            "01/03/2024",
            "3350",
            "driving_route",
            "",
        ],
        # A21: a care leaver at the nearest college pays nothing.
        [
            "TRA0000005",
            "P5",
            "Ed",
            "E",
            "01/03/2008",
            "5 Rd",
            "LN1 1AA",
            "E04000001",
            x,
            y,
            "",
            "yes",
            "2024/25",
            "120001",
            "01/03/2024",
            "6100",
            "driving_route",
            "20",
        ],
    ]
    applications = _csv(tmp_path / "applications.csv", header, rows)
    runner = app_ctx.test_cli_runner()
    for kind, path in (("areas", areas), ("applications", applications)):
        result = runner.invoke(args=["import", kind, path])
        assert result.exit_code == 0, result.output
    result = runner.invoke(args=["assess", "run", "--year", YEAR])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    got = {
        d.application.reference: (d.outcome.value, d.basis, d.charge.value if d.charge else None)
        for d in db.session.scalars(
            select(EligibilityDecision).where(EligibilityDecision.superseded_at.is_(None))
        )
    }
    assert got == {
        "TRA0000001": ("eligible", "A7", "contribution"),
        "TRA0000002": ("measure", None, None),
        "TRA0000003": ("not_eligible", "A2", None),
        "TRA0000004": ("eligible", "A3", "free"),
        "TRA0000005": ("eligible", "A7", "free"),
    }
    pupil = db.session.scalar(select(Pupil).where(Pupil.reference == "P3"))
    assert pupil is not None and pupil.lives_in_county is False  # from the parish (A2)


# --- screens -------------------------------------------------------------------------------------


def test_the_new_facts_and_unrankable_schools_are_on_the_screens(app: Flask, client_as) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        f.academic_year()
        at(0, 6000, name="Placed Academy")
        at(0, 0, name="Nowhere Academy", easting=None, northing=None)
        over = f.parish(name="Over the border", in_county=False)
        f.pupil(parish_id=over.id, lives_in_county=True)
        db.session.commit()
    client = client_as("assistant")
    pupil_form = client.get("/admin/pupil/new/").get_data(as_text=True)
    assert 'name="care_leaver"' in pupil_form and "Care leaver" in pupil_form
    app_form = client.get("/admin/transport_application/new/").get_data(as_text=True)
    assert 'name="school_named_in_ehcp"' in app_form
    schools = client.get("/admin/school/").get_data(as_text=True)
    assert "unrankable: no location" in schools and "ranked" in schools
    pupils = client.get("/admin/pupil/").get_data(as_text=True)
    assert "recorded yes, but Over the border is outside the county (A2)" in pupils
