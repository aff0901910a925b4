"""A realistic, deterministic demo county, inserted set-based into an empty database.

Staff learn the panel on data that looks like their own: a few hundred schools of every phase
and type placed on the British National Grid inside a Lincolnshire-sized box, parishes and
postcodes, Designated Transport Areas drawn around the nearest school of each category (A14,
Appendix G), routes with vehicles of every size, several thousand pupils and applications.

Issue 15: the county is built for the academic year containing today (`services.years.today`,
so a newcomer's journeys work on the day they run it), with the year before as history: its
applications assessed, its concessionary seats allocated with their contributions, instalments
and payments, and lapsed at its end (Appendix F), all through the same services staff use. The
next year has its calendar too, for imports and copying settings forward. Every year's calendar
has 190 operational days (Appendix H; demo/calendar.py).

Everything comes from one seeded `random.Random`, so the same seed and year always give the
same county (on SQLite and PostgreSQL alike); the benchmark fixes its year (bench/run.py). Each
table is one `session.execute(insert(Model), rows)`: no query per row, so even the benchmark
size loads in seconds.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import os
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, inspect, select, text

from demo.calendar import england_calendar
from models import (
    AcademicYear,
    Base,
    Closure,
    ConcessionaryApplication,
    Contribution,
    ContributionSetting,
    DesignatedTransportArea,
    DtaArea,
    Instalment,
    LowIncomeEvidence,
    Parish,
    Payment,
    PolicyParameterSet,
    Postcode,
    Pupil,
    RetentionSetting,
    Route,
    RouteSchool,
    School,
    Term,
    TransportApplication,
    User,
    UserRole,
    db,
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
    SixthForm,
)
from rules.academic_year import academic_year_of, label_for
from rules.errors import RulesError
from rules.parameters import parameters_for
from services.years import DecisionTargets

# The county box on the British National Grid (metres): roughly Lincolnshire.
EAST_MIN, EAST_MAX = 480_000, 560_000
NORTH_MIN, NORTH_MAX = 300_000, 420_000
LA_CODE = 925  # the DfE number of the demo council
# Contribution settings for every demo year (A7, A9, Appendix F). Settings, not rules: supervisors
# change them on the Contribution settings screen.
POST16_CONTRIBUTION = Decimal("456.00")
CONCESSIONARY_CHARGE = Decimal("456.00")


class DemoRefused(Exception):
    """The database is not one the demo may be loaded into; the message says why."""


@dataclass(frozen=True)
class CountySize:
    """How many of each record to build; the named sizes below cover tests, demo and bench."""

    schools: int
    parishes: int
    routes: int
    pupils: int
    transport_applications: int
    concessionary_applications: int


SIZES: dict[str, CountySize] = {
    # Small enough for a test fixture, yet every phase, type and DTA category is present.
    "small": CountySize(
        schools=40,
        parishes=40,
        routes=12,
        pupils=400,
        transport_applications=200,
        concessionary_applications=60,
    ),
    "demo": CountySize(
        schools=300,
        parishes=500,
        routes=150,
        pupils=6_000,
        transport_applications=4_000,
        concessionary_applications=1_000,
    ),
    # Issue 7's benchmark figures.
    "bench": CountySize(
        schools=400,
        parishes=1_000,
        routes=600,
        pupils=100_000,
        transport_applications=25_000,
        concessionary_applications=5_000,
    ),
}

# (phase, establishment type, low age, high age, selective, name suffix). The first pass
# takes each once, so even the small county has every kind; later schools follow WEIGHTS.
KINDS: list[tuple[Phase, EstablishmentType, int | None, int | None, bool, str]] = [
    (Phase.PRIMARY, EstablishmentType.COMMUNITY, 4, 11, False, "Primary School"),
    (Phase.PRIMARY, EstablishmentType.VOLUNTARY_CONTROLLED, 4, 11, False, "CE Primary School"),
    (Phase.PRIMARY, EstablishmentType.VOLUNTARY_AIDED, 4, 11, False, "Catholic Primary School"),
    (Phase.PRIMARY, EstablishmentType.ACADEMY, 4, 11, False, "Primary Academy"),
    (Phase.PRIMARY, EstablishmentType.FOUNDATION, 4, 11, False, "Community Primary School"),
    (Phase.PRIMARY, EstablishmentType.FREE_SCHOOL, 4, 11, False, "Free School"),
    (Phase.NURSERY, EstablishmentType.NURSERY, 2, 5, False, "Nursery School"),
    (Phase.SECONDARY, EstablishmentType.ACADEMY, 11, 18, False, "Academy"),
    (Phase.SECONDARY, EstablishmentType.COMMUNITY, 11, 16, False, "High School"),
    (Phase.SECONDARY, EstablishmentType.FOUNDATION, 11, 18, False, "School"),
    (Phase.SECONDARY, EstablishmentType.VOLUNTARY_AIDED, 11, 16, False, "Catholic High School"),
    (Phase.SECONDARY, EstablishmentType.FREE_SCHOOL, 11, 16, False, "Free School"),
    (Phase.SECONDARY, EstablishmentType.ACADEMY, 11, 18, True, "Grammar School"),
    (Phase.SECONDARY, EstablishmentType.INDEPENDENT, 4, 18, False, "Independent School"),
    (Phase.ALL_THROUGH, EstablishmentType.ACADEMY, 4, 18, False, "All-through Academy"),
    (Phase.SPECIAL, EstablishmentType.SPECIAL, 2, 19, False, "Special School"),
    (Phase.SIXTH_FORM, EstablishmentType.ACADEMY, 16, 19, False, "Sixth Form"),
    (Phase.FE_COLLEGE, EstablishmentType.FE_COLLEGE, 16, None, False, "College"),
    (
        Phase.ALTERNATIVE_PROVISION,
        EstablishmentType.ALTERNATIVE_PROVISION,
        11,
        16,
        False,
        "Pupil Referral Unit",
    ),
    (Phase.PRIMARY, EstablishmentType.OTHER, 4, 11, False, "Primary School"),
]
# Relative frequency of each KINDS entry in a shire county: mostly small primaries.
WEIGHTS = [30, 10, 4, 22, 3, 1, 1, 6, 3, 1, 1, 1, 2, 1, 1, 2, 1, 1, 1, 0]

TOWNS = [
    ("Lincoln", "LN1"), ("Lincoln", "LN2"), ("Lincoln", "LN6"), ("Boston", "PE21"),
    ("Grantham", "NG31"), ("Spalding", "PE11"), ("Stamford", "PE9"), ("Gainsborough", "DN21"),
    ("Louth", "LN11"), ("Skegness", "PE25"), ("Sleaford", "NG34"), ("Horncastle", "LN9"),
    ("Market Rasen", "LN8"), ("Bourne", "PE10"), ("Holbeach", "PE12"), ("Mablethorpe", "LN12"),
    ("Woodhall Spa", "LN10"), ("Alford", "LN13"), ("Spilsby", "PE23"), ("Caistor", "LN7"),
]  # fmt: skip
DISTRICTS = [
    "City of Lincoln", "North Kesteven", "South Kesteven", "South Holland", "Boston",
    "East Lindsey", "West Lindsey",
]  # fmt: skip
PREFIXES = [
    "Ash",
    "Bar",
    "Bil",
    "Brace",
    "Bur",
    "Cal",
    "Can",
    "Cher",
    "Cold",
    "Dun",
    "Eag",
    "Fis",
    "Ful",
    "Gate",
    "Glen",
    "Hab",
    "Hem",
    "Hol",
    "Ing",
    "Kel",
    "Kirk",
    "Lang",
    "Lea",
    "Mar",
    "Mel",
    "Nav",
    "Net",
    "Nor",
    "Os",
    "Ran",
    "Rip",
    "Sax",
    "Scam",
    "Scot",
    "Sud",
    "Swin",
    "Thur",
    "Tor",
    "Wad",
    "Wel",
    "Wil",
    "Wit",
    "Wragg",
    "Ald",
    "Bel",
    "Brat",
    "Carl",
    "Dod",
    "Faul",
    "Grim",
]
SUFFIXES = [
    "by",
    "thorpe",
    "ham",
    "ton",
    "ingham",
    "worth",
    "well",
    "field",
    "stow",
    "burgh",
    "holme",
    "wick",
    "ford",
    "ley",
    "don",
    "ness",
]
FIRST_NAMES = [
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
    "Evie",
    "Poppy",
    "Ella",
    "Harper",
    "Sienna",
    "Daisy",
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
    "Reuben",
    "Albie",
    "Ezra",
    "Hugo",
    "Zara",
    "Maya",
    "Aisha",
    "Kacper",
    "Zofia",
    "Jakub",
    "Lena",
]
LAST_NAMES = [
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
    "Allen",
    "James",
    "Scott",
    "Phillips",
    "Watson",
    "Davis",
    "Parker",
    "Price",
    "Bennett",
    "Young",
    "Griffiths",
    "Mitchell",
    "Kelly",
    "Cook",
    "Carter",
    "Richardson",
    "Bailey",
    "Collins",
    "Bell",
    "Shaw",
    "Murphy",
    "Miller",
    "Cox",
    "Richards",
    "Khan",
    "Marshall",
    "Anderson",
    "Simpson",
    "Ellis",
    "Adams",
    "Singh",
    "Begum",
    "Wilkinson",
    "Foster",
    "Chapman",
    "Powell",
    "Webb",
    "Kowalski",
    "Nowak",
    "Dawson",
    "Fox",
    "Lincoln",
    "Skinner",
    "Wells",
    "Holmes",
    "Mason",
    "Dixon",
    "Fenwick",
    "Tennyson",
]
STREETS = [
    "Church Lane",
    "High Street",
    "Main Street",
    "Station Road",
    "Mill Lane",
    "School Lane",
    "The Green",
    "Manor Road",
    "Chapel Street",
    "North Road",
    "Fen Lane",
    "Back Lane",
    "Westgate",
    "Eastgate",
    "Ings Lane",
    "Low Road",
]
SAINTS = [
    "St Peter's",
    "St Mary's",
    "St Andrew's",
    "All Saints",
    "St Michael's",
    "St Hugh's",
    "St Botolph's",
]
# (vehicle type, seats, daily cost range in pounds): seats vary so spare seats vary (A9).
VEHICLES = [
    ("taxi", 4, (55, 110)),
    ("taxi (MPV)", 7, (70, 130)),
    ("minibus", 16, (140, 210)),
    ("midi coach", 33, (190, 260)),
    ("coach", 49, (220, 320)),
    ("coach", 53, (230, 330)),
    ("coach", 57, (240, 340)),
    ("double-deck bus", 72, (280, 380)),
]
VEHICLE_WEIGHTS = [8, 6, 14, 12, 22, 18, 8, 6]
OPERATORS = [
    "Fenland Coaches", "Wolds Travel", "Lindsey Buses", "Kesteven Minibus Co",
    "Holland Taxis", "Witham Valley Coaches", "Brylaine Travel", "Marshland Transport",
]  # fmt: skip
# Royal Mail never uses C, I, K, M, O or V in the inward code.
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
EVIDENCE = ["Free school meals", "Universal Credit", "Maximum Working Tax Credit"]
OTHER_COUNCILS = ["Nottinghamshire", "Rutland", "North Lincolnshire", "Norfolk", "Leicestershire"]
DEMO_USERS = [
    ("supervisor", "Sam Supervisor", Role.SUPERVISOR),
    ("officer", "Olu Officer", Role.OFFICER),
    ("assistant", "Ash Assistant", Role.ASSISTANT),
]


def _grid(rng: random.Random, margin: int = 3_000) -> tuple[int, int]:
    return (
        rng.randint(EAST_MIN + margin, EAST_MAX - margin),
        rng.randint(NORTH_MIN + margin, NORTH_MAX - margin),
    )


def _near(rng: random.Random, east: int, north: int, spread: int) -> tuple[int, int]:
    """A point within `spread` metres of another, clamped into the county box."""
    return (
        min(max(east + rng.randint(-spread, spread), EAST_MIN), EAST_MAX),
        min(max(north + rng.randint(-spread, spread), NORTH_MIN), NORTH_MAX),
    )


def _sixth_form(phase: Phase, high: int | None) -> SixthForm:
    """OfficialSixthForm as GIAS would give it (A7b): "Not applicable" for primaries and for
    colleges (post-16 provision by their phase); other schools teaching past 16 have one."""
    if phase in (Phase.NURSERY, Phase.PRIMARY, Phase.SIXTH_FORM, Phase.FE_COLLEGE):
        return SixthForm.NOT_APPLICABLE
    if high is None:
        return SixthForm.NOT_RECORDED
    return SixthForm.HAS if high > 16 else SixthForm.DOES_NOT_HAVE


def _metres(a: tuple[int, int], b: tuple[int, int]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _born_in_year_group(rng: random.Random, group: int, start_year: int) -> date:
    """RULES.md: year group = age on 31 August before the year starts, minus 4; 0 is Reception."""
    first = date(start_year - 5 - group, 9, 1)
    last = date(start_year - 4 - group, 8, 31)
    return first + timedelta(days=rng.randint(0, (last - first).days))


def _password() -> tuple[str, bool]:
    """DEMO_PASSWORD when set, else a fresh random one; never a password kept in the repo."""
    given = os.environ.get("DEMO_PASSWORD")
    if given:
        return given, False
    return secrets.token_urlsafe(12), True


def _refusal() -> str | None:
    """Why the demo may not be loaded here, or None for an empty, migrated database."""
    tables = set(inspect(db.engine).get_table_names())
    missing = [t.name for t in Base.metadata.sorted_tables if t.name not in tables]
    if missing:
        return (
            "the database has no schema yet (missing tables such as "
            f"{missing[0]!r}); run `alembic upgrade head` first"
        )
    held = []
    for model, label in (
        (School, "schools"),
        (Parish, "parishes"),
        (Pupil, "pupils"),
        (AcademicYear, "academic years"),
    ):
        count = db.session.scalar(select(func.count()).select_from(model))
        if count:
            held.append(f"{count} {label}")
    taken = db.session.scalars(
        select(User.username).where(User.username.in_([u for u, _, _ in DEMO_USERS]))
    ).all()
    if taken:
        held.append("the user(s) " + ", ".join(sorted(taken)))
    if held:
        return (
            "the database already holds data (" + "; ".join(held) + "), so the demo county "
            "was not loaded again; nothing was changed"
        )
    return None


def build_county(
    seed: int = 2024,
    size: str | CountySize = "demo",
    password: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Load the demo county into an empty, migrated database.

    `today` (default `services.years.today()`) picks the current academic year; the year before
    is history. The county's records are one transaction; the history's casework (assessment,
    allocation, payments, year end) is then done through the services, each its own transaction
    as when staff do it. Should that fail, everything loaded is removed again, so a failed load
    never leaves a half county (and the command may simply be run again).

    Returns a summary (counts, and the demo accounts' password when it was generated or given)
    for the command to print. Raises DemoRefused, changing nothing, when the database already
    holds data, so running it twice never duplicates anything.
    """
    from services import years

    counts = SIZES[size] if isinstance(size, str) else size
    reason = _refusal()
    if reason:
        db.session.rollback()
        raise DemoRefused(reason)
    generated = False
    if password is None:
        password, generated = _password()
    start_year = academic_year_of(today or years.today()).start_year
    builder = _Builder(random.Random(seed), counts, start_year)
    try:
        summary = builder.build(password)
        _reset_sequences()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    try:
        summary.update(builder.history_casework())
    except Exception:
        db.session.rollback()
        _empty_everything()
        raise
    summary["login"] = "supervisor / officer / assistant"
    summary["password"] = password
    summary["password_source"] = "generated" if generated else "given"
    return summary


def _reset_sequences() -> None:
    """PostgreSQL: explicit ids leave each serial sequence behind; move it past the data."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in Base.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and pk[0].name == "id":
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'
                )
            )


def _empty_everything() -> None:
    """Undo a load whose history casework failed: every table emptied, children first. The
    audit trail is append-only (the app's role may not delete from it) and keeps its record of
    what was done and undone."""
    for table in reversed(Base.metadata.sorted_tables):
        if table.name != "audit_log":
            db.session.execute(table.delete())
    db.session.commit()


def _put(model: type, rows: Sequence[dict[str, Any]]) -> None:
    """One set-based INSERT for a whole table.

    render_nulls keeps None values in each row, so rows with and without a value share one
    executemany batch instead of splitting into a statement per pattern of NULLs.
    """
    if rows:
        db.session.execute(insert(model).execution_options(render_nulls=True), list(rows))


class _Builder:
    """Generates each table's rows from the one random stream, in dependency order."""

    def __init__(self, rng: random.Random, size: CountySize, start_year: int) -> None:
        self.rng = rng
        self.size = size
        self.start_year = start_year
        self.year = label_for(start_year)
        self.next_year = label_for(start_year + 1)
        # No history before the policy's first year (2024/25): there are no figures to decide
        # it by, so a county built in 2024/25 (the benchmark's) starts with that year.
        self.history: str | None = label_for(start_year - 1)
        try:
            parameters_for(self.history)
        except RulesError:
            self.history = None
        self.first_start = start_year - (self.history is not None)
        self.settings_years = [y for y in (self.history, self.year) if y is not None]

    def day(self, year: int, month: int, day: int, offset: int = 0) -> date:
        """A date written for the 2024/25 county, moved to the year being built (`offset` -1
        for the history year): the demo's casework keeps its shape whatever today is."""
        return date(year + self.start_year - 2024 + offset, month, day)

    # --- reference data -----------------------------------------------------------------

    def build(self, password: str) -> dict[str, Any]:
        self.calendar_and_settings()
        self.users(password)
        self.parishes_and_postcodes()
        self.schools()
        self.dtas()
        self.routes()
        self.pupils()
        self.transport_applications()
        self.concessionary_applications()
        self.history_applications()
        self.history_concessionary_applications()
        return dict(self.summary)

    @property
    def summary(self) -> dict[str, Any]:
        return {
            "academic years": (
                (f"{self.history} (history), " if self.history else "")
                + f"{self.year} (current), {self.next_year} (next); 190 operational days each"
            ),
            "schools": len(self.school_rows),
            "parishes": len(self.parish_rows),
            "postcodes": len(self.postcode_rows),
            "DTAs": len(self.dta_rows),
            "DTA areas": self.area_count,
            "routes": len(self.route_rows),
            "pupils": len(self.pupil_rows),
            "low-income evidence": self.low_income_count,
            "transport applications": self.application_count,
            "concessionary applications": self.concessionary_count,
        } | (
            {
                f"{self.history} transport applications": self.history_application_count,
                f"{self.history} concessionary applications": self.history_concessionary_count,
            }
            if self.history
            else {}
        )

    def calendar_and_settings(self) -> None:
        years: list[dict[str, Any]] = []
        terms: list[dict[str, Any]] = []
        closures: list[dict[str, Any]] = []
        for year_id, start in enumerate(range(self.first_start, self.start_year + 2), 1):
            years.append(
                {
                    "id": year_id,
                    "label": label_for(start),
                    "starts": date(start, 9, 1),
                    "ends": date(start + 1, 8, 31),
                }
            )
            year_terms, year_closures = england_calendar(start)
            for name, first, last in year_terms:
                terms.append(
                    {
                        "id": len(terms) + 1,
                        "academic_year_id": year_id,
                        "name": name,
                        "starts": first,
                        "ends": last,
                    }
                )
            for day, reason in year_closures:
                closures.append(
                    {"id": len(closures) + 1, "academic_year_id": year_id, "day": day,
                     "reason": reason}
                )  # fmt: skip
        _put(AcademicYear, years)
        _put(Term, terms)
        _put(Closure, closures)
        # The history and the current year have their settings; next year's are for a
        # supervisor to copy forward (Settings), as each spring.
        _put(
            ContributionSetting,
            [
                {
                    "id": i,
                    "academic_year": label,
                    "post16_contribution": POST16_CONTRIBUTION,
                    "concessionary_annual_charge": CONCESSIONARY_CHARGE,
                    "offers_full": True,
                    "offers_three": True,
                    "offers_six": True,
                }
                for i, label in enumerate(self.settings_years, start=1)
            ],
        )
        # The rules' dated figures for each year, field for field (only the columns the table
        # has, should the two ever differ while a migration is pending).
        columns = {c.name for c in PolicyParameterSet.__table__.columns}
        rows = []
        for i, label in enumerate(self.settings_years, start=1):
            values = dataclasses.asdict(parameters_for(label))
            rows.append({"id": i, **{k: v for k, v in values.items() if k in columns}})
        _put(PolicyParameterSet, rows)
        # The retention period in force from the first year: the dated default
        # (services/retention).
        from services.retention import period_for

        first_label = self.settings_years[0]
        period = period_for(db.session, first_label)
        _put(
            RetentionSetting,
            [
                {
                    "id": 1,
                    "academic_year": first_label,
                    "keep_years": period.keep_years,
                    "legal_basis": period.legal_basis,
                }
            ],
        )

    def users(self, password: str) -> None:
        from auth.passwords import hash_password

        hashed = hash_password(password)
        _put(
            User,
            [
                {
                    "id": i,
                    "username": username,
                    "full_name": name,
                    "email": f"{username}@demo.invalid",
                    "password_hash": hashed,
                    "active": True,
                    "failed_logins": 0,
                }
                for i, (username, name, _) in enumerate(DEMO_USERS, start=1)
            ],
        )
        _put(
            UserRole,
            [{"user_id": i, "role": role} for i, (_, _, role) in enumerate(DEMO_USERS, start=1)],
        )

    def parishes_and_postcodes(self) -> None:
        rng = self.rng
        names = [p + s for p in PREFIXES for s in SUFFIXES]
        rng.shuffle(names)
        self.parish_rows: list[dict[str, Any]] = []
        self.parish_at: dict[int, tuple[int, int]] = {}
        self.parish_postcodes: dict[int, list[dict[str, Any]]] = {}
        self.postcode_rows: list[dict[str, Any]] = []
        used: set[str] = set()
        for i in range(1, self.size.parishes + 1):
            base = names[(i - 1) % len(names)]
            name = base if i <= len(names) else f"{base} {(i - 1) // len(names) + 1}"
            # About one parish in twenty-five lies over the county boundary (A2: not resident).
            in_county = i % 25 != 7
            at = _grid(rng)
            self.parish_at[i] = at
            self.parish_rows.append(
                {
                    "id": i,
                    "code": f"E04{5000 + i:06d}",
                    "name": name,
                    "district": rng.choice(DISTRICTS) if in_county else "Outside the county",
                    "in_county": in_county,
                }
            )
            town_prefix = TOWNS[(at[0] - EAST_MIN) * len(TOWNS) // (EAST_MAX - EAST_MIN + 1)][1]
            codes = []
            for _ in range(rng.randint(3, 7)):
                while True:
                    code = (
                        f"{town_prefix} {rng.randint(1, 9)}"
                        f"{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
                    )
                    if code not in used:
                        used.add(code)
                        break
                east, north = _near(rng, *at, spread=1_500)
                row = {
                    "id": len(self.postcode_rows) + 1,
                    "postcode": code,
                    "parish_id": i,
                    "easting": east,
                    "northing": north,
                }
                self.postcode_rows.append(row)
                codes.append(row)
            self.parish_postcodes[i] = codes
        _put(Parish, self.parish_rows)
        _put(Postcode, self.postcode_rows)

    def schools(self) -> None:
        rng = self.rng
        self.school_rows: list[dict[str, Any]] = []
        self.school_at: dict[int, tuple[int, int]] = {}
        urns = rng.sample(range(120_000, 150_000), self.size.schools)
        in_county = [p for p in self.parish_rows if p["in_county"]]
        for i in range(1, self.size.schools + 1):
            index = i - 1 if i <= len(KINDS) else rng.choices(range(len(KINDS)), WEIGHTS)[0]
            phase, est, low, high, selective, suffix = KINDS[index]
            parish = rng.choice(in_county)
            at = _near(rng, *self.parish_at[parish["id"]], spread=800)
            postcode = rng.choice(self.parish_postcodes[parish["id"]])["postcode"]
            saint = f"{rng.choice(SAINTS)} " if "CE" in suffix or "Catholic" in suffix else ""
            name = f"{parish['name']} {saint}{suffix}"
            primaryish = phase in (Phase.PRIMARY, Phase.NURSERY)
            # A community or voluntary-controlled school may not vary the council's dates
            # (Appendix H); some academies and independents do.
            follows = est in (
                EstablishmentType.COMMUNITY,
                EstablishmentType.VOLUNTARY_CONTROLLED,
            ) or (rng.random() < 0.85 and est is not EstablishmentType.INDEPENDENT)
            is_open = i <= len(KINDS) or rng.random() > 0.02
            self.school_at[i] = at
            self.school_rows.append(
                {
                    "id": i,
                    "urn": urns[i - 1],
                    "name": name,
                    "phase": phase,
                    "establishment_type": est,
                    "selective": selective,
                    "religious_character": (
                        "Church of England"
                        if "CE" in suffix
                        else "Roman Catholic"
                        if "Catholic" in suffix
                        else None
                    ),
                    "statutory_low_age": low,
                    "statutory_high_age": high,
                    "sixth_form": _sixth_form(phase, high),
                    "street": rng.choice(STREETS),
                    "town": parish["name"],
                    "postcode": postcode,
                    "easting": at[0],
                    "northing": at[1],
                    "la_code": LA_CODE,
                    "main_site_id": None,
                    "day_starts": time(8, 45) if primaryish else time(8, 35),
                    "day_ends": time(15, 15) if primaryish else time(15, 10),
                    "follows_council_term_dates": follows,
                    "is_open": is_open,
                    "close_date": None if is_open else self.day(2024, 7, 31),
                }
            )
        # A few satellites: a second site of a school of the same phase nearby (A3f, A4f:
        # transport goes to the main site only).
        by_phase: dict[Phase, list[dict[str, Any]]] = {}
        for row in self.school_rows:
            by_phase.setdefault(row["phase"], []).append(row)
        satellites = max(2, self.size.schools // 40)
        candidates = [r for r in self.school_rows[len(KINDS) :] if r["is_open"]] or [
            r for r in self.school_rows if r["is_open"]
        ]
        for row in rng.sample(candidates, min(satellites, len(candidates))):
            mains = [
                m
                for m in by_phase[row["phase"]]
                if m["id"] < row["id"] and m["main_site_id"] is None and m["is_open"]
            ]
            if not mains:
                continue
            main = rng.choice(mains)
            row["main_site_id"] = main["id"]
            row["name"] = f"{main['name']} ({row['town']} site)"
            row["establishment_type"] = main["establishment_type"]
        _put(School, self.school_rows)
        self.open_schools = [
            r
            for r in self.school_rows
            if r["is_open"]
            and r["main_site_id"] is None
            and r["establishment_type"] is not EstablishmentType.INDEPENDENT
        ]

    def _schools_for(self, category: DtaCategory) -> list[dict[str, Any]]:
        """The schools that draw a DTA of this category (Appendix G)."""

        def draws(r: dict[str, Any]) -> bool:
            phase, high = r["phase"], r["statutory_high_age"] or 99
            secondaryish = phase in (Phase.SECONDARY, Phase.ALL_THROUGH)
            return {
                DtaCategory.PRIMARY: phase in (Phase.PRIMARY, Phase.ALL_THROUGH),
                DtaCategory.SECONDARY_ALL_ABILITY: secondaryish and not r["selective"],
                DtaCategory.GRAMMAR: phase is Phase.SECONDARY and r["selective"],
                DtaCategory.SIXTH_FORM: phase is Phase.SIXTH_FORM or (secondaryish and high >= 18),
                DtaCategory.FE_COLLEGE: phase is Phase.FE_COLLEGE,
            }[category]

        return [r for r in self.open_schools if draws(r)]

    def dtas(self) -> None:
        """Each in-county parish joins the DTA of its nearest school in every category (A14).

        A parish split by a DTA boundary gives a few of its postcodes to the next-nearest
        school's DTA instead: "based largely on parish or village boundaries or postcodes".
        """
        rng = self.rng
        self.dta_rows: list[dict[str, Any]] = []
        areas: list[dict[str, Any]] = []
        labels = {
            DtaCategory.PRIMARY: "primary",
            DtaCategory.SECONDARY_ALL_ABILITY: "secondary",
            DtaCategory.GRAMMAR: "grammar",
            DtaCategory.SIXTH_FORM: "sixth form",
            DtaCategory.FE_COLLEGE: "FE college",
        }
        for category in DtaCategory:
            owners = self._schools_for(category)
            if not owners:
                continue
            ids = {}
            for school in owners:
                dta_id = len(self.dta_rows) + 1
                ids[school["id"]] = dta_id
                special = None
                if rng.random() < 0.03:
                    special = (
                        "Appendix B: pupils living in named villages across the county "
                        "boundary are treated as living in this DTA."
                    )
                self.dta_rows.append(
                    {
                        "id": dta_id,
                        "name": f"{school['name']} ({labels[category]} DTA)",
                        "school_id": school["id"],
                        "category": category,
                        "special_arrangement": special,
                    }
                )
            for parish in self.parish_rows:
                if not parish["in_county"]:
                    continue
                at = self.parish_at[parish["id"]]
                ranked = sorted(
                    owners, key=lambda s: (_metres(at, self.school_at[s["id"]]), s["id"])
                )
                areas.append(
                    {
                        "id": len(areas) + 1,
                        "dta_id": ids[ranked[0]["id"]],
                        "parish_id": parish["id"],
                        "postcode_id": None,
                    }
                )
                if len(ranked) > 1 and rng.random() < 0.05:
                    for pc in self.parish_postcodes[parish["id"]][:2]:
                        areas.append(
                            {
                                "id": len(areas) + 1,
                                "dta_id": ids[ranked[1]["id"]],
                                "parish_id": None,
                                "postcode_id": pc["id"],
                            }
                        )
        # A school no parish is nearest to draws no DTA of that category.
        used = {a["dta_id"] for a in areas}
        self.dta_rows = [d for d in self.dta_rows if d["id"] in used]
        _put(DesignatedTransportArea, self.dta_rows)
        _put(DtaArea, areas)
        self.area_count = len(areas)

    def routes(self) -> None:
        rng = self.rng
        self.route_rows: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        self.route_schools: dict[int, list[int]] = {}
        servable = [s for s in self.open_schools if s["phase"] is not Phase.NURSERY]
        for i in range(1, self.size.routes + 1):
            vehicle, seats, (low, high) = rng.choices(VEHICLES, VEHICLE_WEIGHTS)[0]
            sessions = rng.random()
            runs_am, runs_pm = (
                (True, True) if sessions < 0.9 else (sessions < 0.95, sessions >= 0.95)
            )
            taxi = seats <= 7
            first = rng.choice(servable)
            at = self.school_at[first["id"]]
            nearby = sorted(servable, key=lambda s: (_metres(at, self.school_at[s["id"]]), s["id"]))
            served = nearby[: 1 if taxi else rng.choice((1, 1, 2, 2, 3))]
            self.route_schools[i] = [s["id"] for s in served]
            links.extend({"route_id": i, "school_id": s["id"]} for s in served)
            town = TOWNS[(at[0] - EAST_MIN) * len(TOWNS) // (EAST_MAX - EAST_MIN + 1)]
            self.route_rows.append(
                {
                    "id": i,
                    "code": f"{town[1][:2]}{i:04d}",
                    "operator": rng.choice(OPERATORS),
                    "vehicle_type": vehicle,
                    "seats": seats,
                    "runs_am": runs_am,
                    "runs_pm": runs_pm,
                    # Appendix F: no concessionary seats where a fare-paying bus runs, or
                    # where a seat would cost the council more (taxis, typically).
                    "fare_paying_alternative": not taxi and rng.random() < 0.08,
                    "additional_cost": taxi and rng.random() < 0.5,
                    "daily_cost": Decimal(rng.randint(low * 100, high * 100)) / 100,
                    "active": rng.random() > 0.03,
                }
            )
        _put(Route, self.route_rows)
        _put(RouteSchool, links)

    # --- casework -----------------------------------------------------------------------

    def pupils(self) -> None:
        rng = self.rng
        self.pupil_rows: list[dict[str, Any]] = []
        self.pupil_group: dict[int, int] = {}
        self.pupil_at: dict[int, tuple[int, int]] = {}
        evidence: list[dict[str, Any]] = []
        for i in range(1, self.size.pupils + 1):
            group = rng.randint(0, 13)  # Reception to Year 13
            parish = rng.choice(self.parish_rows)
            pc = rng.choice(self.parish_postcodes[parish["id"]])
            at = _near(rng, pc["easting"], pc["northing"], spread=300)
            ehcp = rng.random() < 0.04
            send = ehcp or rng.random() < 0.09
            care_by = care_placement = care_la = None
            draw = rng.random()
            if draw < 0.012:
                care_by = CareBy.COUNCIL if draw < 0.008 else CareBy.OTHER_LA
                care_placement = Placement.PERMANENT if rng.random() < 0.7 else Placement.TEMPORARY
                care_la = rng.choice(OTHER_COUNCILS) if care_by is CareBy.OTHER_LA else None
            override = None
            if ehcp and rng.random() < 0.1:
                override = max(group - 1, 0)  # taught out of cohort
            self.pupil_group[i] = override if override is not None else group
            self.pupil_at[i] = at
            self.pupil_rows.append(
                {
                    "id": i,
                    "reference": f"LP{100000 + i:07d}",
                    "first_name": rng.choice(FIRST_NAMES),
                    "last_name": rng.choice(LAST_NAMES),
                    "date_of_birth": _born_in_year_group(rng, group, self.start_year),
                    "year_group_override": override,
                    "address": f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
                    "town": parish["name"],
                    "postcode": pc["postcode"],
                    "parish_id": parish["id"],
                    "easting": at[0],
                    "northing": at[1],
                    "lives_in_county": parish["in_county"],
                    "send": send,
                    "ehcp": ehcp,
                    "care_by": care_by,
                    "care_placement": care_placement,
                    "care_home_la": care_la,
                }
            )
            # A5c: low-income evidence is held per academic year.
            if rng.random() < 0.16:
                evidence.append(
                    {
                        "id": len(evidence) + 1,
                        "pupil_id": i,
                        "academic_year": self.year,
                        "evidence": rng.choice(EVIDENCE),
                        "verified_on": self.day(2024, 6, 3) + timedelta(days=rng.randint(0, 80)),
                    }
                )
        if self.history:
            # The same families were on low income the year before, verified a year earlier.
            evidence += [
                {
                    **row,
                    "id": len(evidence) + n,
                    "academic_year": self.history,
                    "verified_on": row["verified_on"] - timedelta(days=364),
                }
                for n, row in enumerate(list(evidence), start=1)
            ]
        _put(Pupil, self.pupil_rows)
        _put(LowIncomeEvidence, evidence)
        self.low_income_count = len(evidence)

    def _school_for(self, pupil_id: int, ehcp: bool, group: int) -> dict[str, Any]:
        """One of the three nearest schools for the pupil's stage, usually the nearest."""
        if ehcp and self.rng.random() < 0.4:
            phases = {Phase.SPECIAL}
        elif group <= 6:
            phases = {Phase.PRIMARY, Phase.ALL_THROUGH}
        elif group <= 11:
            phases = {Phase.SECONDARY, Phase.ALL_THROUGH}
        else:
            phases = {Phase.SECONDARY, Phase.SIXTH_FORM, Phase.FE_COLLEGE, Phase.ALL_THROUGH}
        pool = self.by_phase_sets.get(frozenset(phases))
        if pool is None:
            pool = [
                s
                for s in self.open_schools
                if s["phase"] in phases and (group < 12 or (s["statutory_high_age"] or 99) >= 18)
            ] or self.open_schools
            self.by_phase_sets[frozenset(phases)] = pool
        at = self.pupil_at[pupil_id]
        # A 30 km window is plenty for "nearest three" and keeps the bench size quick.
        near = [s for s in pool if abs(self.school_at[s["id"]][0] - at[0]) < 30_000] or pool
        ranked = heapq.nsmallest(
            3, near, key=lambda s: (_metres(at, self.school_at[s["id"]]), s["id"])
        )
        return ranked[min(self.rng.choices((0, 1, 2), (70, 20, 10))[0], len(ranked) - 1)]

    def transport_applications(self) -> None:
        self.by_phase_sets: dict[frozenset[Phase], list[dict[str, Any]]] = {}
        chosen = self.rng.sample(
            range(1, self.size.pupils + 1), min(self.size.transport_applications, self.size.pupils)
        )
        rows = self._application_rows(sorted(chosen), self.year, 0, first_id=1)
        _put(TransportApplication, rows)
        self.application_count = len(rows)

    def history_applications(self) -> None:
        """The year before's applications: a quarter as many, from pupils then at school."""
        self.history_application_count = 0
        if not self.history:
            return
        pool = [i for i, group in self.pupil_group.items() if group >= 1]
        wanted = min(max(self.size.transport_applications // 4, 1), len(pool))
        chosen = sorted(self.rng.sample(pool, wanted))
        rows = self._application_rows(chosen, self.history, -1, first_id=self.application_count + 1)
        _put(TransportApplication, rows)
        self.history_application_count = len(rows)

    def _application_rows(
        self, pupil_ids: list[int], label: str, offset: int, first_id: int
    ) -> list[dict[str, Any]]:
        """Transport applications for `label`, dated `offset` years from the current year."""
        rng = self.rng

        def day(year: int, month: int, day_: int) -> date:
            return self.day(year, month, day_, offset)

        prefix = (self.start_year + offset) % 100 * 100_000
        rows: list[dict[str, Any]] = []
        for n, pupil_id in enumerate(pupil_ids, start=1):
            pupil = self.pupil_rows[pupil_id - 1]
            group = self.pupil_group[pupil_id] + offset
            school = self._school_for(pupil_id, pupil["ehcp"], group)
            straight = _metres(self.pupil_at[pupil_id], self.school_at[school["id"]])
            walking = 3218 if group <= 6 else 4827  # only to pick a realistic method label
            distance = method = measured_on = None
            if rng.random() < 0.75:  # A3b: measured by the eligibility team
                distance = int(straight * rng.uniform(1.1, 1.45)) + 150
                method = (
                    DistanceMethod.WALKING_ROUTE
                    if distance <= walking
                    else DistanceMethod.DRIVING_ROUTE
                )
                measured_on = day(2024, 6, 10) + timedelta(days=rng.randint(0, 60))
            unsuitable = group <= 11 and distance is not None and distance <= walking
            unsuitable = unsuitable and rng.random() < 0.15  # A12, Appendix D
            medical_who = medical_accepted = medical_until = None
            if rng.random() < 0.03:  # A13: pending, accepted or refused by an officer
                medical_who = MedicalWho.CHILD if rng.random() < 0.75 else MedicalWho.PARENT
                medical_accepted = rng.choice((None, None, True, False))
                if medical_accepted and rng.random() < 0.5:
                    medical_until = day(2025, 2, 28)
            exceptional = rng.random() < 0.015  # A11
            post16 = group >= 12  # A7, A8: the course facts
            care_by = pupil["care_by"]
            rows.append(
                {
                    "id": first_id + n - 1,
                    "reference": f"TRA{prefix + n:07d}",
                    "pupil_id": pupil_id,
                    "academic_year": label,
                    "school_id": school["id"],
                    "received_on": day(2024, 3, 1) + timedelta(days=rng.randint(0, 200)),
                    "status": ApplicationStatus.RECEIVED,
                    "distance_m": distance,
                    "distance_method": method,
                    "distance_measured_on": measured_on,
                    "route_unsuitable": unsuitable,
                    "route_assessed_on": day(2024, 7, 1) if unsuitable else None,
                    "religion_or_belief": 7 <= group <= 11 and rng.random() < 0.02,
                    "exceptional_transport_need": pupil["ehcp"] and rng.random() < 0.3,
                    "medical_who": medical_who,
                    "medical_accepted": medical_accepted,
                    "medical_until": medical_until,
                    "exceptional_circumstances": exceptional,
                    "exceptional_accepted": rng.choice((None, True, False))
                    if exceptional
                    else None,
                    "purchase_order": (
                        f"PO-{rng.randint(10000, 99999)}"
                        if care_by is CareBy.OTHER_LA and rng.random() < 0.5
                        else None
                    ),
                    "full_time_hours": (
                        Decimal(rng.choice(("16.50", "18.00", "21.00", "12.50", "10.00", "24.00")))
                        if post16
                        else None
                    ),
                    "higher_education": post16 and rng.random() < 0.01,
                    "apprenticeship": post16 and rng.random() < 0.02,
                    "repeat_or_non_progression": post16 and rng.random() < 0.03,
                    "programme_started_before_19": True,
                    "post19_need_determined": False,
                    "route_id": None,
                    "route_sessions": None,
                }
            )
        targets = DecisionTargets(db.session)  # B2a, as every writer of applications does
        for row in rows:
            row["decision_target_on"], row["decision_target_busy"] = targets.of(
                row["academic_year"], row["received_on"]
            )
        return rows

    def concessionary_applications(self) -> None:
        """Pending spare-seat requests (A9, Appendix F) from pupils of the routes' schools' ages."""
        rows = self._concessionary_rows(
            self.year, 0, self.size.concessionary_applications, first_id=1
        )
        _put(ConcessionaryApplication, rows)
        self.concessionary_count = len(rows)

    def history_concessionary_applications(self) -> None:
        """The year before's requests, a quarter as many: allocated later by history_casework."""
        self.history_concessionary_count = 0
        if not self.history:
            return
        wanted = max(self.size.concessionary_applications // 4, 1)
        rows = self._concessionary_rows(
            self.history, -1, wanted, first_id=self.concessionary_count + 1
        )
        _put(ConcessionaryApplication, rows)
        self.history_concessionary_count = len(rows)

    def _concessionary_rows(
        self, label: str, offset: int, count: int, first_id: int
    ) -> list[dict[str, Any]]:
        rng = self.rng
        rows: list[dict[str, Any]] = []
        seen: set[tuple[int, int]] = set()
        by_stage: dict[str, list[int]] = {"primary": [], "secondary": [], "post16": []}
        for pupil_id, group in self.pupil_group.items():
            group += offset
            if group < 0:
                continue
            stage = "primary" if group <= 6 else "secondary" if group <= 11 else "post16"
            by_stage[stage].append(pupil_id)
        schools = {s["id"]: s for s in self.school_rows}
        usable = [r for r in self.route_rows if r["active"]] or self.route_rows
        attempts = 0
        prefix = (self.start_year + offset) % 100 * 100_000
        while len(rows) < count and attempts < 50 * (count + 1):
            attempts += 1
            route = (
                usable[len(rows) % len(usable)] if len(rows) < len(usable) else rng.choice(usable)
            )
            school_id = rng.choice(self.route_schools[route["id"]])
            phase = schools[school_id]["phase"]
            stage = (
                "primary"
                if phase is Phase.PRIMARY
                else "post16"
                if phase in (Phase.SIXTH_FORM, Phase.FE_COLLEGE)
                else "secondary"
            )
            pool = by_stage[stage] or list(self.pupil_group)
            pupil_id = rng.choice(pool)
            if (pupil_id, route["id"]) in seen:
                continue
            seen.add((pupil_id, route["id"]))
            wanted = (
                Sessions.BOTH
                if route["runs_am"] and route["runs_pm"] and rng.random() < 0.7
                else Sessions.AM
                if route["runs_am"]
                else Sessions.PM
            )
            n = len(rows) + 1
            rows.append(
                {
                    "id": first_id + n - 1,
                    "reference": f"CSA{prefix + n:07d}",
                    "pupil_id": pupil_id,
                    "academic_year": label,
                    "school_id": school_id,
                    "route_id": route["id"],
                    "sessions": wanted,
                    "received_on": self.day(2024, 4, 1, offset)
                    + timedelta(days=rng.randint(0, 150)),
                    "payment_plan": rng.choice(list(PaymentPlan)),
                    "status": ConcessionaryStatus.PENDING,
                    "waitlist_position": None,
                    "refusal_reason": None,
                }
            )
        return rows

    def history_casework(self) -> dict[str, Any]:
        """The year before, as staff would have left it, through the services they use: every
        application assessed (decisions with their clause trails), spare seats allocated in
        register order with their contributions and instalments (A9, Appendix F), most
        instalments paid, and at year end the seats lapsed (Appendix F: re-application is
        annual). Each step commits as it does on the panel."""
        if not self.history:
            return {}
        from services import seats
        from services.assessment import assess_applications
        from services.letters.follow_up import letters_left_to_caller

        history_start = self.start_year - 1
        officer_id = db.session.scalar(select(User.id).where(User.username == "officer"))
        assistant_id = db.session.scalar(select(User.id).where(User.username == "assistant"))
        # The history's letters went out long ago: none is queued for them now.
        with letters_left_to_caller():
            assessed = assess_applications(
                where=TransportApplication.academic_year == self.history,
                user_id=officer_id,
                now=datetime(history_start, 9, 20, 10, 0, tzinfo=UTC),
            )
            report = seats.allocate(self.history, on=date(history_start, 9, 1))
        payments = self._history_payments(assistant_id)
        seats.lapse(self.history, on=date(self.start_year, 9, 1))
        return {
            f"{self.history} decisions": assessed.assessed,
            f"{self.history} seats allocated (lapsed at year end)": report.allocated,
            f"{self.history} payments": payments,
        }

    def _history_payments(self, recorded_by_id: int | None) -> int:
        """Nine instalments in ten paid in full within a fortnight of falling due; the rest
        left owing, so the arrears screens have something to show. One INSERT."""
        rng = self.rng
        rows = db.session.execute(
            select(Instalment.id, Instalment.contribution_id, Instalment.due_on, Instalment.amount)
            .join(Contribution, Contribution.id == Instalment.contribution_id)
            .where(Contribution.academic_year == self.history)
            .order_by(Instalment.id)
        ).all()
        methods = ("card", "card", "bank transfer", "direct debit", "cheque")
        payments = [
            {
                "contribution_id": row.contribution_id,
                "instalment_id": row.id,
                "received_on": row.due_on + timedelta(days=rng.randint(0, 14)),
                "amount": row.amount,
                "method": rng.choice(methods),
                "reference": f"PAY{row.id:07d}",
                "recorded_by_id": recorded_by_id,
            }
            for row in rows
            if rng.random() < 0.9
        ]
        _put(Payment, payments)
        db.session.commit()
        return len(payments)
