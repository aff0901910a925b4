"""Gather each transport application's facts from the database, as the rules module's case.

The facts are read, never typed by hand where the database knows them (issue 3): the school
facts ("designated school", "nearest suitable school", "distance to it": A3a, A5a, A6, A7b, A14)
from `services.schools`, the one definition the seat register uses too (Appendix F); residence
from the home's parish (A2: a parish marked outside the county means not resident); the year's
low-income evidence (A5c); care status (A21, A22) and care leavers (A21); the EHCP and the
school named in it (A2a); and the officer's determinations recorded on the application.

Set-based: one query for the applications with their pupils, one for the year's low-income
evidence, one for the measured routes, one for every school, one for every DTA area, whatever
the batch size (plus the year's parameters when a low-income case needs A5's "nearest three").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from models import (
    LowIncomeEvidence,
    Parish,
    Postcode,
    Pupil,
    TransportApplication,
)
from models.enums import ApplicationStatus, EstablishmentType, Phase
from rules.academic_year import parse_academic_year, stage_of, year_group
from rules.errors import RulesError
from rules.vocab import SchoolType, Stage
from services.schools import (
    SchoolContext,
    SchoolFacts,
    SchoolQuestion,
    dta_categories,
    measured_routes,
    resident,
    school_facts,
    straight_line_m,
)

__all__ = [
    "GatheredCase",
    "dta_categories",
    "gather_facts",
    "school_type_of",
    "straight_line_m",
]

# School.establishment_type / phase -> the rules' school_type (RULES.md "The assess contract").
# Independent first: A2a puts fee-paying schools outside the policy whatever their phase.
_TYPE_BY_ESTABLISHMENT: dict[EstablishmentType, SchoolType] = {
    EstablishmentType.INDEPENDENT: SchoolType.INDEPENDENT,
    EstablishmentType.SPECIAL: SchoolType.SPECIAL,
    EstablishmentType.FE_COLLEGE: SchoolType.FE_COLLEGE,
    EstablishmentType.ALTERNATIVE_PROVISION: SchoolType.ALTERNATIVE_PROVISION,
    EstablishmentType.ACADEMY: SchoolType.ACADEMY,
    EstablishmentType.FREE_SCHOOL: SchoolType.ACADEMY,
}
_TYPE_BY_PHASE: dict[Phase, SchoolType] = {
    Phase.SPECIAL: SchoolType.SPECIAL,
    Phase.FE_COLLEGE: SchoolType.FE_COLLEGE,
    Phase.ALTERNATIVE_PROVISION: SchoolType.ALTERNATIVE_PROVISION,
}
A6_ROUTES_NEEDED = (
    "A6: the routes to the nearer schools of the same religious character must be measured "
    "before it is known whether this is the nearest one"
)


@dataclass(slots=True)
class GatheredCase:
    """One application's facts (the JSON case given to the rules), or why it has none.

    `missing` names what an unknown (null) fact waits for ("home location needed"), for the
    measure queue to show."""

    application_id: int
    pupil_id: int
    reference: str
    academic_year: str
    received_on: date
    facts: dict[str, Any] | None
    problem: str | None = None
    missing: list[str] = field(default_factory=list)
    school: SchoolFacts | None = None


def school_type_of(establishment: EstablishmentType, phase: Phase) -> SchoolType:
    if establishment in _TYPE_BY_ESTABLISHMENT:
        return _TYPE_BY_ESTABLISHMENT[establishment]
    return _TYPE_BY_PHASE.get(phase, SchoolType.MAINTAINED)


def _others(measured: dict[int, int] | None, main: int) -> dict[int, int]:
    """The measured routes to the schools other than the chosen one (its own is distance_m)."""
    if not measured:
        return _NO_ROUTES
    return {school: metres for school, metres in measured.items() if school != main}


_NO_ROUTES: dict[int, int] = {}


def _number(value: Decimal) -> int | float:
    """A JSON number for the facts (hours are stored to two places)."""
    return int(value) if value == value.to_integral_value() else float(value)


def gather_facts(session: Session, where: ColumnElement[bool]) -> list[GatheredCase]:
    """The rules case for every application matching `where` (withdrawn ones are left out)."""
    ta, pupil = TransportApplication, Pupil
    criterion = (ta.status != ApplicationStatus.WITHDRAWN) & where
    home_parish = Parish.__table__.alias("home_parish")
    rows = session.execute(
        select(
            ta.id,
            ta.reference,
            ta.pupil_id,
            ta.academic_year,
            ta.school_id,
            ta.received_on,
            ta.distance_m,
            ta.route_unsuitable,
            ta.religion_or_belief,
            ta.exceptional_transport_need,
            ta.medical_who,
            ta.medical_accepted,
            ta.medical_until,
            ta.exceptional_circumstances,
            ta.exceptional_accepted,
            ta.purchase_order,
            ta.school_named_in_ehcp,
            ta.full_time_hours,
            ta.higher_education,
            ta.apprenticeship,
            ta.repeat_or_non_progression,
            ta.programme_started_before_19,
            ta.post19_need_determined,
            pupil.date_of_birth,
            pupil.year_group_override,
            pupil.parish_id,
            pupil.easting,
            pupil.northing,
            pupil.lives_in_county,
            pupil.ehcp,
            pupil.care_by,
            pupil.care_placement,
            pupil.care_leaver,
            Postcode.id.label("postcode_id"),
            Postcode.parish_id.label("postcode_parish_id"),
            home_parish.c.in_county.label("parish_in_county"),
        )
        .join(pupil, pupil.id == ta.pupil_id)
        .outerjoin(Postcode, Postcode.postcode == pupil.postcode)
        .outerjoin(
            home_parish,
            home_parish.c.id == func.coalesce(pupil.parish_id, Postcode.parish_id),
        )
        .where(criterion)
        .order_by(ta.id)
    ).all()
    if not rows:
        return []
    low_income: set[tuple[int, str]] = {
        (pupil_id, year)
        for pupil_id, year in session.execute(
            select(LowIncomeEvidence.pupil_id, LowIncomeEvidence.academic_year).where(
                LowIncomeEvidence.pupil_id.in_(select(ta.pupil_id).where(criterion))
            )
        )
    }
    routes = measured_routes(session, [r.id for r in rows])
    limits = _rank_limits(
        session, {r.academic_year for r in rows if (r.pupil_id, r.academic_year) in low_income}
    )
    homes = None
    if len(rows) <= FEW_CASES:
        # A page's one application or a small batch: only its homes' DTA entries are read.
        parish_ids = [r.parish_id if r.parish_id is not None else r.postcode_parish_id
                      for r in rows]  # fmt: skip
        homes = (
            [p for p in parish_ids if p is not None],
            [r.postcode_id for r in rows if r.postcode_id is not None],
        )
    return _build(rows, low_income, routes, limits, SchoolContext.load(session, homes))


# Up to this many applications, gather_facts reads only their homes' DTA entries (a bounded
# IN list); a larger batch reads every DTA once.
FEW_CASES = 200


def _rank_limits(session: Session, years: set[str]) -> dict[str, int]:
    """A5a's "nearest three" for the years with a low-income case (a dated parameter)."""
    from services.policy import PolicyUnavailable, parameters_for_years

    limits: dict[str, int] = {}
    for year in years:
        try:
            limits[year] = parameters_for_years([year], session)[year].low_income_rank_limit
        except PolicyUnavailable:
            continue  # the assessment reports the year; the rank is left unsettled
    return limits


def _build(
    rows: Iterable[Any],
    low_income: set[tuple[int, str]],
    routes: dict[int, dict[int, int]],
    limits: dict[str, int],
    ctx: SchoolContext,
) -> list[GatheredCase]:
    out: list[GatheredCase] = []
    questions: list[SchoolQuestion] = []
    asked: list[GatheredCase] = []
    for row in rows:
        (
            app_id,
            reference,
            pupil_id,
            academic_year,
            school_id,
            received_on,
            distance_m,
            route_unsuitable,
            religion_or_belief,
            exceptional_transport_need,
            medical_who,
            medical_accepted,
            medical_until,
            exceptional_circumstances,
            exceptional_accepted,
            purchase_order,
            school_named_in_ehcp,
            full_time_hours,
            higher_education,
            apprenticeship,
            repeat_or_non_progression,
            programme_started_before_19,
            post19_need_determined,
            date_of_birth,
            year_group_override,
            parish_id,
            easting,
            northing,
            lives_in_county,
            ehcp,
            care_by,
            care_placement,
            care_leaver,
            postcode_id,
            postcode_parish_id,
            parish_in_county,
        ) = row
        case = GatheredCase(app_id, pupil_id, reference, academic_year, received_on, None)
        out.append(case)
        try:
            year = parse_academic_year(academic_year)
        except RulesError as error:
            case.problem = error.message
            continue
        group = year_group_override
        if group is None:
            group = year_group(date_of_birth, year)
        stage = stage_of(group)
        home = (easting, northing) if easting is not None and northing is not None else None
        poor = (pupil_id, academic_year) in low_income
        main = ctx.schools.main_of(school_id)
        questions.append(
            SchoolQuestion(
                home=home,
                school_id=school_id,
                year_group=group,
                parish_id=parish_id if parish_id is not None else postcode_parish_id,
                postcode_id=postcode_id,
                route_m=distance_m,
                routes=_others(routes.get(app_id), main),
                rank_limit=limits.get(academic_year) if poor and stage is Stage.SECONDARY else None,
                religion=bool(religion_or_belief),
            )
        )
        asked.append(case)
        mi = ctx.schools.index[main]
        facts: dict[str, Any] = {
            "academic_year": academic_year,
            "date_of_birth": date_of_birth.isoformat(),
            "year_group": year_group_override,
            "lives_in_county": resident(lives_in_county, parish_in_county),
            "school_type": str(
                school_type_of(ctx.schools.establishment[mi], ctx.schools.phase[mi])
            ),
            "distance_m": distance_m,
            "straight_line_m": None,
            "is_dta_school": False,
            "is_nearest_suitable": None,
            "nearer_than_dta_school": None,
            "nearest_suitable_rank": None,
            "low_income": poor,  # A5c: per year
            "religion_or_belief": bool(religion_or_belief),
            "route_unsuitable": bool(route_unsuitable),
            "ehcp": bool(ehcp),
            "exceptional_transport_need": bool(exceptional_transport_need),
            "medical": None,
            "care": None,
            "care_leaver": bool(care_leaver),
            "school_named_in_ehcp": bool(school_named_in_ehcp),
            "exceptional_circumstances": None,
            "post16": None,
        }
        if medical_who is not None:  # A13, B1e
            facts["medical"] = {
                "who": str(medical_who),
                "accepted": medical_accepted,
                "until": medical_until.isoformat() if medical_until else None,
            }
        if care_by is not None:  # A21, A22
            facts["care"] = {
                "by": str(care_by),
                "placement": str(care_placement),
                "purchase_order": purchase_order or None,
            }
        if exceptional_circumstances:  # A11
            facts["exceptional_circumstances"] = {"accepted": exceptional_accepted}
        if stage is Stage.POST16:  # A7, A8, A16
            if full_time_hours is None:
                case.problem = "post-16 course hours are not recorded (A7b needs them)"
            else:
                facts["post16"] = {
                    "full_time_hours": _number(Decimal(full_time_hours)),
                    "higher_education": bool(higher_education),
                    "apprenticeship": bool(apprenticeship),
                    "repeat_or_non_progression": bool(repeat_or_non_progression),
                    "programme_started_before_19": bool(programme_started_before_19),
                    "post19_need_determined": bool(post19_need_determined),
                }
        case.facts = facts
    for case, found in zip(asked, school_facts(ctx, questions), strict=True):
        _apply(case, found)
    return out


def _apply(case: GatheredCase, found: SchoolFacts) -> None:
    """The school facts into the case: unknown stays null (A1c), never false."""
    facts = case.facts
    assert facts is not None
    case.school = found
    case.missing = list(found.missing)
    facts["straight_line_m"] = found.straight_line_m
    facts["is_dta_school"] = found.is_dta_school
    facts["is_nearest_suitable"] = found.is_nearest_suitable
    facts["nearer_than_dta_school"] = found.nearer_than_dta_school
    facts["nearest_suitable_rank"] = found.nearest_suitable_rank
    if facts["religion_or_belief"]:
        # A6: "the nearest secondary school chosen by the parents on grounds of religion or
        # belief": a school of a religious character, the nearest of that character; the
        # officer's flag records the family's evidence.
        nearest = found.nearest_of_religious_character
        if nearest is None and case.problem is None and "home location needed" not in found.missing:
            case.problem = A6_ROUTES_NEEDED
        facts["religion_or_belief"] = nearest is True


def missing_facts(session: Session, application_ids: Iterable[int]) -> dict[int, list[str]]:
    """{application: what its unknown facts wait for}: `GatheredCase.missing` ("home location
    needed"; A1c: unknown is never taken as false), then the case's problem where its facts
    could not be made up at all (A6, A7b). Gathered by `gather_facts`, the one definition the
    rules are given, never re-derived, so the "To measure" queue and the application page say
    exactly what the next assessment would wait for."""
    ids = sorted(set(application_ids))
    if not ids:
        return {}
    found: dict[int, list[str]] = {}
    for case in gather_facts(session, TransportApplication.id.in_(ids)):
        notes = [*case.missing, *([case.problem] if case.problem else [])]
        if notes:
            found[case.application_id] = notes
    return found
