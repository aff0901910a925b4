"""`assess` against the policy, case by case: every basis, every refusal and pre-check, and the
boundaries either side of every figure. Ids cite the clause each row tests."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from rules import (
    Care,
    Case,
    ExceptionalCircumstances,
    Medical,
    Post16,
    RulesError,
    assess,
    parameters_for,
)
from rules.contract import decision_to_json
from rules.vocab import CareBy, MedicalWho, Placement, SchoolType

END = "2025-08-31"  # the end of 2024/25
A8H_END = "2026-08-31"  # A8h: an initial award for 2 years runs to the end of 2025/26


def born(group: int, start_year: int = 2024) -> date:
    """A November birthday that puts a child in `group` in the year starting `start_year`."""
    return date(start_year - 5 - group, 11, 15)


POST16 = Post16(full_time_hours=Decimal(15), programme_started_before_19=True)


def post16(**changes: Any) -> Post16:
    return dataclasses.replace(POST16, **changes)


def case(group: int = 9, **facts: Any) -> Case:
    facts.setdefault("academic_year", "2024/25")
    facts.setdefault("lives_in_county", True)
    facts.setdefault("date_of_birth", born(group))
    if group >= 12 and facts.get("year_group", group) >= 12:
        facts.setdefault("post16", POST16)
    return Case(**facts)


def medical(accepted: bool | None = True, who: str = "child", until: date | None = None) -> Medical:
    return Medical(who=MedicalWho(who), accepted=accepted, until=until)


def care(by: str = "council", placement: str = "temporary", order: str | None = None) -> Care:
    return Care(by=CareBy(by), placement=Placement(placement), purchase_order=order)


def exceptional(accepted: bool | None = True) -> ExceptionalCircumstances:
    return ExceptionalCircumstances(accepted=accepted)


def ok(
    basis: str,
    clauses: list[str] | None = None,
    charge: str = "free",
    until: str = END,
    review: str | None = None,
) -> dict[str, Any]:
    return {
        "outcome": "eligible",
        "basis": basis,
        "clauses": clauses or [basis],
        "charge": charge,
        "valid_until": until,
        "review_date": review,
    }


def no(basis: str) -> dict[str, Any]:
    return {
        "outcome": "not_eligible",
        "basis": basis,
        "clauses": [basis],
        "charge": None,
        "valid_until": None,
        "review_date": None,
    }


def _open(outcome: str) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "basis": None,
        "clauses": [],
        "charge": None,
        "valid_until": None,
        "review_date": None,
    }


REFER, MEASURE = _open("refer"), _open("measure")
P = pytest.param

CASES = [
    # --- pre-checks (A2, A3, A22) ---
    P(
        case(school_type=SchoolType.INDEPENDENT, distance_m=9000, is_nearest_suitable=True),
        no("A2"),
        id="A2a-independent-school",
    ),
    P(
        case(
            school_type=SchoolType.INDEPENDENT,
            distance_m=9000,
            is_nearest_suitable=True,
            medical=medical(),
        ),
        no("A2"),
        id="A2a-independent-before-accepted-medical",
    ),
    P(
        case(date_of_birth=date(2020, 9, 1), distance_m=5000, is_nearest_suitable=True),
        no("A3"),
        id="A3-below-school-age-born-1-September",
    ),
    P(
        case(date_of_birth=date(2020, 8, 31), distance_m=3500, is_nearest_suitable=True),
        ok("A3", until="2031-08-31"),
        id="A3-reception-born-31-August",
    ),
    P(
        case(3, lives_in_county=False, distance_m=5000, is_dta_school=True),
        no("A2"),
        id="A2-home-outside-county",
    ),
    P(
        case(12, lives_in_county=False, distance_m=6000, is_dta_school=True),
        no("A7"),
        id="A7b-post16-home-outside-county",
    ),
    P(
        case(12, lives_in_county=False, ehcp=True, distance_m=6000, is_dta_school=True),
        no("A7"),
        id="A7b-post16-EHCP-home-outside-county-is-A7",
    ),
    P(
        case(ehcp=True, care=care("other_la", "permanent", "PO-1"), distance_m=1000),
        ok("A22", charge="home_la"),
        id="A22-other-LA-EHCP-purchase-order",
    ),
    P(
        case(
            ehcp=True, care=care("other_la", "permanent"), distance_m=6000, is_nearest_suitable=True
        ),
        no("A22"),
        id="A22-other-LA-EHCP-no-purchase-order-even-over-distance",
    ),
    P(
        case(
            ehcp=True,
            care=care("other_la", "permanent", "  "),
            distance_m=6000,
            is_nearest_suitable=True,
        ),
        no("A22"),
        id="A22-other-LA-EHCP-blank-purchase-order",
    ),
    P(
        case(ehcp=True, lives_in_county=False, care=care("other_la", "permanent", "PO-1")),
        no("A2"),
        id="A2-before-A22-outside-county",
    ),
    P(
        case(12, ehcp=True, care=care("other_la", "temporary", "PO-2"), distance_m=1000),
        ok("A22", charge="home_la"),
        id="A22-other-LA-EHCP-post16-purchase-order",
    ),
    # --- A3: distance and school ---
    P(case(3, distance_m=3218, is_dta_school=True), no("A3"), id="A3-primary-3218m-not-more-than"),
    P(
        case(3, distance_m=3219, is_dta_school=True),
        ok("A3", until="2028-08-31"),
        id="A3-primary-3219m",
    ),
    P(
        case(9, distance_m=4827, is_nearest_suitable=True),
        no("A3"),
        id="A3-secondary-4827m-not-more-than",
    ),
    P(
        case(9, distance_m=4828, is_nearest_suitable=True),
        ok("A3", until="2027-08-31"),
        id="A3-secondary-4828m",
    ),
    P(
        case(7, distance_m=4000, is_nearest_suitable=True),
        no("A3"),
        id="A3-year7-secondary-walking-distance",
    ),
    P(
        case(7, distance_m=5000, is_nearest_suitable=True),
        ok("A3", until="2029-08-31"),
        id="A15-year7-valid-until-end-of-year-11",
    ),
    P(
        case(11, distance_m=5000, is_nearest_suitable=True),
        ok("A3"),
        id="A15-year11-valid-until-this-year",
    ),
    P(
        case(6, distance_m=3500, is_nearest_suitable=True),
        ok("A3"),
        id="A15-year6-valid-until-this-year",
    ),
    P(
        case(date_of_birth=date(2013, 8, 31), distance_m=4000, is_nearest_suitable=True),
        no("A3"),
        id="A3-born-31-August-is-year-7",
    ),
    P(
        case(date_of_birth=date(2013, 9, 1), distance_m=4000, is_nearest_suitable=True),
        ok("A3"),
        id="A3-born-1-September-is-year-6",
    ),
    P(
        case(8, year_group=6, distance_m=4000, is_nearest_suitable=True),
        ok("A3"),
        id="A3-year-group-override-out-of-cohort",
    ),
    P(
        case(9, distance_m=6000, nearer_than_dta_school=True),
        ok("A3", until="2027-08-31"),
        id="A14-nearer-than-DTA-school-counts",
    ),
    P(case(9, distance_m=20000), no("A3"), id="A3-A14-preferred-school-whatever-distance"),
    P(
        case(9, nearest_suitable_rank=1, distance_m=6000),
        ok("A3", until="2027-08-31"),
        id="A3-rank-1-is-the-nearest-suitable-school",
    ),
    P(
        case(9, straight_line_m=4828, is_nearest_suitable=True),
        ok("A3", until="2027-08-31"),
        id="A3b-straight-line-over-limit-passes",
    ),
    P(
        case(3, straight_line_m=3218, is_nearest_suitable=True),
        MEASURE,
        id="A3b-straight-line-at-limit-measure",
    ),
    P(case(3, is_dta_school=True), MEASURE, id="A3b-no-distance-measure"),
    P(
        case(9, distance_m=3000, straight_line_m=6000, is_nearest_suitable=True),
        no("A3"),
        id="A3b-route-distance-wins-over-straight-line",
    ),
    P(case(9, straight_line_m=1000), no("A3"), id="A3-school-not-counting-needs-no-measure"),
    # --- A7: post-16 ---
    P(
        case(12, distance_m=4828, is_nearest_suitable=True),
        ok("A7", charge="contribution"),
        id="A7a-4828m",
    ),
    P(case(12, distance_m=4827, is_nearest_suitable=True), no("A7"), id="A7a-4827m"),
    P(
        case(
            12, distance_m=6000, is_dta_school=True, post16=post16(full_time_hours=Decimal("12.5"))
        ),
        ok("A7", charge="contribution"),
        id="A7b-12.5-hours-is-full-time",
    ),
    P(
        case(
            12, distance_m=6000, is_dta_school=True, post16=post16(full_time_hours=Decimal("12.4"))
        ),
        no("A7"),
        id="A7b-12.4-hours-refused",
    ),
    P(
        case(12, distance_m=6000, is_dta_school=True, post16=post16(higher_education=True)),
        no("A7"),
        id="A7h-higher-education",
    ),
    P(
        case(12, distance_m=6000, is_dta_school=True, post16=post16(apprenticeship=True)),
        no("A7"),
        id="A7h-apprenticeship",
    ),
    P(
        case(
            12, distance_m=6000, is_dta_school=True, post16=post16(repeat_or_non_progression=True)
        ),
        no("A7"),
        id="A16-repeat-year",
    ),
    P(
        case(
            date_of_birth=date(2008, 8, 31),
            distance_m=6000,
            is_nearest_suitable=True,
            post16=POST16,
        ),
        ok("A7", charge="contribution"),
        id="A7b-born-31-August-16-on-1-September",
    ),
    P(
        case(date_of_birth=date(2008, 9, 1), distance_m=6000, is_nearest_suitable=True),
        ok("A3"),
        id="A7b-born-1-September-still-year-11",
    ),
    P(
        case(
            date_of_birth=date(2005, 9, 1), distance_m=6000, is_nearest_suitable=True, post16=POST16
        ),
        no("A7"),
        id="A7b-19-on-1-September",
    ),
    P(
        case(
            date_of_birth=date(2005, 9, 2), distance_m=6000, is_nearest_suitable=True, post16=POST16
        ),
        ok("A7", charge="contribution"),
        id="A7b-A15-18-on-1-September-year-14",
    ),
    P(
        case(
            12,
            date_of_birth=date(2009, 11, 15),
            year_group=12,
            distance_m=6000,
            is_nearest_suitable=True,
            post16=POST16,
        ),
        no("A7"),
        id="A7b-out-of-cohort-under-16",
    ),
    P(case(12, distance_m=6000), no("A7"), id="A7-A14-not-nearest-or-DTA"),
    P(
        case(12, distance_m=3000, is_nearest_suitable=True, route_unsuitable=True),
        no("A7"),
        id="A7j-AppendixD-no-A12-post16",
    ),
    P(
        case(12, distance_m=6000, is_nearest_suitable=True, care=care()),
        ok("A7", ["A7", "A21"], review=None),
        id="A21-post16-in-care-pays-nothing-under-A7",
    ),
    P(
        case(12, straight_line_m=5000, is_nearest_suitable=True),
        ok("A7", charge="contribution"),
        id="A7-straight-line-over-3-miles",
    ),
    P(
        case(12, straight_line_m=1000, is_nearest_suitable=True),
        MEASURE,
        id="A7-distance-unknown-measure",
    ),
    P(
        case(
            12,
            straight_line_m=1000,
            is_nearest_suitable=True,
            post16=post16(full_time_hours=Decimal(10)),
        ),
        no("A7"),
        id="A7b-part-time-needs-no-measure",
    ),
    # --- A8: post-16 with an EHCP ---
    P(
        case(12, ehcp=True, distance_m=6000, is_nearest_suitable=True),
        ok("A8", until=A8H_END, charge="contribution"),
        id="A8b-EHCP-6000m",
    ),
    P(
        case(12, ehcp=True, distance_m=4827, is_nearest_suitable=True),
        no("A8"),
        id="A8b-EHCP-4827m",
    ),
    P(
        case(
            12,
            ehcp=True,
            distance_m=6000,
            is_nearest_suitable=True,
            post16=post16(repeat_or_non_progression=True),
        ),
        ok("A8", until=A8H_END, charge="contribution"),
        id="A16-A8-repeat-for-progression-allowed",
    ),
    P(
        case(
            date_of_birth=date(2004, 3, 1),
            ehcp=True,
            distance_m=6000,
            is_nearest_suitable=True,
            post16=POST16,
        ),
        no("A8"),
        id="A8a-20-without-determination",
    ),
    P(
        case(
            date_of_birth=date(2004, 3, 1),
            ehcp=True,
            distance_m=6000,
            is_nearest_suitable=True,
            post16=post16(post19_need_determined=True),
        ),
        ok("A8", until=A8H_END, charge="contribution"),
        id="A8e-20-determined-started-before-19",
    ),
    P(
        case(
            date_of_birth=date(2004, 3, 1),
            ehcp=True,
            distance_m=6000,
            is_nearest_suitable=True,
            post16=post16(post19_need_determined=True, programme_started_before_19=False),
        ),
        ok("A8", until=A8H_END),
        id="A8f-20-determined-new-programme-after-19-free",
    ),
    P(
        case(
            date_of_birth=date(2005, 9, 1),
            ehcp=True,
            distance_m=6000,
            is_nearest_suitable=True,
            post16=POST16,
        ),
        no("A8"),
        id="A8a-19-on-1-September-needs-determination",
    ),
    P(
        case(
            date_of_birth=date(2005, 9, 1),
            ehcp=True,
            distance_m=6000,
            is_nearest_suitable=True,
            post16=post16(post19_need_determined=True),
        ),
        ok("A8", until=A8H_END, charge="contribution"),
        id="A8a-19-on-1-September-determined",
    ),
    P(
        case(
            date_of_birth=date(1999, 9, 1),
            ehcp=True,
            distance_m=6000,
            is_nearest_suitable=True,
            post16=post16(post19_need_determined=True),
        ),
        no("A8"),
        id="A8a-25-on-1-September",
    ),
    P(
        case(
            date_of_birth=date(1999, 9, 2),
            ehcp=True,
            distance_m=6000,
            is_nearest_suitable=True,
            post16=post16(post19_need_determined=True, programme_started_before_19=False),
        ),
        ok("A8", until=A8H_END),
        id="A8a-24-on-1-September",
    ),
    P(
        case(
            12,
            ehcp=True,
            distance_m=6000,
            is_nearest_suitable=True,
            post16=post16(full_time_hours=Decimal("12.4")),
        ),
        no("A8"),
        id="A8g-part-time",
    ),
    P(
        case(
            12,
            ehcp=True,
            distance_m=6000,
            is_nearest_suitable=True,
            post16=post16(higher_education=True),
        ),
        no("A8"),
        id="A7h-A8-higher-education",
    ),
    P(
        case(
            12,
            ehcp=True,
            distance_m=6000,
            is_nearest_suitable=True,
            post16=post16(programme_started_before_19=False),
        ),
        ok("A8", until=A8H_END, charge="contribution"),
        id="A8e-under-19-began-before-19",
    ),
    P(
        case(12, ehcp=True, distance_m=3000, is_nearest_suitable=True, route_unsuitable=True),
        no("A8"),
        id="A8-AppendixD-no-A12-post16",
    ),
    P(
        case(
            12,
            ehcp=True,
            exceptional_transport_need=True,
            distance_m=1000,
            is_nearest_suitable=True,
        ),
        no("A8"),
        id="A4-is-school-age-only",
    ),
    # --- A5: low income, one of the three nearest ---
    P(case(9, low_income=True, nearest_suitable_rank=2, distance_m=7000), ok("A5"), id="A5-rank-2"),
    P(
        case(9, low_income=True, nearest_suitable_rank=3, distance_m=7000),
        ok("A5"),
        id="A5a-rank-3",
    ),
    P(
        case(9, low_income=True, nearest_suitable_rank=4, distance_m=7000),
        no("A3"),
        id="A5a-rank-4",
    ),
    P(
        case(9, low_income=True, is_nearest_suitable=True, distance_m=4000),
        ok("A5"),
        id="A5-missing-rank-nearest-counts-as-1",
    ),
    P(
        case(9, low_income=True, is_dta_school=True, distance_m=4000),
        no("A3"),
        id="A5-missing-rank-not-nearest-is-not-one-of-three",
    ),
    P(case(9, low_income=True, nearest_suitable_rank=2, distance_m=3218), no("A3"), id="A5-3218m"),
    P(case(9, low_income=True, nearest_suitable_rank=2, distance_m=3219), ok("A5"), id="A5-3219m"),
    P(
        case(9, low_income=True, nearest_suitable_rank=2, distance_m=9656),
        ok("A5"),
        id="A5-9656m-inclusive",
    ),
    P(case(9, low_income=True, nearest_suitable_rank=2, distance_m=9657), no("A3"), id="A5-9657m"),
    P(
        case(9, low_income=True, nearest_suitable_rank=2, straight_line_m=9657),
        no("A3"),
        id="A5-straight-line-over-upper-limit-fails",
    ),
    P(
        case(9, low_income=True, nearest_suitable_rank=2, straight_line_m=5000),
        MEASURE,
        id="A5-straight-line-inside-band-measure",
    ),
    P(
        case(5, low_income=True, nearest_suitable_rank=2, distance_m=3500),
        no("A3"),
        id="A5-primary-not-extended",
    ),
    P(
        case(12, low_income=True, nearest_suitable_rank=2, distance_m=7000),
        no("A7"),
        id="A5-post16-not-extended",
    ),
    P(
        case(9, low_income=True, is_nearest_suitable=True, distance_m=6000),
        ok("A3", ["A3", "A5"], until="2027-08-31"),
        id="A3-A5-both-hold",
    ),
    # --- A6: low income, religion or belief ---
    P(
        case(9, low_income=True, religion_or_belief=True, distance_m=20000),
        ok("A6"),
        id="A6-20000m",
    ),
    P(
        case(9, low_income=True, religion_or_belief=True, distance_m=24140),
        ok("A6"),
        id="A6-24140m-inclusive",
    ),
    P(
        case(9, low_income=True, religion_or_belief=True, distance_m=24141),
        no("A3"),
        id="A6-24141m",
    ),
    P(case(9, low_income=True, religion_or_belief=True, distance_m=3218), no("A3"), id="A6-3218m"),
    P(case(9, low_income=True, religion_or_belief=True, distance_m=3219), ok("A6"), id="A6-3219m"),
    P(
        case(9, religion_or_belief=True, distance_m=20000),
        no("A3"),
        id="A6-religion-without-low-income",
    ),
    P(
        case(9, low_income=True, religion_or_belief=True, straight_line_m=24141),
        no("A3"),
        id="A6-straight-line-over-15-miles-fails",
    ),
    P(
        case(9, low_income=True, religion_or_belief=True, nearest_suitable_rank=3, distance_m=8000),
        ok("A5", ["A5", "A6"]),
        id="A5-A6-both-hold",
    ),
    # --- A12: unsuitable walking route ---
    P(
        case(2, distance_m=1500, is_nearest_suitable=True, route_unsuitable=True),
        ok("A12", until="2029-08-31"),
        id="A12-year2-1500m",
    ),
    P(
        case(3, distance_m=3218, is_dta_school=True, route_unsuitable=True),
        ok("A12", until="2028-08-31"),
        id="A12-3218m-within-walking-distance",
    ),
    P(
        case(3, distance_m=3219, is_dta_school=True, route_unsuitable=True),
        ok("A3", until="2028-08-31"),
        id="A12-3219m-A3-decides",
    ),
    P(
        case(9, distance_m=4827, is_nearest_suitable=True, route_unsuitable=True),
        ok("A12", until="2027-08-31"),
        id="A12-secondary-4827m",
    ),
    P(case(9, distance_m=2000, route_unsuitable=True), no("A3"), id="A12-A14-school-not-counting"),
    P(
        case(3, is_nearest_suitable=True, route_unsuitable=True),
        MEASURE,
        id="A12-distance-unknown-measure",
    ),
    P(
        case(3, straight_line_m=4000, is_nearest_suitable=True, route_unsuitable=True),
        ok("A3", until="2028-08-31"),
        id="A12-straight-line-beyond-walking-A3-holds",
    ),
    # --- A4: EHCP with an exceptional transport need ---
    P(
        case(
            4, ehcp=True, exceptional_transport_need=True, is_nearest_suitable=True, distance_m=500
        ),
        ok("A4", until="2027-08-31"),
        id="A4c-nearest-suitable-school",
    ),
    P(
        case(4, ehcp=True, exceptional_transport_need=True, is_dta_school=True, distance_m=500),
        no("A3"),
        id="A4c-DTA-but-not-nearest",
    ),
    P(
        case(4, exceptional_transport_need=True, is_nearest_suitable=True, distance_m=500),
        no("A3"),
        id="A4c-need-without-EHCP",
    ),
    P(
        case(
            9, ehcp=True, exceptional_transport_need=True, is_nearest_suitable=True, distance_m=6000
        ),
        ok("A3", ["A3", "A4"], until="2027-08-31"),
        id="A3-A4-both-hold",
    ),
    P(
        case(9, ehcp=True, is_nearest_suitable=True, distance_m=1000),
        no("A3"),
        id="A4a-EHCP-alone-gives-no-eligibility",
    ),
    # --- A13: medical grounds ---
    P(
        case(5, distance_m=1000, is_nearest_suitable=True, medical=medical()),
        ok("A13", review=END),
        id="A13-child-accepted",
    ),
    P(
        case(9, distance_m=1000, is_dta_school=True, medical=medical(who="parent")),
        ok("A13", review=END),
        id="A13-parent-accepted-DTA-school",
    ),
    P(
        case(9, distance_m=1000, is_dta_school=True, medical=medical(False)),
        no("A3"),
        id="A13-not-accepted",
    ),
    P(
        case(9, distance_m=1000, is_dta_school=True, medical=medical(None)),
        REFER,
        id="A13-pending-refer",
    ),
    P(
        case(9, distance_m=1000, nearer_than_dta_school=True, medical=medical(None)),
        no("A3"),
        id="A13-nearer-than-DTA-only-not-considered",
    ),
    P(
        case(
            5, distance_m=1000, is_nearest_suitable=True, medical=medical(until=date(2025, 2, 28))
        ),
        ok("A13", until="2025-02-28", review="2025-02-28"),
        id="A13-temporary-until",
    ),
    P(
        case(
            5, distance_m=1000, is_nearest_suitable=True, medical=medical(until=date(2025, 12, 31))
        ),
        ok("A13", review=END),
        id="A13c-until-beyond-year-reviewed-annually",
    ),
    P(
        case(5, distance_m=1000, is_nearest_suitable=True, medical=medical(until=date(2024, 7, 1))),
        no("A3"),
        id="A13-temporary-condition-ended-before-year",
    ),
    P(
        case(12, distance_m=3000, is_nearest_suitable=True, medical=medical()),
        ok("A13", charge="contribution", review=END),
        id="A13-post16-contribution",
    ),
    P(
        case(12, distance_m=3000, is_nearest_suitable=True, medical=medical(), care=care()),
        ok("A13", ["A13", "A21"], review=END),
        id="A13-A21-post16-in-care-free",
    ),
    P(
        case(9, distance_m=6000, is_nearest_suitable=True, medical=medical()),
        ok("A3", ["A3", "A13"], until="2027-08-31"),
        id="A3-A13-both-hold-no-review",
    ),
    # --- A21: this council's care ---
    P(
        case(9, distance_m=500, care=care()),
        ok("A21", review=END),
        id="A21-temporary-placement-any-school-any-distance",
    ),
    P(case(9, care=care()), ok("A21", review=END), id="A21-temporary-placement-unmeasured"),
    P(
        case(9, distance_m=5000, care=care(placement="permanent")),
        ok("A21", review=END),
        id="A21-permanent-over-walking-distance",
    ),
    P(
        case(9, distance_m=4000, care=care(placement="permanent")),
        REFER,
        id="A21-permanent-within-walking-distance-refer",
    ),
    P(
        case(9, straight_line_m=1000, care=care(placement="permanent")),
        MEASURE,
        id="A21-permanent-unmeasured-measure",
    ),
    P(
        case(3, distance_m=3219, care=care(placement="permanent")),
        ok("A21", review=END),
        id="A21-permanent-primary-3219m",
    ),
    P(
        case(
            9,
            distance_m=4000,
            is_nearest_suitable=True,
            route_unsuitable=True,
            care=care(placement="permanent"),
        ),
        ok("A12", until="2027-08-31"),
        id="A12-before-A21-refer",
    ),
    P(
        case(12, distance_m=6000, care=care(placement="permanent")),
        ok("A21", review=END),
        id="A21-post16-permanent-free",
    ),
    # --- A11: exceptional circumstances ---
    P(
        case(9, distance_m=1000, exceptional_circumstances=exceptional()),
        ok("A11"),
        id="A11-accepted",
    ),
    P(
        case(9, distance_m=1000, exceptional_circumstances=exceptional(None)),
        REFER,
        id="A11-pending-refer",
    ),
    P(
        case(9, distance_m=1000, exceptional_circumstances=exceptional(False)),
        no("A3"),
        id="A11-not-accepted",
    ),
    P(
        case(12, distance_m=3000, exceptional_circumstances=exceptional()),
        ok("A11", charge="contribution"),
        id="A11-post16-contribution",
    ),
    P(
        case(
            12,
            distance_m=3000,
            exceptional_circumstances=exceptional(),
            care=care(placement="permanent"),
        ),
        ok("A11"),
        id="A11-post16-in-care-free-A21-still-pending",
    ),
    # --- A22: another council's care, without an EHCP ---
    P(
        case(9, distance_m=6000, is_nearest_suitable=True, care=care("other_la", "permanent")),
        ok("A3", until="2027-08-31"),
        id="A22-A3-as-for-anyone",
    ),
    P(
        case(9, distance_m=8000, care=care("other_la", "permanent", "PO-7")),
        ok("A22", charge="home_la"),
        id="A22-further-school-purchase-order",
    ),
    P(
        case(9, distance_m=8000, care=care("other_la", "permanent")),
        no("A3"),
        id="A22-further-school-no-purchase-order",
    ),
    P(
        case(
            9, distance_m=1000, is_nearest_suitable=True, care=care("other_la", "permanent", "PO")
        ),
        ok("A22", charge="home_la"),
        id="A22-purchase-order-whatever-the-distance",
    ),
    P(
        case(12, distance_m=6000, is_nearest_suitable=True, care=care("other_la", "permanent")),
        ok("A7", charge="contribution"),
        id="A22-post16-contribution-under-A7",
    ),
    P(
        case(12, distance_m=6000, care=care("other_la", "permanent", "PO-9")),
        ok("A22", charge="home_la"),
        id="A22-post16-further-college-purchase-order",
    ),
    P(
        case(9, distance_m=500, care=care("other_la", "temporary")),
        no("A3"),
        id="A21-is-this-council-only",
    ),
    # A22 "free school transport provision only if they are attending their designated
    # transport area school or a nearer school subject to the distance criteria": the wider
    # choices of A5 and A6 and A11's discretion do not award another council's child.
    P(
        case(
            9,
            distance_m=6000,
            low_income=True,
            nearest_suitable_rank=3,
            care=care("other_la", "permanent"),
        ),
        no("A3"),
        id="A22-A5-third-nearest-does-not-award",
    ),
    P(
        case(
            9,
            distance_m=6000,
            low_income=True,
            nearest_suitable_rank=3,
            care=care("other_la", "permanent", "PO-5"),
        ),
        ok("A22", charge="home_la"),
        id="A22-A5-school-with-purchase-order-is-recharged",
    ),
    P(
        case(
            9,
            distance_m=12000,
            low_income=True,
            religion_or_belief=True,
            care=care("other_la", "permanent"),
        ),
        no("A3"),
        id="A22-A6-religion-or-belief-does-not-award",
    ),
    P(
        case(
            9,
            distance_m=8000,
            exceptional_circumstances=exceptional(),
            care=care("other_la", "permanent"),
        ),
        no("A3"),
        id="A22-A11-accepted-does-not-award",
    ),
    P(
        case(
            9,
            distance_m=8000,
            exceptional_circumstances=exceptional(None),
            care=care("other_la", "permanent"),
        ),
        no("A3"),
        id="A22-A11-pending-is-not-referred",
    ),
    P(
        case(
            9,
            distance_m=6000,
            nearer_than_dta_school=True,
            low_income=True,
            nearest_suitable_rank=2,
            care=care("other_la", "permanent"),
        ),
        ok("A3", until="2027-08-31"),
        id="A22-nearer-than-the-DTA-school-free-under-A3",
    ),
    P(
        case(
            9,
            distance_m=6000,
            is_dta_school=True,
            medical=medical(),
            care=care("other_la", "permanent"),
        ),
        ok("A3", clauses=["A3", "A13"], until="2027-08-31"),
        id="A22-DTA-school-A13-as-for-anyone",
    ),
    P(
        case(
            9,
            distance_m=2000,
            is_dta_school=True,
            route_unsuitable=True,
            care=care("other_la", "permanent"),
        ),
        ok("A12", until="2027-08-31"),
        id="A22-A12-as-for-anyone",
    ),
    P(
        case(9, distance_m=6000, low_income=True, nearest_suitable_rank=3),
        ok("A5"),
        id="A5-third-nearest-awards-without-A22",
    ),
    # --- refer, measure and what wins ---
    P(
        case(
            9,
            straight_line_m=3000,
            is_nearest_suitable=True,
            exceptional_circumstances=exceptional(None),
        ),
        REFER,
        id="refer-before-measure-A11-A3",
    ),
    P(
        case(
            9,
            straight_line_m=4000,
            is_dta_school=True,
            low_income=True,
            nearest_suitable_rank=2,
            medical=medical(None),
        ),
        REFER,
        id="refer-before-measure-A13-A5",
    ),
    P(
        case(
            9,
            straight_line_m=3000,
            is_nearest_suitable=True,
            exceptional_circumstances=exceptional(),
        ),
        ok("A11"),
        id="A11-holds-while-A3-unmeasured",
    ),
]


@pytest.mark.parametrize(("facts", "expected"), CASES)
def test_policy_case(facts: Case, expected: dict[str, Any]) -> None:
    decision = decision_to_json(assess(facts))
    assert {key: decision[key] for key in expected} == expected
    assert decision["reasons"], "A1c: every decision is explained"
    if decision["basis"]:
        assert decision["basis"] in " ".join(decision["reasons"]), "the reasons cite the basis"


def test_A1c_reason_names_the_distance_and_the_limit() -> None:
    refused = assess(case(3, distance_m=3218, is_dta_school=True))
    assert refused.reasons[0] == (
        "The school is 3218 m from home, not more than the 3218 m primary walking distance (A3)."
    )
    awarded = assess(
        Case(
            academic_year="2024/25",
            date_of_birth=date(2014, 3, 2),
            lives_in_county=True,
            distance_m=5012,
            is_nearest_suitable=True,
        )
    )
    assert awarded.reasons[0] == (
        "Year 6 pupil attending the nearest suitable school 5012 m from home, more than the "
        "3218 m primary walking distance (A3)."
    )


def test_A1c_refusal_explains_every_ground_considered() -> None:
    decision = assess(
        case(9, low_income=True, nearest_suitable_rank=4, distance_m=7000, medical=medical(False))
    )
    text = " ".join(decision.reasons)
    assert "(A3, A14)" in text and "(A5a)" in text and "(A13)" in text


def test_A13_reasons_tell_child_from_parent() -> None:
    child = assess(case(9, distance_m=1000, is_dta_school=True, medical=medical()))
    parent = assess(case(9, distance_m=1000, is_dta_school=True, medical=medical(who="parent")))
    assert "child's medical condition" in child.reasons[0]
    assert "parent's medical condition" in parent.reasons[0]


def test_measure_reason_says_what_to_measure() -> None:
    decision = assess(case(9, straight_line_m=3000, is_nearest_suitable=True))
    assert "3000 m" in decision.reasons[0] and "4827 m" in decision.reasons[0]
    assert "measured" in decision.reasons[0]


def test_post16_case_without_course_facts_is_refused() -> None:
    with pytest.raises(RulesError) as error:
        assess(Case(academic_year="2024/25", date_of_birth=born(12), lives_in_county=True))
    assert error.value.field == "post16"


def test_plain_strings_work_for_the_vocabularies() -> None:
    as_strings = case(
        9, distance_m=1000, is_dta_school=True, medical=Medical(who="parent", accepted=True)
    )  # type: ignore[arg-type]
    assert assess(as_strings) == assess(
        case(9, distance_m=1000, is_dta_school=True, medical=medical(who="parent"))
    )


# --- dated parameters ---------------------------------------------------------------------------


def _next_year_with_shorter_walk() -> dict[str, Any]:
    changed = dataclasses.replace(
        parameters_for("2025/26"), academic_year="2025/26", primary_walking_distance_m=3000
    )
    return {"2025/26": changed}


def test_dated_parameters_change_2025_26_but_not_2024_25() -> None:
    overrides = _next_year_with_shorter_walk()
    next_year = Case(
        academic_year="2025/26",
        date_of_birth=born(3, 2025),
        lives_in_county=True,
        distance_m=3100,
        is_dta_school=True,
    )
    this_year = dataclasses.replace(next_year, academic_year="2024/25", date_of_birth=born(3, 2024))
    assert assess(next_year).outcome == "not_eligible"
    assert assess(next_year, parameters_for("2025/26", overrides)).outcome == "eligible"
    assert assess(this_year, parameters_for("2024/25", overrides)).outcome == "not_eligible"
    later = dataclasses.replace(next_year, academic_year="2026/27", date_of_birth=born(3, 2026))
    assert assess(later, parameters_for("2026/27", overrides)).outcome == "eligible"


def test_another_years_parameters_are_refused() -> None:
    with pytest.raises(RulesError) as error:
        assess(case(9, distance_m=6000, is_dta_school=True), parameters_for("2025/26"))
    assert error.value.field == "academic_year"


def test_post16_upper_age_is_a_parameter() -> None:
    params = dataclasses.replace(parameters_for("2024/25"), post16_max_age=20, send_max_age=25)
    nineteen = case(
        date_of_birth=date(2005, 9, 1), distance_m=6000, is_nearest_suitable=True, post16=POST16
    )
    assert assess(nineteen).outcome == "not_eligible"
    assert assess(nineteen, params).outcome == "eligible"


def test_A21_care_leaver_post16_pays_nothing() -> None:
    """A21: post-16 students "in or leaving care" pay no contribution (RULES.md v2)."""
    facts = case(12, distance_m=6000, is_nearest_suitable=True, care_leaver=True)
    assert decision_to_json(assess(facts))["charge"] == "free"


def test_A2a_independent_school_named_in_ehcp_is_nearest_suitable() -> None:
    """A2a is about fee-paying schools: one named in the EHCP is the suitable school."""
    facts = case(
        8,
        ehcp=True,
        school_type=SchoolType.INDEPENDENT,
        school_named_in_ehcp=True,
        distance_m=7000,
    )
    assert decision_to_json(assess(facts))["outcome"] == "eligible"


def test_A1c_an_unknown_nearest_school_is_measured_never_refused() -> None:
    """A1c: "not the nearest school" is not known to be true without a home location."""
    decision = assess(case(9, distance_m=6000, is_nearest_suitable=None))
    assert decision_to_json(decision)["outcome"] == "measure"
    assert any("A1c" in reason for reason in decision.reasons)
    medical_case = case(3, distance_m=500, is_nearest_suitable=None, medical=medical())
    assert decision_to_json(assess(medical_case))["outcome"] == "measure"


def test_A1c_an_unknown_school_still_refuses_on_a_known_short_distance() -> None:
    """The distance test is known, and fails: that refusal is true whatever the ranking."""
    decision = decision_to_json(assess(case(9, distance_m=1000, is_nearest_suitable=None)))
    assert (decision["outcome"], decision["basis"]) == ("not_eligible", "A3")


def test_A7h_A15_course_tests_bind_every_basis() -> None:
    """An apprenticeship is outside the policy even for a child in the council's care (A21)."""
    facts = case(12, distance_m=8000, care=care(), post16=post16(apprenticeship=True))
    decision = decision_to_json(assess(facts))
    assert (decision["outcome"], decision["basis"], decision["clauses"]) == (
        "not_eligible",
        "A7",
        ["A7"],
    )
    ehcp = decision_to_json(
        assess(case(12, ehcp=True, medical=medical(), post16=post16(higher_education=True)))
    )
    assert (ehcp["outcome"], ehcp["basis"]) == ("not_eligible", "A8")
