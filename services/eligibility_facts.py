"""Gather each transport application's facts from the database, as the rules module's case.

The facts are read, never typed by hand where the database knows them (issue 3): DTA membership
from the home's parish and postcode (A14, Appendix G), the nearest suitable school and the rank
of the chosen school among suitable schools (A3a, A5a; for post-16 students, among schools with a
sixth form and colleges: A7b), the straight line from home to school (a lower bound on any route:
RULES.md), the year's low-income evidence (A5c), care status (A21, A22), the EHCP and the
officer's determinations recorded on the application.

Set-based: one query for the applications with their pupils, one for the year's low-income
evidence, one for every school, one for every DTA area, whatever the batch size. The nearest-
school ranking is a vectorised comparison of each pupil against the candidate schools of its
kind, so thousands of pupils against a few hundred schools costs milliseconds, not queries.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from models import (
    DesignatedTransportArea,
    DtaArea,
    LowIncomeEvidence,
    Postcode,
    Pupil,
    School,
    TransportApplication,
)
from models.enums import ApplicationStatus, DtaCategory, EstablishmentType, Phase, SixthForm
from models.school import has_post16_provision
from rules.academic_year import parse_academic_year, stage_of, year_group
from rules.errors import RulesError
from rules.vocab import SchoolType, Stage

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

# Which phases can teach a pupil of each stage (mainstream; special schools are their own kind).
_MAINSTREAM_PHASES: dict[Stage, frozenset[Phase]] = {
    Stage.PRIMARY: frozenset({Phase.PRIMARY, Phase.ALL_THROUGH}),
    Stage.SECONDARY: frozenset({Phase.SECONDARY, Phase.ALL_THROUGH}),
    Stage.POST16: frozenset(
        {Phase.SECONDARY, Phase.ALL_THROUGH, Phase.SIXTH_FORM, Phase.FE_COLLEGE}
    ),
}
RECEPTION_AGE = 4  # year group + 4 = age on 31 August before the year (RULES.md)


@dataclass(slots=True)
class GatheredCase:
    """One application's facts (the JSON case given to the rules), or why it has none."""

    application_id: int
    pupil_id: int
    reference: str
    academic_year: str
    received_on: date
    facts: dict[str, Any] | None
    problem: str | None = None


@dataclass(slots=True)
class _SchoolTable:
    """Every school, as parallel arrays for the vectorised distance comparisons."""

    index: dict[int, int]
    ids: list[int]
    phase: list[Phase]
    establishment: list[EstablishmentType]
    selective: list[bool]
    main_site: list[int | None]
    east: np.ndarray
    north: np.ndarray
    has_xy: np.ndarray
    low: list[int | None]
    high: list[int | None]
    sixth_form: list[SixthForm]
    is_open: list[bool]
    candidates: dict[tuple[Any, ...], np.ndarray] = field(default_factory=dict)

    def main_of(self, school_id: int) -> int:
        """A3f, A4f: transport goes to the main site; a satellite stands for its main site."""
        main = self.main_site[self.index[school_id]]
        return main if main is not None else school_id

    def xy(self, school_id: int) -> tuple[int, int] | None:
        i = self.index[school_id]
        if not self.has_xy[i]:
            return None
        return int(self.east[i]), int(self.north[i])

    def candidate_indexes(self, kind: tuple[Any, ...]) -> np.ndarray:
        """The suitable schools for a kind of pupil: phase and age fit, open, not independent,
        main sites only (A2a, A3f), with coordinates to rank them by. For a post-16 student
        only a "school with a sixth form provision" or a college (A7b), so a nearer school
        without a sixth form does not stop theirs being the nearest."""
        found = self.candidates.get(kind)
        if found is not None:
            return found
        special, stage, age, selective_ok = kind
        chosen: list[int] = []
        for i in range(len(self.ids)):
            if not self.is_open[i] or self.main_site[i] is not None or not self.has_xy[i]:
                continue
            est, phase = self.establishment[i], self.phase[i]
            if est is EstablishmentType.INDEPENDENT:
                continue
            is_special = phase is Phase.SPECIAL or est is EstablishmentType.SPECIAL
            if special != is_special:
                continue
            if not special and phase not in _MAINSTREAM_PHASES.get(stage, frozenset()):
                continue
            if self.selective[i] and not selective_ok:
                continue
            if stage is Stage.POST16 and not has_post16_provision(phase, self.sixth_form[i]):
                continue
            low, high = self.low[i], self.high[i]
            if (low is not None and age < low) or (high is not None and age >= high):
                continue
            chosen.append(i)
        found = np.array(chosen, dtype=np.int64)
        self.candidates[kind] = found
        return found


def school_type_of(establishment: EstablishmentType, phase: Phase) -> SchoolType:
    if establishment in _TYPE_BY_ESTABLISHMENT:
        return _TYPE_BY_ESTABLISHMENT[establishment]
    return _TYPE_BY_PHASE.get(phase, SchoolType.MAINTAINED)


def straight_line_m(a: tuple[int, int] | None, b: tuple[int, int] | None) -> int | None:
    """Whole metres, rounded down: a lower bound on any route (RULES.md "Distances")."""
    if a is None or b is None:
        return None
    return math.isqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2)


def dta_categories(stage: Stage, selective: bool) -> frozenset[DtaCategory]:
    """Appendix A, Appendix G: the DTA categories that fit a pupil at this stage and school."""
    if stage is Stage.PRIMARY:
        return frozenset({DtaCategory.PRIMARY})
    if stage is Stage.SECONDARY:
        return frozenset({DtaCategory.GRAMMAR if selective else DtaCategory.SECONDARY_ALL_ABILITY})
    if stage is Stage.POST16:
        return frozenset({DtaCategory.SIXTH_FORM, DtaCategory.FE_COLLEGE})
    return frozenset()


def _load_schools(session: Session) -> _SchoolTable:
    rows = session.execute(
        select(
            School.id,
            School.phase,
            School.establishment_type,
            School.selective,
            School.main_site_id,
            School.easting,
            School.northing,
            School.statutory_low_age,
            School.statutory_high_age,
            School.sixth_form,
            School.is_open,
        ).order_by(School.id)
    ).all()
    east = np.array([r.easting if r.easting is not None else 0 for r in rows], dtype=np.float64)
    north = np.array([r.northing if r.northing is not None else 0 for r in rows], dtype=np.float64)
    return _SchoolTable(
        index={r.id: i for i, r in enumerate(rows)},
        ids=[r.id for r in rows],
        phase=[r.phase for r in rows],
        establishment=[r.establishment_type for r in rows],
        selective=[bool(r.selective) for r in rows],
        main_site=[r.main_site_id for r in rows],
        east=east,
        north=north,
        has_xy=np.array([r.easting is not None and r.northing is not None for r in rows]),
        low=[r.statutory_low_age for r in rows],
        high=[r.statutory_high_age for r in rows],
        sixth_form=[r.sixth_form for r in rows],
        is_open=[bool(r.is_open) for r in rows],
    )


def _load_dtas(
    session: Session, schools: _SchoolTable
) -> tuple[dict[int, list[tuple[DtaCategory, int]]], dict[int, list[tuple[DtaCategory, int]]]]:
    """Parish id -> [(category, school)], postcode id -> [(category, school)] (A14)."""
    by_parish: dict[int, list[tuple[DtaCategory, int]]] = defaultdict(list)
    by_postcode: dict[int, list[tuple[DtaCategory, int]]] = defaultdict(list)
    rows = session.execute(
        select(
            DesignatedTransportArea.category,
            DesignatedTransportArea.school_id,
            DtaArea.parish_id,
            DtaArea.postcode_id,
        ).join(DtaArea, DtaArea.dta_id == DesignatedTransportArea.id)
    )
    for category, school_id, parish_id, postcode_id in rows:
        entry = (category, schools.main_of(school_id))
        if parish_id is not None:
            by_parish[parish_id].append(entry)
        if postcode_id is not None:
            by_postcode[postcode_id].append(entry)
    return by_parish, by_postcode


def _number(value: Decimal) -> int | float:
    """A JSON number for the facts (hours are stored to two places)."""
    return int(value) if value == value.to_integral_value() else float(value)


def gather_facts(session: Session, where: ColumnElement[bool]) -> list[GatheredCase]:
    """The rules case for every application matching `where` (withdrawn ones are left out)."""
    ta, pupil = TransportApplication, Pupil
    criterion = (ta.status != ApplicationStatus.WITHDRAWN) & where
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
            Postcode.id.label("postcode_id"),
            Postcode.parish_id.label("postcode_parish_id"),
        )
        .join(pupil, pupil.id == ta.pupil_id)
        .outerjoin(Postcode, Postcode.postcode == pupil.postcode)
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
    schools = _load_schools(session)
    by_parish, by_postcode = _load_dtas(session, schools)
    return _build(rows, low_income, schools, by_parish, by_postcode)


def _build(
    rows: Iterable[Any],
    low_income: set[tuple[int, str]],
    schools: _SchoolTable,
    by_parish: dict[int, list[tuple[DtaCategory, int]]],
    by_postcode: dict[int, list[tuple[DtaCategory, int]]],
) -> list[GatheredCase]:
    out: list[GatheredCase] = []
    # Pupils to rank, grouped by kind: kind -> [(position in out, home x, home y, chosen main
    # school index, distance to beat)].
    to_rank: dict[tuple[Any, ...], list[tuple[int, float, float, int, float]]] = defaultdict(list)
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
            postcode_id,
            postcode_parish_id,
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
        main = schools.main_of(school_id)
        mi = schools.index[main]
        phase, est = schools.phase[mi], schools.establishment[mi]
        selective = schools.selective[mi]
        home = (easting, northing) if easting is not None and northing is not None else None
        school_xy = schools.xy(main)
        straight = straight_line_m(home, school_xy)
        # The distance the chosen school is ranked by: measured route (A3b) where recorded,
        # else the straight line.
        chosen_d = distance_m if distance_m is not None else straight

        # A14, Appendix G: DTA schools for this home, of the categories fitting the pupil.
        categories = dta_categories(stage, selective)
        parish_id = parish_id if parish_id is not None else postcode_parish_id
        dta_schools: set[int] = set()
        for source, key in ((by_parish, parish_id), (by_postcode, postcode_id)):
            if key is not None:
                dta_schools.update(s for c, s in source.get(key, ()) if c in categories)
        is_dta = main in dta_schools
        nearer = False
        if not is_dta and dta_schools and chosen_d is not None and home is not None:
            dta_d = [straight_line_m(home, schools.xy(s)) for s in dta_schools]
            known = [d for d in dta_d if d is not None]
            # A14: "the school/college named in the DTA or a nearer school or college".
            nearer = bool(known) and chosen_d < min(known)

        facts: dict[str, Any] = {
            "academic_year": academic_year,
            "date_of_birth": date_of_birth.isoformat(),
            "year_group": year_group_override,
            "lives_in_county": bool(lives_in_county),
            "school_type": str(school_type_of(est, phase)),
            "distance_m": distance_m,
            "straight_line_m": straight,
            "is_dta_school": is_dta,
            "is_nearest_suitable": False,
            "nearer_than_dta_school": nearer,
            "nearest_suitable_rank": None,
            "low_income": (pupil_id, academic_year) in low_income,  # A5c: per year
            "religion_or_belief": bool(religion_or_belief),
            "route_unsuitable": bool(route_unsuitable),
            "ehcp": bool(ehcp),
            "exceptional_transport_need": bool(exceptional_transport_need),
            "medical": None,
            "care": None,
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
        if stage is not Stage.BELOW_SCHOOL_AGE and home is not None and chosen_d is not None:
            special = phase is Phase.SPECIAL or est is EstablishmentType.SPECIAL
            kind = (special, stage, group + RECEPTION_AGE, selective)
            to_rank[kind].append((len(out) - 1, float(home[0]), float(home[1]), mi, chosen_d))
    _rank(out, to_rank, schools)
    return out


def _rank(
    out: list[GatheredCase],
    to_rank: dict[tuple[Any, ...], list[tuple[int, float, float, int, float]]],
    schools: _SchoolTable,
) -> None:
    """A3a, A5a: the chosen school's rank among the suitable schools, by distance from home.

    Other schools are ranked by the straight line (the only distance known for them); the
    chosen school by its measured route where recorded. Ties go to the chosen school.
    """
    for kind, items in to_rank.items():
        cand = schools.candidate_indexes(kind)
        if cand.size == 0:
            continue
        ce, cn = schools.east[cand], schools.north[cand]
        for start in range(0, len(items), 4096):
            chunk = items[start : start + 4096]
            hx = np.array([c[1] for c in chunk])
            hy = np.array([c[2] for c in chunk])
            chosen_idx = np.array([c[3] for c in chunk])
            beat = np.array([c[4] for c in chunk], dtype=np.float64)
            d2 = (hx[:, None] - ce[None, :]) ** 2 + (hy[:, None] - cn[None, :]) ** 2
            # Straight lines are compared in whole metres rounded down, like straight_line_m.
            d = np.floor(np.sqrt(d2))
            is_chosen = cand[None, :] == chosen_idx[:, None]
            nearer = ((d < beat[:, None]) & ~is_chosen).sum(axis=1)
            in_set = is_chosen.any(axis=1)
            for (pos, *_), count, present in zip(chunk, nearer, in_set, strict=True):
                if not present:
                    continue  # the chosen school is not a suitable one: no rank
                facts = out[pos].facts
                assert facts is not None
                rank = int(count) + 1
                facts["nearest_suitable_rank"] = rank
                facts["is_nearest_suitable"] = rank == 1
