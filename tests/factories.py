"""Small builders for test records: valid by default, every field overridable.

They add to the session and flush (so ids exist) but never commit: the test decides.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from demo.calendar_2024_25 import CLOSURES, TERMS
from models import (
    AcademicYear,
    Closure,
    ConcessionaryApplication,
    ContributionSetting,
    DesignatedTransportArea,
    DtaArea,
    EligibilityDecision,
    Parish,
    Postcode,
    Pupil,
    Route,
    RouteSchool,
    School,
    Term,
    TransportApplication,
    db,
)
from models.enums import DtaCategory, EstablishmentType, Outcome, Phase, Sessions

_seq = itertools.count(1)


def _add(obj: Any) -> Any:
    db.session.add(obj)
    db.session.flush()
    return obj


def academic_year(label: str = "2024/25", *, with_calendar: bool = True) -> AcademicYear:
    start = int(label[:4])
    year = AcademicYear(label=label, starts=date(start, 9, 1), ends=date(start + 1, 8, 31))
    if with_calendar and label == "2024/25":
        year.terms = [Term(name=n, starts=s, ends=e) for n, s, e in TERMS]
        year.closures = [Closure(day=d, reason=r) for d, r in CLOSURES]
    return _add(year)


def contribution_setting(label: str = "2024/25", **kw: Any) -> ContributionSetting:
    values: dict[str, Any] = {
        "academic_year": label,
        "post16_contribution": Decimal("456.00"),
        "concessionary_annual_charge": Decimal("456.00"),
    }
    values.update(kw)
    return _add(ContributionSetting(**values))


def school(**kw: Any) -> School:
    n = next(_seq)
    values: dict[str, Any] = {
        "urn": 100000 + n,
        "name": f"School {n}",
        "phase": Phase.SECONDARY,
        "establishment_type": EstablishmentType.ACADEMY,
        "statutory_low_age": 11,
        "statutory_high_age": 16,
        "postcode": "LN1 1AA",
        "easting": 497000,
        "northing": 371000,
    }
    values.update(kw)
    return _add(School(**values))


def parish(**kw: Any) -> Parish:
    n = next(_seq)
    values: dict[str, Any] = {"code": f"E0400{n:04d}", "name": f"Parish {n}"}
    values.update(kw)
    return _add(Parish(**values))


def postcode(code: str, parish_: Parish | None = None, **kw: Any) -> Postcode:
    return _add(Postcode(postcode=code, parish=parish_, **kw))


def dta(
    school_: School,
    category: DtaCategory = DtaCategory.SECONDARY_ALL_ABILITY,
    parishes: list[Parish] = (),
    postcodes: list[Postcode] = (),
) -> DesignatedTransportArea:  # type: ignore[assignment]
    area = DesignatedTransportArea(name=f"{school_.name} DTA", school=school_, category=category)
    area.areas = [DtaArea(parish=p) for p in parishes] + [DtaArea(postcode=p) for p in postcodes]
    return _add(area)


def route(schools: list[School] = (), **kw: Any) -> Route:  # type: ignore[assignment]
    n = next(_seq)
    values: dict[str, Any] = {
        "code": f"R{n:04d}",
        "operator": "Fenland Coaches",
        "vehicle_type": "coach",
        "seats": 49,
    }
    values.update(kw)
    r = Route(**values)
    r.schools = [RouteSchool(school=s) for s in schools]
    return _add(r)


def pupil(**kw: Any) -> Pupil:
    n = next(_seq)
    values: dict[str, Any] = {
        "reference": f"P{n:06d}",
        "first_name": "Alex",
        "last_name": f"Pupil{n}",
        "date_of_birth": date(2011, 5, 5),
        "address": f"{n} High Street",
        "postcode": "LN2 2BB",
        "easting": 500000,
        "northing": 375000,
    }
    values.update(kw)
    return _add(Pupil(**values))


def transport_application(pupil_: Pupil, school_: School, **kw: Any) -> TransportApplication:
    n = next(_seq)
    values: dict[str, Any] = {
        "reference": f"TRA{n:07d}",
        "pupil": pupil_,
        "school": school_,
        "academic_year": "2024/25",
        "received_on": date(2024, 6, 1),
    }
    values.update(kw)
    return _add(TransportApplication(**values))


def concessionary_application(
    pupil_: Pupil, school_: School, route_: Route, **kw: Any
) -> ConcessionaryApplication:
    n = next(_seq)
    values: dict[str, Any] = {
        "reference": f"CSA{n:07d}",
        "pupil": pupil_,
        "school": school_,
        "route": route_,
        "academic_year": "2024/25",
        "sessions": Sessions.BOTH,
        "received_on": date(2024, 6, 1),
    }
    values.update(kw)
    return _add(ConcessionaryApplication(**values))


def decision(application: TransportApplication, **kw: Any) -> EligibilityDecision:
    """A current decision on the application: eligible under A3 unless told otherwise."""
    values: dict[str, Any] = {
        "application_id": application.id,
        "outcome": Outcome.ELIGIBLE,
        "basis": "A3",
        "clauses": ["A3"],
        "reasons": [],
        "facts": {},
        "facts_hash": "x",
        "parameters_year": application.academic_year,
        "decided_at": datetime.now(UTC),
    }
    values.update(kw)
    return _add(EligibilityDecision(**values))


def pupil_on_the_only_seat(
    home: tuple[int, int], *, school_east: int, distance_m: int = 6100
) -> TransportApplication:
    """A Year 9 pupil at `home` applying to a secondary school `school_east` metres east as the
    crow flies, on a `distance_m` route, carried both ways on the only seat of a route."""
    school_ = school(
        phase=Phase.SECONDARY,
        establishment_type=EstablishmentType.COMMUNITY,
        easting=home[0] + school_east,
        northing=home[1],
    )
    route_ = route([school_], seats=1)
    return transport_application(
        pupil(easting=home[0], northing=home[1]),
        school_,
        distance_m=distance_m,
        route_id=route_.id,
        route_sessions=Sessions.BOTH,
    )
