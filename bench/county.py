"""A deterministic county at benchmark scale, inserted set-based (Core executemany, no ORM).

The ORM builders in tests/factories.py flush one object at a time, which is right for tests and
far too slow for 100,000 pupils; here every table is generated as plain rows from one seeded
random stream and inserted with one executemany per table, so the same seed always gives the
same county, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table

from demo.calendar_2024_25 import CLOSURES, TERMS
from models import (
    AcademicYear,
    Closure,
    ConcessionaryApplication,
    ContributionSetting,
    DesignatedTransportArea,
    DtaArea,
    LowIncomeEvidence,
    Parish,
    PolicyParameterSet,
    Postcode,
    Pupil,
    Route,
    RouteSchool,
    School,
    Term,
    TransportApplication,
    User,
    UserRole,
)
from models.enums import (
    ApplicationStatus,
    CareBy,
    ConcessionaryStatus,
    DistanceMethod,
    DtaCategory,
    EstablishmentType,
    MedicalWho,
    PaymentPlan,
    Phase,
    Placement,
    Role,
    Sessions,
)

YEAR = "2024/25"
YEAR_START = date(2024, 9, 1)
STAMP = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)  # fixed, so two builds are byte-identical
SUPERVISOR = "bench-supervisor"
PASSWORD = "bench password not secret"


@dataclass(frozen=True)
class CountySize:
    """How many of each record the county holds (issue 7 gives the full-scale figures)."""

    schools: int
    parishes: int
    routes: int
    pupils: int
    transport_applications: int
    concessionary_applications: int
    import_rows: int

    @property
    def postcodes(self) -> int:
        return self.parishes * 5


FULL = CountySize(
    schools=400,
    parishes=1_000,
    routes=600,
    pupils=100_000,
    transport_applications=25_000,
    concessionary_applications=5_000,
    import_rows=50_000,
)
SMALL = CountySize(
    schools=24,
    parishes=40,
    routes=16,
    pupils=1_200,
    transport_applications=300,
    concessionary_applications=80,
    import_rows=400,
)
SIZES = {"full": FULL, "small": SMALL}

FIRST_NAMES = (
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Isabella",
    "Rosie",
    "Sophia",
    "Grace",
    "Freya",
    "Willow",
    "Florence",
    "Noah",
    "Oliver",
    "George",
    "Arthur",
    "Muhammad",
    "Leo",
    "Harry",
    "Oscar",
    "Archie",
    "Henry",
    "Theodore",
    "Freddie",
    "Jack",
    "Charlie",
    "Theo",
    "Alfie",
    "Jacob",
    "Thomas",
    "Finley",
    "Arlo",
    "William",
    "Lucas",
    "Roman",
    "Tommy",
    "Isaac",
    "Teddy",
)
LAST_NAMES = (
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Patel",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
)
TOWNS = (
    "Lincoln",
    "Boston",
    "Grantham",
    "Spalding",
    "Stamford",
    "Gainsborough",
    "Louth",
    "Skegness",
    "Sleaford",
    "Horncastle",
    "Market Rasen",
    "Bourne",
    "Holbeach",
    "Mablethorpe",
    "Woodhall Spa",
)
OPERATORS = ("Fenland Coaches", "Wolds Travel", "Lindsey Buses", "Kesteven Minibus Co")


@dataclass
class County:
    """Ids and a few facts the benchmark needs after the build (no ORM objects)."""

    size: CountySize
    supervisor: str
    counts: dict[str, int]


def _rows(table: Table, rows: Sequence[dict[str, Any]], conn: Connection) -> None:
    if rows:
        conn.execute(table.insert(), list(rows))


def _stamped(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        row.setdefault("created_at", STAMP)
        row.setdefault("updated_at", STAMP)
        out.append(row)
    return out


def _postcode(rng: random.Random, used: set[str]) -> str:
    """A canonical spaced UK-style postcode, unique within the county."""
    while True:
        area = rng.choice(("LN", "PE", "NG", "DN"))
        code = (
            f"{area}{rng.randint(1, 35)} {rng.randint(0, 9)}"
            f"{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}"
        )
        if code not in used:
            used.add(code)
            return code


def _phase_mix(rng: random.Random, n: int) -> list[tuple[Phase, EstablishmentType, int, int]]:
    """Roughly a shire county: mostly primaries, a secondary per six, a few special and FE."""
    mix: list[tuple[Phase, EstablishmentType, int, int]] = []
    for i in range(n):
        r = (i * 7919) % 100  # deterministic spread so even a small county has every kind
        if r < 66:
            est = rng.choice((EstablishmentType.COMMUNITY, EstablishmentType.ACADEMY))
            mix.append((Phase.PRIMARY, est, 4, 11))
        elif r < 88:
            mix.append((Phase.SECONDARY, EstablishmentType.ACADEMY, 11, 18))
        elif r < 92:
            mix.append((Phase.SPECIAL, EstablishmentType.SPECIAL, 4, 19))
        elif r < 97:
            mix.append((Phase.FE_COLLEGE, EstablishmentType.FE_COLLEGE, 16, 99))
        else:
            mix.append((Phase.SECONDARY, EstablishmentType.INDEPENDENT, 11, 18))
    return mix


def _policy_row() -> dict[str, Any]:
    """This year's figures, from the rules' dated defaults, for the columns the table has."""
    from rules.parameters import parameters_for

    params = parameters_for(YEAR)
    columns = {c.name for c in PolicyParameterSet.__table__.columns}
    row = {name: getattr(params, name) for name in params.field_names() if name in columns}
    row["academic_year"] = YEAR
    return row


def build(conn: Connection, size: CountySize, seed: int = 7) -> County:
    """Insert the whole county into an empty, migrated database in one transaction."""
    from auth.passwords import hash_password

    rng = random.Random(seed)
    counts: dict[str, int] = {}

    # The year, its calendar (Appendix H) and this year's settings.
    _rows(
        AcademicYear.__table__,
        _stamped([{"id": 1, "label": YEAR, "starts": YEAR_START, "ends": date(2025, 8, 31)}]),
        conn,
    )
    _rows(
        Term.__table__,
        [{"academic_year_id": 1, "name": n, "starts": s, "ends": e} for n, s, e in TERMS],
        conn,
    )
    _rows(
        Closure.__table__,
        [{"academic_year_id": 1, "day": d, "reason": r} for d, r in CLOSURES],
        conn,
    )
    _rows(PolicyParameterSet.__table__, _stamped([_policy_row()]), conn)
    _rows(
        ContributionSetting.__table__,
        _stamped(
            [
                {
                    "academic_year": YEAR,
                    "post16_contribution": Decimal("456.00"),
                    "concessionary_annual_charge": Decimal("456.00"),
                }
            ]
        ),
        conn,
    )
    _rows(
        User.__table__,
        _stamped(
            [
                {
                    "id": 1,
                    "username": SUPERVISOR,
                    "full_name": "Benchmark Supervisor",
                    "password_hash": hash_password(PASSWORD),
                    "active": True,
                    "failed_logins": 0,
                }
            ]
        ),
        conn,
    )
    _rows(UserRole.__table__, [{"user_id": 1, "role": Role.SUPERVISOR}], conn)

    # Parishes and their postcodes (A14: DTAs are drawn from them).
    parishes = [
        {
            "id": i,
            "code": f"E04{i:06d}",
            "name": f"{rng.choice(TOWNS)} Parish {i}",
            "district": rng.choice(TOWNS),
            "in_county": i % 40 != 0,
        }
        for i in range(1, size.parishes + 1)
    ]
    _rows(Parish.__table__, _stamped(parishes), conn)
    used: set[str] = set()
    postcodes = []
    for i in range(1, size.postcodes + 1):
        postcodes.append(
            {
                "id": i,
                "postcode": _postcode(rng, used),
                "parish_id": (i - 1) % size.parishes + 1,
                "easting": rng.randint(480_000, 540_000),
                "northing": rng.randint(330_000, 400_000),
            }
        )
    _rows(Postcode.__table__, _stamped(postcodes), conn)

    # Schools, spread over the county.
    schools = []
    by_phase: dict[Phase, list[int]] = {}
    independent: set[int] = set()
    for i, (phase, est, low, high) in enumerate(_phase_mix(rng, size.schools), start=1):
        schools.append(
            {
                "id": i,
                "urn": 100_000 + i,
                "name": f"{rng.choice(TOWNS)} {phase.value.replace('_', ' ').title()} {i}",
                "phase": phase,
                "establishment_type": est,
                "selective": phase is Phase.SECONDARY and i % 9 == 0,
                "statutory_low_age": low,
                "statutory_high_age": high,
                "town": rng.choice(TOWNS),
                "postcode": postcodes[i % len(postcodes)]["postcode"],
                "easting": rng.randint(480_000, 540_000),
                "northing": rng.randint(330_000, 400_000),
                "follows_council_term_dates": True,
                "is_open": True,
            }
        )
        by_phase.setdefault(phase, []).append(i)
        if est is EstablishmentType.INDEPENDENT:
            independent.add(i)
    _rows(School.__table__, _stamped(schools), conn)
    primaries = by_phase.get(Phase.PRIMARY, [])
    secondaries = [s for s in by_phase.get(Phase.SECONDARY, []) if s not in independent]
    colleges = by_phase.get(Phase.FE_COLLEGE, []) or secondaries
    specials = by_phase.get(Phase.SPECIAL, []) or secondaries

    # DTAs (Appendix G): every in-county parish in one secondary DTA and one primary DTA.
    dtas, areas = [], []
    dta_id = 0
    for category, owners in (
        (DtaCategory.SECONDARY_ALL_ABILITY, secondaries),
        (DtaCategory.PRIMARY, primaries),
    ):
        first = dta_id + 1
        for school_id in owners:
            dta_id += 1
            dtas.append(
                {
                    "id": dta_id,
                    "name": f"DTA {category.value} {school_id}",
                    "school_id": school_id,
                    "category": category,
                }
            )
        if owners:
            for parish in parishes:
                if parish["in_county"]:
                    areas.append(
                        {
                            "dta_id": first + (parish["id"] * 31) % len(owners),
                            "parish_id": parish["id"],
                        }
                    )
    _rows(DesignatedTransportArea.__table__, _stamped(dtas), conn)
    _rows(DtaArea.__table__, areas, conn)

    # Routes and the schools each serves (A2b; Appendix F for the spare-seat flags).
    routes, route_schools = [], []
    route_school_ids: dict[int, list[int]] = {}
    served_by_route = secondaries + primaries
    for i in range(1, size.routes + 1):
        runs_am = i % 17 != 0
        runs_pm = i % 19 != 0 or not runs_am
        routes.append(
            {
                "id": i,
                "code": f"R{i:04d}",
                "operator": OPERATORS[i % len(OPERATORS)],
                "vehicle_type": rng.choice(("coach", "minibus", "taxi", "double decker")),
                "seats": rng.choice((8, 16, 33, 49, 53, 70)),
                "runs_am": runs_am,
                "runs_pm": runs_pm,
                "fare_paying_alternative": i % 23 == 0,
                "additional_cost": i % 37 == 0,
                "daily_cost": Decimal(rng.randint(9_000, 60_000)) / 100,
                "active": True,
            }
        )
        chosen = sorted(set(rng.sample(served_by_route, k=min(len(served_by_route), 2))))
        route_school_ids[i] = chosen
        route_schools.extend({"route_id": i, "school_id": s} for s in chosen)
    _rows(Route.__table__, _stamped(routes), conn)
    _rows(RouteSchool.__table__, route_schools, conn)

    # Pupils aged 4 to 18 on 31 August 2024, with the facts the rules look at.
    pupils = []
    for i in range(1, size.pupils + 1):
        pc = postcodes[rng.randrange(len(postcodes))]
        age = rng.randint(4, 18)
        dob = date(2024 - age, 1, 1) + timedelta(days=rng.randint(0, 364))
        care = rng.random()
        care_by = care_placement = None
        if care < 0.01:
            care_by = CareBy.COUNCIL if care < 0.007 else CareBy.OTHER_LA
            care_placement = Placement.PERMANENT if i % 3 else Placement.TEMPORARY
        pupils.append(
            {
                "id": i,
                "reference": f"P{i:07d}",
                "first_name": rng.choice(FIRST_NAMES),
                "last_name": rng.choice(LAST_NAMES),
                "date_of_birth": dob,
                "year_group_override": None,
                "address": f"{rng.randint(1, 240)} {rng.choice(LAST_NAMES)} Road",
                "town": rng.choice(TOWNS),
                "postcode": pc["postcode"],
                "parish_id": pc["parish_id"],
                "easting": pc["easting"],
                "northing": pc["northing"],
                "lives_in_county": rng.random() > 0.03,
                "send": rng.random() < 0.08,
                "ehcp": rng.random() < 0.03,
                "care_by": care_by,
                "care_placement": care_placement,
                "care_home_la": "Rutland" if care_by is CareBy.OTHER_LA else None,
            }
        )
    _rows(Pupil.__table__, _stamped(pupils), conn)
    _rows(
        LowIncomeEvidence.__table__,
        _stamped(
            {
                "pupil_id": p["id"],
                "academic_year": YEAR,
                "evidence": "free school meals",
                "verified_on": date(2024, 7, 1),
            }
            for p in pupils
            if p["id"] % 10 == 3
        ),
        conn,
    )

    # Transport applications for 2024/25, one per pupil, to a school fitting the pupil's age.
    applications = []
    chosen_pupils = rng.sample(range(1, size.pupils + 1), k=size.transport_applications)
    for n, pupil_id in enumerate(chosen_pupils, start=1):
        pupil = pupils[pupil_id - 1]
        dob = pupil["date_of_birth"]
        age = 2024 - dob.year - (1 if (dob.month, dob.day) > (8, 31) else 0)
        if pupil["ehcp"] and n % 2:
            school_id = rng.choice(specials)
        elif age <= 10:
            school_id = rng.choice(primaries or secondaries)
        elif age <= 15:
            school_id = rng.choice(secondaries + list(independent))
        else:
            school_id = rng.choice(colleges + secondaries)
        distance = None if rng.random() < 0.04 else rng.randint(400, 30_000)
        medical = rng.random()
        medical_who = None
        medical_accepted = None
        if medical < 0.02:
            medical_who = MedicalWho.CHILD if medical < 0.015 else MedicalWho.PARENT
            medical_accepted = (True, False, None)[n % 3]
        exceptional = rng.random() < 0.01
        post16 = age >= 16  # Year 12 and above in 2024/25: the rules need the course (A7)
        applications.append(
            {
                "id": n,
                "reference": f"TRA{n:07d}",
                "pupil_id": pupil_id,
                "academic_year": YEAR,
                "school_id": school_id,
                "received_on": date(2024, 3, 1) + timedelta(days=rng.randint(0, 200)),
                "status": ApplicationStatus.RECEIVED,
                "distance_m": distance,
                "distance_method": None
                if distance is None
                else (
                    DistanceMethod.WALKING_ROUTE
                    if distance < 4_827
                    else DistanceMethod.DRIVING_ROUTE
                ),
                "distance_measured_on": None if distance is None else date(2024, 6, 1),
                "route_unsuitable": rng.random() < 0.03,
                "religion_or_belief": rng.random() < 0.02,
                "exceptional_transport_need": bool(pupil["ehcp"] and rng.random() < 0.3),
                "medical_who": medical_who,
                "medical_accepted": medical_accepted,
                "medical_until": date(2025, 2, 28) if medical_accepted and n % 2 else None,
                "exceptional_circumstances": exceptional,
                "exceptional_accepted": (True if n % 2 else None) if exceptional else None,
                "purchase_order": f"PO-{n}"
                if pupil["care_by"] is CareBy.OTHER_LA and n % 2
                else None,
                "full_time_hours": Decimal(rng.choice(("16.00", "12.00", "18.50", "22.00")))
                if post16
                else None,
                "higher_education": post16 and rng.random() < 0.02,
                "apprenticeship": post16 and rng.random() < 0.02,
                "repeat_or_non_progression": post16 and rng.random() < 0.03,
                "programme_started_before_19": True,
                "post19_need_determined": False,
            }
        )
    _rows(TransportApplication.__table__, _stamped(applications), conn)

    # Pending concessionary applications (A9, Appendix F), spread over every route.
    concessionary = []
    seen: set[tuple[int, int]] = set()
    n = 0
    while n < size.concessionary_applications:
        route_id = n % size.routes + 1 if n < size.routes else rng.randint(1, size.routes)
        pupil_id = rng.randint(1, size.pupils)
        if (pupil_id, route_id) in seen:
            continue
        seen.add((pupil_id, route_id))
        n += 1
        concessionary.append(
            {
                "id": n,
                "reference": f"CSA{n:07d}",
                "pupil_id": pupil_id,
                "academic_year": YEAR,
                "school_id": rng.choice(route_school_ids[route_id]),
                "route_id": route_id,
                "sessions": (Sessions.BOTH, Sessions.BOTH, Sessions.AM, Sessions.PM)[n % 4],
                "received_on": date(2024, 4, 1) + timedelta(days=rng.randint(0, 150)),
                "payment_plan": (PaymentPlan.FULL, PaymentPlan.THREE, PaymentPlan.SIX)[n % 3],
                "status": ConcessionaryStatus.PENDING,
                "waitlist_position": None,
                "refusal_reason": None,
            }
        )
    _rows(ConcessionaryApplication.__table__, _stamped(concessionary), conn)

    counts.update(
        schools=len(schools),
        parishes=len(parishes),
        postcodes=len(postcodes),
        dtas=len(dtas),
        routes=len(routes),
        pupils=len(pupils),
        transport_applications=len(applications),
        concessionary_applications=len(concessionary),
    )
    return County(size=size, supervisor=SUPERVISOR, counts=counts)


def reset_sequences(conn: Connection) -> None:
    """PostgreSQL: explicit ids leave the serial sequences at 1; move them past the data."""
    if conn.dialect.name != "postgresql":
        return
    from models import Base

    for table in Base.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and pk[0].name == "id" and pk[0].autoincrement in (True, "auto"):
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'
            )
