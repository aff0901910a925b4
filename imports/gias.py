"""Schools from the DfE's GIAS "establishment fields" CSV extract.

The file is Windows-1252 (UTF-8 with a BOM is tolerated too), values may or may not be quoted,
dates are dd-mm-yyyy or dd/mm/yyyy, and the set and order of columns changes between releases
(2018, 2024 and 2025 extracts differ), so every column is found by its header name. Columns read:

    URN, EstablishmentName, TypeOfEstablishment (name), EstablishmentTypeGroup (name),
    EstablishmentStatus (name), PhaseOfEducation (name), StatutoryLowAge, StatutoryHighAge,
    ReligiousCharacter (name), AdmissionsPolicy (name), OfficialSixthForm (name), Street, Town,
    Postcode, Easting, Northing, LA (code), LA (name), CloseDate

Required: URN, EstablishmentName, TypeOfEstablishment (name), EstablishmentStatus (name),
LA (code). A field whose column is absent from a release is left as it is on existing schools
(and takes the model default on new ones), so an older extract never blanks newer data.

Skipped, and counted by reason (never an error): establishments the policy never transports to
in this country (British schools overseas and offshore schools; rows with no local authority),
higher-education institutions (A7h), online providers (no site to travel to), rows outside the
`--la` authority, and establishments whose phase GIAS does not give and their ages cannot tell.

OfficialSixthForm is kept as GIAS gives it (A7b: a post-16 student's nearest suitable school is
one "with a sixth form provision", or a college); a value GIAS has not used before is taken as
"Not recorded" rather than stopping the import, and the age range then decides.

Independent schools are imported and marked independent (A2a: the policy does not apply to
them; the rules refuse them). Closed schools are imported closed. A school without coordinates
is imported without a location, so its distances need measuring.

Every in-scope row must be valid or nothing is written (RowError names row, column, reason).
New URNs are inserted, changed ones updated, unchanged ones left alone, in a handful of set-based
statements: re-importing the same file changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from models import School, db
from models.enums import EstablishmentType, Phase, SixthForm

from .reading import ROW, Cells, bulk_update, read_table, records, require_columns, table_of
from .report import ImportReport

URN = "URN"
NAME = "EstablishmentName"
TYPE = "TypeOfEstablishment (name)"
GROUP = "EstablishmentTypeGroup (name)"
STATUS = "EstablishmentStatus (name)"
PHASE = "PhaseOfEducation (name)"
LOW_AGE = "StatutoryLowAge"
HIGH_AGE = "StatutoryHighAge"
RELIGION = "ReligiousCharacter (name)"
ADMISSIONS = "AdmissionsPolicy (name)"
SIXTH_FORM = "OfficialSixthForm (name)"
STREET = "Street"
TOWN = "Town"
POSTCODE = "Postcode"
EASTING = "Easting"
NORTHING = "Northing"
LA_CODE = "LA (code)"
LA_NAME = "LA (name)"
CLOSE_DATE = "CloseDate"

REQUIRED = (URN, NAME, TYPE, STATUS, LA_CODE)

SKIP_OVERSEAS = "British school overseas (not transported to)"
SKIP_NO_LA = "no local authority"
SKIP_HIGHER_EDUCATION = "higher education institution (A7h)"
SKIP_ONLINE = "online provider (no site to travel to)"
SKIP_NO_PHASE = "phase not given and ages do not tell"

OVERSEAS_TYPES = {"british schools overseas", "offshore schools"}
NO_LA_NAMES = {"does not apply", "not applicable", "unknown", ""}
NO_LA_CODES = {"", "0", "000"}
NO_RELIGION = {"", "does not apply", "none", "not applicable", "unknown", "not collected"}

# GIAS "TypeOfEstablishment (name)" -> (type, fixed phase or None to use PhaseOfEducation).
# Governance decides the type (Appendix H: community and voluntary-controlled schools keep the
# council's term dates), so a community special school is COMMUNITY with phase SPECIAL.
TYPES: dict[str, tuple[EstablishmentType, Phase | None]] = {
    "community school": (EstablishmentType.COMMUNITY, None),
    "community special school": (EstablishmentType.COMMUNITY, Phase.SPECIAL),
    "voluntary aided school": (EstablishmentType.VOLUNTARY_AIDED, None),
    "voluntary controlled school": (EstablishmentType.VOLUNTARY_CONTROLLED, None),
    "foundation school": (EstablishmentType.FOUNDATION, None),
    "foundation special school": (EstablishmentType.FOUNDATION, Phase.SPECIAL),
    "academy converter": (EstablishmentType.ACADEMY, None),
    "academy sponsor led": (EstablishmentType.ACADEMY, None),
    "academy special converter": (EstablishmentType.ACADEMY, Phase.SPECIAL),
    "academy special sponsor led": (EstablishmentType.ACADEMY, Phase.SPECIAL),
    "academy 16-19 converter": (EstablishmentType.ACADEMY, Phase.SIXTH_FORM),
    "academy 16 to 19 sponsor led": (EstablishmentType.ACADEMY, Phase.SIXTH_FORM),
    "academy secure 16 to 19": (EstablishmentType.ACADEMY, Phase.SIXTH_FORM),
    "city technology college": (EstablishmentType.ACADEMY, None),
    "university technical college": (EstablishmentType.ACADEMY, None),
    "studio schools": (EstablishmentType.ACADEMY, None),
    "free schools": (EstablishmentType.FREE_SCHOOL, None),
    "free schools 16 to 19": (EstablishmentType.FREE_SCHOOL, Phase.SIXTH_FORM),
    "free schools special": (EstablishmentType.FREE_SCHOOL, Phase.SPECIAL),
    "free schools alternative provision": (
        EstablishmentType.ALTERNATIVE_PROVISION,
        Phase.ALTERNATIVE_PROVISION,
    ),
    "academy alternative provision converter": (
        EstablishmentType.ALTERNATIVE_PROVISION,
        Phase.ALTERNATIVE_PROVISION,
    ),
    "academy alternative provision sponsor led": (
        EstablishmentType.ALTERNATIVE_PROVISION,
        Phase.ALTERNATIVE_PROVISION,
    ),
    "pupil referral unit": (EstablishmentType.ALTERNATIVE_PROVISION, Phase.ALTERNATIVE_PROVISION),
    "non-maintained special school": (EstablishmentType.SPECIAL, Phase.SPECIAL),
    "special post 16 institution": (EstablishmentType.SPECIAL, Phase.SPECIAL),
    "other independent school": (EstablishmentType.INDEPENDENT, None),
    "other independent special school": (EstablishmentType.INDEPENDENT, Phase.SPECIAL),
    "further education": (EstablishmentType.FE_COLLEGE, Phase.FE_COLLEGE),
    "sixth form centres": (EstablishmentType.OTHER, Phase.SIXTH_FORM),
    "la nursery school": (EstablishmentType.NURSERY, Phase.NURSERY),
}

PHASES: dict[str, Phase] = {
    "nursery": Phase.NURSERY,
    "primary": Phase.PRIMARY,
    "middle deemed primary": Phase.PRIMARY,
    "secondary": Phase.SECONDARY,
    "middle deemed secondary": Phase.SECONDARY,
    "16 plus": Phase.SIXTH_FORM,
    "all-through": Phase.ALL_THROUGH,
    "all through": Phase.ALL_THROUGH,
}

# GIAS "OfficialSixthForm (name)" -> School.sixth_form (A7b).
SIXTH_FORMS: dict[str, SixthForm] = {
    "has a sixth form": SixthForm.HAS,
    "does not have a sixth form": SixthForm.DOES_NOT_HAVE,
    "not applicable": SixthForm.NOT_APPLICABLE,
    "not recorded": SixthForm.NOT_RECORDED,
}

# The School fields this import owns, with the GIAS column each comes from (None: always set).
FIELDS: dict[str, str | None] = {
    "name": NAME,
    "establishment_type": None,
    "phase": None,
    "selective": ADMISSIONS,
    "religious_character": RELIGION,
    "statutory_low_age": LOW_AGE,
    "statutory_high_age": HIGH_AGE,
    "sixth_form": SIXTH_FORM,
    "street": STREET,
    "town": TOWN,
    "postcode": POSTCODE,
    "easting": EASTING,
    "northing": NORTHING,
    "la_code": LA_CODE,
    "is_open": None,
    "close_date": CLOSE_DATE,
}


def map_type(type_name: str, group_name: str) -> tuple[EstablishmentType, Phase | None]:
    """GIAS type (and type group, for independents GIAS adds new names for) -> model type."""
    known = TYPES.get(type_name.strip().lower())
    if known:
        return known
    if "independent" in group_name.lower() or "independent" in type_name.lower():
        return EstablishmentType.INDEPENDENT, None
    if "special" in type_name.lower():
        return EstablishmentType.SPECIAL, Phase.SPECIAL
    return EstablishmentType.OTHER, None


def derive_phase(
    fixed: Phase | None,
    phase_name: str,
    type_: EstablishmentType,
    low: int | None,
    high: int | None,
) -> Phase | None:
    """Phase from the type where the type decides it, else GIAS phase, else the age range."""
    if fixed is not None:
        return fixed
    phase = PHASES.get(phase_name.strip().lower())
    if phase is Phase.SIXTH_FORM and type_ is EstablishmentType.FE_COLLEGE:
        return Phase.FE_COLLEGE
    if phase is not None:
        return phase
    if low is None or high is None:
        return None
    if low >= 16:
        return Phase.SIXTH_FORM
    if high <= 11:
        return Phase.NURSERY if high <= 5 else Phase.PRIMARY
    if low >= 10:
        return Phase.SECONDARY
    return Phase.ALL_THROUGH


@dataclass
class Plan:
    report: ImportReport
    inserts: list[dict[str, Any]]
    updates: list[dict[str, Any]]


def _skip_reason(cells: Cells, la: int | None) -> str | None:
    type_name = cells.raw(TYPE).lower()
    if type_name in OVERSEAS_TYPES:
        return SKIP_OVERSEAS
    la_code = cells.raw(LA_CODE)
    if la_code.lstrip("0") == "" or (
        cells.has(LA_NAME) and cells.raw(LA_NAME).lower() in NO_LA_NAMES
    ):
        return SKIP_NO_LA
    if la is not None and la_code.lstrip("0") != str(la):
        return f"outside LA {la}"
    if type_name == "higher education institutions":
        return SKIP_HIGHER_EDUCATION
    if type_name == "online provider":
        return SKIP_ONLINE
    return None


def _row_values(cells: Cells, columns: set[str]) -> dict[str, Any] | None:
    """The School fields from one in-scope row, or None (with errors recorded)."""
    urn = cells.integer(URN, required=True, low=1, high=99_999_999)
    name = cells.text(NAME, required=True, max_len=200)
    low = cells.integer(LOW_AGE, low=0, high=99)
    high = cells.integer(HIGH_AGE, low=0, high=99)
    if low is not None and high is not None and high < low:
        cells._fail(HIGH_AGE, f"high age {high} is below low age {low}")
    type_, fixed_phase = map_type(cells.raw(TYPE), cells.raw(GROUP))
    status = cells.raw(STATUS).lower()
    values: dict[str, Any] = {
        "urn": urn,
        "name": name,
        "establishment_type": type_,
        "statutory_low_age": low,
        "statutory_high_age": high,
        "sixth_form": SIXTH_FORMS.get(
            cells.raw(SIXTH_FORM).strip().lower(), SixthForm.NOT_RECORDED
        ),
        "selective": cells.raw(ADMISSIONS).lower() == "selective",
        "religious_character": (
            None
            if cells.raw(RELIGION).lower() in NO_RELIGION
            else cells.text(RELIGION, max_len=100)
        ),
        "street": cells.text(STREET, max_len=200),
        "town": cells.text(TOWN, max_len=100),
        "postcode": cells.postcode(POSTCODE),
        "easting": cells.integer(EASTING, low=0, high=800_000) or None,
        "northing": cells.integer(NORTHING, low=0, high=1_300_000) or None,
        "la_code": cells.integer(LA_CODE, low=1, high=999),
        # "Open, but proposed to close" is still open; "Proposed to open" is not yet.
        "is_open": status.startswith("open"),
        "close_date": cells.date(CLOSE_DATE),
    }
    if cells.failed:
        return None
    if (values["easting"] is None) != (values["northing"] is None):
        values["easting"] = values["northing"] = None  # half a location is no location
    phase = derive_phase(fixed_phase, cells.raw(PHASE), type_, low, high)
    if phase is None:
        cells.report.skip(SKIP_NO_PHASE)
        cells.report.rows_in_scope -= 1
        return None
    values["phase"] = phase
    # Fields whose column this release lacks are not touched on existing schools.
    return {
        k: v for k, v in values.items() if k == "urn" or FIELDS[k] is None or FIELDS[k] in columns
    }


def plan_schools(data: bytes, filename: str, la: int | None = None) -> Plan:
    """Read and check the whole file and work out every insert and update, writing nothing."""
    report = ImportReport(kind="Schools (GIAS)")
    plan = Plan(report, [], [])
    frame = read_table(data, filename, report)
    if frame is None or not require_columns(frame, REQUIRED, report):
        return plan
    columns = set(frame.columns)
    seen: dict[int, int] = {}
    wanted: list[tuple[int, dict[str, Any]]] = []
    for rec in records(frame):
        row = int(rec[ROW])
        cells = Cells(row, rec, report)
        reason = _skip_reason(cells, la)
        if reason:
            report.skip(reason)
            continue
        report.rows_in_scope += 1
        values = _row_values(cells, columns)
        if values is None:
            continue
        urn = values["urn"]
        if urn in seen:
            report.error(row, URN, f"URN {urn} appears again (first on row {seen[urn]})")
            continue
        seen[urn] = row
        wanted.append((row, values))
    if not report.ok:
        return plan

    # One query reads every existing school the file mentions.
    fields = [getattr(School, f) for f in FIELDS]
    existing = {
        r.urn: r
        for r in db.session.execute(select(School.id, School.urn, *fields)).all()
        if r.urn in seen
    }
    for row, values in wanted:
        current = existing.get(values["urn"])
        if current is None:
            plan.inserts.append(values)
            report.inserted["schools"] += 1
            report.change(row, "insert", str(values["urn"]), values["name"])
            continue
        changed = {k: v for k, v in values.items() if k != "urn" and getattr(current, k) != v}
        if not changed:
            report.unchanged["schools"] += 1
            continue
        plan.updates.append({"id": current.id, **changed})
        report.updated["schools"] += 1
        detail = ", ".join(
            f"{k}: {_show(getattr(current, k))} → {_show(v)}" for k, v in changed.items()
        )
        report.change(row, "update", str(values["urn"]), detail)
    return plan


def _show(value: Any) -> str:
    if value is None:
        return "—"
    return str(getattr(value, "value", value))


def import_schools(
    data: bytes, filename: str, la: int | None = None, *, commit: bool = True
) -> ImportReport:
    """Plan, and when asked and the file is clean, write it all in one transaction."""
    plan = plan_schools(data, filename, la)
    report = plan.report
    if not commit or not report.ok:
        db.session.rollback()
        return report
    try:
        if plan.inserts:
            db.session.execute(insert(table_of(School)), plan.inserts)
        # Bulk UPDATE by primary key groups rows with the same changed columns.
        if plan.updates:
            bulk_update(School, plan.updates)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        report.error(
            None,
            URN,
            "the database refused the changes (another import may have run at the same "
            "time); nothing was imported, please try again",
        )
        return report
    report.committed = True
    return report
