"""The facts of the Appendix F priority register for each concessionary application.

Appendix F's 3rd tier ("attending the designated or nearest school or college") and 5th tier
("living furthest from their designated or nearest school or college") are A3's facts, so they
come from `services.schools`, the one definition eligibility uses (RULES.md v2 "Facts the panel
gathers"): the DTA of the right category for the pupil's stage, satellites as their main site,
the selective and age filters, post-16 sixth forms and colleges ranked apart, and distances
compared like for like with the routes measured for the pupil's transport application.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

import rules
from models import Parish, Postcode, Pupil, TransportApplication
from models.enums import ApplicationStatus, ConcessionaryStatus, PaymentPlan
from services.schools import (
    SchoolContext,
    SchoolQuestion,
    measured_routes,
    resident,
    school_facts,
)
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


def exam_course_year(group: int) -> bool:
    """Appendix F 4th tier, "part way through an exam course": the second year of a two-year
    course, i.e. Year 11 (GCSE) or Year 13 (A level / level 3). Project rule: the policy does
    not define it; a pupil entering Year 10 or 12 is starting a course, not part way through."""
    return group in (11, 13)


def gather_candidates(
    session: Session, where: Sequence[ColumnElement[bool]], year: str
) -> list[Candidate]:
    """The applications matching `where`, with their Appendix F facts, in a fixed few queries.

    Facts: living in the county (A2, the same test as eligibility: the pupil record, unless the
    home's parish is outside the county); sessions; attending the designated or nearest school
    and the distance to the designated or nearest school (`services.schools`, with the routes
    measured for the pupil's transport application this year, preferring the one to the same
    school); part way through an exam course (`exam_course_year`); date of birth; received.
    """
    home_parish = Parish.__table__.alias("home_parish")
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
            Pupil.parish_id,
            Postcode.id.label("postcode_id"),
            Postcode.parish_id.label("postcode_parish_id"),
            home_parish.c.in_county.label("parish_in_county"),
        )
        .join(Pupil, Pupil.id == CA.pupil_id)
        .outerjoin(Postcode, Postcode.postcode == Pupil.postcode)
        .outerjoin(
            home_parish,
            home_parish.c.id == func.coalesce(Pupil.parish_id, Postcode.parish_id),
        )
        .where(CA.academic_year == year, *where)
    ).all()
    if not rows:
        return []
    ctx = SchoolContext.load(session)

    # The pupil's transport applications this year carry the measured routes (A3b) from home.
    ta = TransportApplication
    pupils = select(CA.pupil_id).where(CA.academic_year == year, *where)
    applications: dict[int, list[tuple[int, int, int | None]]] = {}
    for app_id, pupil_id, school_id, distance in session.execute(
        select(ta.id, ta.pupil_id, ta.school_id, ta.distance_m)
        .where(
            ta.academic_year == year,
            ta.status != ApplicationStatus.WITHDRAWN,
            ta.pupil_id.in_(pupils),
        )
        .order_by(ta.id)
    ):
        applications.setdefault(pupil_id, []).append(
            (app_id, ctx.schools.main_of(school_id), distance)
        )
    routes = measured_routes(session, [a[0] for apps in applications.values() for a in apps])
    academic = rules.parse_academic_year(year)

    groups: list[int] = []
    questions: list[SchoolQuestion] = []
    for r in rows:
        group = (
            r.year_group_override
            if r.year_group_override is not None
            else rules.year_group(r.date_of_birth, academic)
        )
        groups.append(group)
        main = ctx.schools.main_of(r.school_id)
        apps = applications.get(r.pupil_id, [])
        # The application to the same school decides as eligibility does (its distance is
        # the chosen school's route); another school's application still has the routes.
        same = [a for a in apps if a[1] == main]
        app = same[0] if same else (apps[0] if apps else None)
        measured = dict(routes.get(app[0], {})) if app is not None else {}
        route_m = app[2] if app is not None and app[1] == main else measured.get(main)
        measured.pop(main, None)
        questions.append(
            SchoolQuestion(
                home=(r.easting, r.northing)
                if r.easting is not None and r.northing is not None
                else None,
                school_id=r.school_id,
                year_group=group,
                parish_id=r.parish_id if r.parish_id is not None else r.postcode_parish_id,
                postcode_id=r.postcode_id,
                route_m=route_m,
                routes=measured,
                tier5=True,
            )
        )
    found: list[Candidate] = []
    for r, group, facts in zip(rows, groups, school_facts(ctx, questions), strict=True):
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
                    lives_in_county=resident(r.lives_in_county, r.parish_in_county),
                    sessions=rules.Sessions(r.sessions.value),
                    attends_designated_or_nearest=facts.attends_designated_or_nearest,
                    part_way_through_exam_course=exam_course_year(group),
                    # No location and no measurement: ranked as nearest (project rule).
                    distance_m=facts.designated_or_nearest_m or 0,
                    date_of_birth=r.date_of_birth,
                    received=r.received_on,
                ),
            )
        )
    return found
