"""The facts of the Appendix F priority register for each concessionary application."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

import rules
from models import (
    DesignatedTransportArea,
    DtaArea,
    Postcode,
    Pupil,
    School,
    TransportApplication,
)
from models.enums import (
    ConcessionaryStatus,
    EstablishmentType,
    PaymentPlan,
    Phase,
)
from models.school import has_post16_provision
from services.seats.common import CA


@dataclass(frozen=True)
class Candidate:
    """One application with the Appendix F facts the register needs."""

    application_id: int
    route_id: int
    pupil_id: int
    status: ConcessionaryStatus
    position: int | None
    reason: str | None
    plan: PaymentPlan
    applicant: rules.Applicant


# A school "suitable" as the nearest for a year group: the phases that teach it. Special
# schools and alternative provision are suitable only for particular children, so they are
# never "the nearest" for the register.
_PHASES_FOR = {
    "primary": {Phase.PRIMARY, Phase.ALL_THROUGH},
    "secondary": {Phase.SECONDARY, Phase.ALL_THROUGH},
    "post16": {Phase.SECONDARY, Phase.ALL_THROUGH, Phase.SIXTH_FORM, Phase.FE_COLLEGE},
}


def _stage(group: int) -> str:
    if group <= 6:
        return "primary"
    return "secondary" if group <= 11 else "post16"


def exam_course_year(group: int) -> bool:
    """Appendix F 4th tier, "part way through an exam course": the second year of a two-year
    course, i.e. Year 11 (GCSE) or Year 13 (A level / level 3). Project rule: the policy does
    not define it; a pupil entering Year 10 or 12 is starting a course, not part way through."""
    return group in (11, 13)


def _straight_line(e1: int | None, n1: int | None, e2: int | None, n2: int | None) -> int | None:
    if None in (e1, n1, e2, n2):
        return None
    return round(math.hypot(e1 - e2, n1 - n2))  # type: ignore[operator]


def gather_candidates(
    session: Session, where: Sequence[ColumnElement[bool]], year: str
) -> list[Candidate]:
    """The applications matching `where`, with their Appendix F facts, in a fixed few queries.

    Facts: living in the county (the pupil record); sessions; attending the designated or
    nearest school (the school's DTA lists the home's parish or postcode, or the school is the
    nearest open school of a phase that teaches the pupil's year group, by straight line);
    part way through an exam course (Year 11 or 13, see `exam_course_year`); distance to
    that school (the measured route distance of the pupil's transport application to the same
    school this year, else the straight line; for a pupil not at the designated or nearest
    school, the straight line to the nearest one: the 5th tier measures from "their
    designated or nearest school"); date of birth; date received.
    """
    rows = session.execute(
        select(
            CA.id,
            CA.reference,
            CA.route_id,
            CA.pupil_id,
            CA.school_id,
            CA.sessions,
            CA.received_on,
            CA.status,
            CA.waitlist_position,
            CA.refusal_reason,
            CA.payment_plan,
            Pupil.lives_in_county,
            Pupil.date_of_birth,
            Pupil.year_group_override,
            Pupil.easting,
            Pupil.northing,
            School.easting.label("school_e"),
            School.northing.label("school_n"),
        )
        .join(Pupil, Pupil.id == CA.pupil_id)
        .join(School, School.id == CA.school_id)
        .where(CA.academic_year == year, *where)
    ).all()
    if not rows:
        return []

    # In the DTA of the school attended (A14: the home's parish or postcode listed), one query.
    in_dta_stmt = (
        select(CA.id)
        .join(Pupil, Pupil.id == CA.pupil_id)
        .outerjoin(Postcode, Postcode.postcode == Pupil.postcode)
        .where(CA.academic_year == year, *where)
        .where(
            exists()
            .where(DesignatedTransportArea.school_id == CA.school_id)
            .where(DtaArea.dta_id == DesignatedTransportArea.id)
            .where(
                or_(
                    and_(Pupil.parish_id.is_not(None), DtaArea.parish_id == Pupil.parish_id),
                    DtaArea.postcode_id == Postcode.id,
                )
            )
        )
    )
    in_dta = set(session.scalars(in_dta_stmt))

    # Measured distances (A3b) of the same pupil to the same school this year.
    ta = TransportApplication
    measured: dict[tuple[int, int], int] = {}
    pairs = (
        select(CA.pupil_id, CA.school_id).where(CA.academic_year == year, *where).distinct()
    ).subquery("pairs")
    for pupil_id, school_id, distance in session.execute(
        select(ta.pupil_id, ta.school_id, func.min(ta.distance_m))
        .join(pairs, and_(pairs.c.pupil_id == ta.pupil_id, pairs.c.school_id == ta.school_id))
        .where(ta.academic_year == year, ta.distance_m.is_not(None))
        .group_by(ta.pupil_id, ta.school_id)
    ):
        if distance is not None:  # the query keeps measured distances only
            measured[(pupil_id, school_id)] = distance

    schools = session.execute(
        select(School.id, School.phase, School.sixth_form, School.easting, School.northing).where(
            School.is_open.is_(True),
            School.establishment_type != EstablishmentType.INDEPENDENT,
            School.easting.is_not(None),
            School.northing.is_not(None),
        )
    ).all()
    by_stage: dict[str, list[tuple[int, int, int]]] = {
        stage: [
            (s.id, s.easting, s.northing)
            for s in schools
            if s.phase in phases
            # A7b: a post-16 student's nearest school is one "with a sixth form provision".
            and (stage != "post16" or has_post16_provision(s.phase, s.sixth_form))
        ]
        for stage, phases in _PHASES_FOR.items()
    }
    academic = rules.parse_academic_year(year)

    groups = [
        r.year_group_override
        if r.year_group_override is not None
        else rules.year_group(r.date_of_birth, academic)
        for r in rows
    ]
    nearest_of = _nearest_schools(rows, groups, by_stage, skip=in_dta)

    found: list[Candidate] = []
    for r, group in zip(rows, groups, strict=True):
        nearest = nearest_of.get(r.id)  # (school id, metres), None without a location
        attends = r.id in in_dta or (nearest is not None and nearest[0] == r.school_id)
        if attends:
            distance = measured.get((r.pupil_id, r.school_id))
            if distance is None:
                distance = _straight_line(r.easting, r.northing, r.school_e, r.school_n)
        else:
            distance = nearest[1] if nearest is not None else None
        found.append(
            Candidate(
                application_id=r.id,
                route_id=r.route_id,
                pupil_id=r.pupil_id,
                status=r.status,
                position=r.waitlist_position,
                reason=r.refusal_reason,
                plan=r.payment_plan,
                applicant=rules.Applicant(
                    id=r.reference,
                    lives_in_county=r.lives_in_county,
                    sessions=rules.Sessions(r.sessions.value),
                    attends_designated_or_nearest=attends,
                    part_way_through_exam_course=exam_course_year(group),
                    # No location and no measurement: ranked as nearest (project rule).
                    distance_m=distance or 0,
                    date_of_birth=r.date_of_birth,
                    received=r.received_on,
                ),
            )
        )
    return found


def _nearest_schools(
    rows: Sequence[Any],
    groups: Sequence[int],
    by_stage: dict[str, list[tuple[int, int, int]]],
    skip: set[int],
) -> dict[int, tuple[int, int]]:
    """Nearest suitable school (straight line) per application, vectorised per stage.

    Only needed where the DTA has not already settled the 3rd tier; thousands of homes against
    a few hundred schools is a small matrix, far quicker than a Python loop.
    """
    wanted: dict[str, list[Any]] = defaultdict(list)
    for r, group in zip(rows, groups, strict=True):
        if r.id not in skip and r.easting is not None and r.northing is not None:
            wanted[_stage(group)].append(r)
    found: dict[int, tuple[int, int]] = {}
    for stage, homes in wanted.items():
        schools = by_stage[stage]
        if not schools:
            continue
        ids = np.array([sid for sid, _, _ in schools])
        xy = np.array([(e, n) for _, e, n in schools], dtype=float)
        for chunk in range(0, len(homes), 2000):
            part = homes[chunk : chunk + 2000]
            here = np.array([(r.easting, r.northing) for r in part], dtype=float)
            metres = np.hypot(here[:, None, 0] - xy[None, :, 0], here[:, None, 1] - xy[None, :, 1])
            best = metres.argmin(axis=1)
            for r, k, row in zip(part, best, metres, strict=True):
                found[r.id] = (int(ids[k]), round(float(row[k])))
    return found
