"""Pupils and their transport applications, from a case-management export (CSV or XLSX).

One row per application, carrying its pupil's details (a pupil with applications in several
years appears on several rows, with the same details). Column headers (found by name, any
order; extra columns are ignored; * = required):

    application_reference*   the TRA number (Appendix C), unique
    pupil_reference*         the pupil's reference, unique per pupil
    first_name*, last_name*
    date_of_birth*           dd/mm/yyyy (or dd-mm-yyyy, or an XLSX date)
    address*, town, postcode*
    parish_code              the home parish (must be held: import areas first)
    easting, northing        home location, British National Grid metres
    lives_in_county          yes/no (default yes)
    send, ehcp               yes/no (default no)
    academic_year*           e.g. 2024/25 (the year must be set up in the panel)
    school_urn*              the school applied for (must be held: import schools first)
    received_on*             the date the application was received
    distance_m               measured route distance, whole metres (A3b)
    distance_method          walking_route or driving_route (A3b)
    route_unsuitable         yes/no (A12, Appendix D)
    religion_or_belief       yes/no (A6, B1d)
    exceptional_circumstances yes/no (A11)
    full_time_hours          post-16 taught hours a week (A7b)

Pupils are matched by reference: new ones inserted, changed details (a house move) updated.
An application whose reference is already held for the same pupil, year and school is left
alone (so re-importing an export changes nothing); one held for anything else is a clash and an
error, because a decided application's facts are changed on its own screen, never by a file.

Dates are checked against the academic year: received no later than today or the year's end
and no earlier than a year before it starts; a date of birth that makes the child older than the
policy's upper age (A8: SEND to 25) or younger than 3 at the start of the year is out of range
(project rule: a sanity check on keyed data). Any bad row imports nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from models import AcademicYear, Parish, Pupil, School, TransportApplication, db
from models.enums import ApplicationStatus, DistanceMethod
from rules.errors import RulesError
from rules.parameters import parameters_for

from .reading import (
    ROW,
    Cells,
    bulk_update,
    chunks,
    lookup,
    read_table,
    records,
    require_columns,
)
from .report import ImportReport

APP_REF = "application_reference"
PUPIL_REF = "pupil_reference"
FIRST = "first_name"
LAST = "last_name"
DOB = "date_of_birth"
ADDRESS = "address"
TOWN = "town"
POSTCODE = "postcode"
PARISH = "parish_code"
EASTING = "easting"
NORTHING = "northing"
IN_COUNTY = "lives_in_county"
SEND = "send"
EHCP = "ehcp"
YEAR = "academic_year"
URN = "school_urn"
RECEIVED = "received_on"
DISTANCE = "distance_m"
METHOD = "distance_method"
UNSUITABLE = "route_unsuitable"
RELIGION = "religion_or_belief"
EXCEPTIONAL = "exceptional_circumstances"
HOURS = "full_time_hours"

REQUIRED = (APP_REF, PUPIL_REF, FIRST, LAST, DOB, ADDRESS, POSTCODE, YEAR, URN, RECEIVED)
COLUMNS = (
    APP_REF,
    PUPIL_REF,
    FIRST,
    LAST,
    DOB,
    ADDRESS,
    TOWN,
    POSTCODE,
    PARISH,
    EASTING,
    NORTHING,
    IN_COUNTY,
    SEND,
    EHCP,
    YEAR,
    URN,
    RECEIVED,
    DISTANCE,
    METHOD,
    UNSUITABLE,
    RELIGION,
    EXCEPTIONAL,
    HOURS,
)

PUPIL_FIELDS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "address",
    "town",
    "postcode",
    "parish_code",
    "easting",
    "northing",
    "lives_in_county",
    "send",
    "ehcp",
)
PUPIL_COLUMN = {
    "first_name": FIRST,
    "last_name": LAST,
    "date_of_birth": DOB,
    "address": ADDRESS,
    "town": TOWN,
    "postcode": POSTCODE,
    "parish_code": PARISH,
    "easting": EASTING,
    "northing": NORTHING,
    "lives_in_county": IN_COUNTY,
    "send": SEND,
    "ehcp": EHCP,
}
YOUNGEST_AGE = 3  # project rule: a sanity bound on keyed dates of birth, not a policy figure


def _years() -> dict[str, tuple[date, date, int]]:
    """Each set-up academic year: its dates and the oldest age the policy carries (A8)."""
    years: dict[str, tuple[date, date, int]] = {}
    for label, starts, ends in db.session.execute(
        select(AcademicYear.label, AcademicYear.starts, AcademicYear.ends)
    ):
        try:
            oldest = parameters_for(label).send_max_age
        except RulesError:
            continue
        years[label] = (starts, ends, oldest)
    return years


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def import_applications(
    data: bytes, filename: str, *, commit: bool = True, today: date | None = None
) -> ImportReport:
    today = today or date.today()
    report = ImportReport(kind="Pupils and applications")
    frame = read_table(data, filename, report)
    if frame is None or not require_columns(frame, REQUIRED, report):
        return report
    years = _years()

    pupils: dict[str, tuple[int, dict[str, Any]]] = {}
    apps: dict[str, tuple[int, dict[str, Any]]] = {}
    for rec in records(frame):
        row = int(rec[ROW])
        cells = Cells(row, rec, report)
        report.rows_in_scope += 1
        app_ref = cells.text(APP_REF, required=True, max_len=20)
        pupil_ref = cells.text(PUPIL_REF, required=True, max_len=20)
        year = cells.raw(YEAR)
        span = years.get(year)
        if not year:
            cells._fail(YEAR, "a value is required")
        elif span is None:
            cells._fail(YEAR, f"{year!r} is not an academic year set up in the panel")
        if span:
            starts, ends, oldest = span
            dob = cells.date(
                DOB,
                required=True,
                earliest=_years_before(starts, oldest + 1) + timedelta(days=1),
                latest=_years_before(starts, YOUNGEST_AGE),
            )
            received = cells.date(
                RECEIVED,
                required=True,
                earliest=_years_before(starts, 1),
                latest=min(today, ends),
            )
        else:
            dob = cells.date(DOB, required=True)
            received = cells.date(RECEIVED, required=True)
        pupil = {
            "first_name": cells.text(FIRST, required=True, max_len=80),
            "last_name": cells.text(LAST, required=True, max_len=80),
            "date_of_birth": dob,
            "address": cells.text(ADDRESS, required=True, max_len=200),
            "town": cells.text(TOWN, max_len=100),
            "postcode": cells.postcode(POSTCODE, required=True),
            "parish_code": cells.text(PARISH, max_len=20),
            "easting": cells.integer(EASTING, low=0, high=800_000),
            "northing": cells.integer(NORTHING, low=0, high=1_300_000),
            "lives_in_county": cells.boolean(IN_COUNTY, default=True),
            "send": cells.boolean(SEND),
            "ehcp": cells.boolean(EHCP),
        }
        app = {
            "urn": cells.integer(URN, required=True, low=1, high=99_999_999),
            "academic_year": year,
            "received_on": received,
            "distance_m": cells.integer(DISTANCE, low=0, high=1_000_000),
            "distance_method": cells.choice(METHOD, DistanceMethod),
            "route_unsuitable": cells.boolean(UNSUITABLE),
            "religion_or_belief": cells.boolean(RELIGION),
            "exceptional_circumstances": cells.boolean(EXCEPTIONAL),
            "full_time_hours": cells.decimal(HOURS, low=Decimal(0), high=Decimal(80)),
        }
        if cells.failed or app_ref is None or pupil_ref is None:
            continue
        if app_ref in apps:
            report.error(row, APP_REF, f"{app_ref} appears again (first on row {apps[app_ref][0]})")
            continue
        if pupil_ref in pupils:
            first_row, first = pupils[pupil_ref]
            clash = next((k for k in PUPIL_FIELDS if first[k] != pupil[k]), None)
            if clash:
                report.error(
                    row,
                    PUPIL_COLUMN[clash],
                    f"pupil {pupil_ref} has different details on row {first_row}",
                )
                continue
        else:
            pupils[pupil_ref] = (row, pupil)
        apps[app_ref] = (row, {"pupil_reference": pupil_ref, **app})
    if not report.ok:
        return report

    # Set-based look-ups, a few IN-lists each.
    schools = lookup(School.urn, School.id, {a["urn"] for _, a in apps.values()})
    parishes = lookup(
        Parish.code, Parish.id, {p["parish_code"] for _, p in pupils.values() if p["parish_code"]}
    )
    for row, app in apps.values():
        if app["urn"] not in schools:
            report.error(row, URN, f"unknown URN {app['urn']} (import the school first)")
    for row, pupil in pupils.values():
        if pupil["parish_code"] and pupil["parish_code"] not in parishes:
            report.error(row, PARISH, f"unknown parish code {pupil['parish_code']!r}")

    held_pupils: dict[str, Any] = {}
    for part in chunks(sorted(pupils)):
        for r in db.session.execute(
            select(
                Pupil.id,
                Pupil.reference,
                Pupil.first_name,
                Pupil.last_name,
                Pupil.date_of_birth,
                Pupil.address,
                Pupil.town,
                Pupil.postcode,
                Pupil.parish_id,
                Pupil.easting,
                Pupil.northing,
                Pupil.lives_in_county,
                Pupil.send,
                Pupil.ehcp,
            ).where(Pupil.reference.in_(part))
        ):
            held_pupils[r.reference] = r
    held_apps: dict[str, Any] = {}
    for part in chunks(sorted(apps)):
        for r in db.session.execute(
            select(
                TransportApplication.reference,
                TransportApplication.academic_year,
                TransportApplication.school_id,
                Pupil.reference.label("pupil_reference"),
            )
            .join(Pupil, Pupil.id == TransportApplication.pupil_id)
            .where(TransportApplication.reference.in_(part))
        ):
            held_apps[r.reference] = r
    if not report.ok:
        return report

    pupil_inserts: list[dict[str, Any]] = []
    pupil_updates: list[dict[str, Any]] = []
    for ref, (row, pupil) in pupils.items():
        values = {k: v for k, v in pupil.items() if k != "parish_code"}
        values["parish_id"] = parishes.get(pupil["parish_code"]) if pupil["parish_code"] else None
        held = held_pupils.get(ref)
        if held is None:
            pupil_inserts.append({"reference": ref, **values})
            report.inserted["pupils"] += 1
            report.change(row, "insert", ref, f"pupil {values['first_name']} {values['last_name']}")
            continue
        changed = {k: v for k, v in values.items() if getattr(held, k) != v}
        if changed:
            pupil_updates.append({"id": held.id, **changed})
            report.updated["pupils"] += 1
            report.change(row, "update", ref, "pupil: " + ", ".join(changed))
        else:
            report.unchanged["pupils"] += 1

    new_apps: list[tuple[str, dict[str, Any]]] = []
    for ref, (row, app) in apps.items():
        held = held_apps.get(ref)
        if held is None:
            new_apps.append((ref, app))
            report.inserted["applications"] += 1
            report.change(
                row, "insert", ref, f"{app['academic_year']} application to URN {app['urn']}"
            )
        elif (
            held.pupil_reference == app["pupil_reference"]
            and held.academic_year == app["academic_year"]
            and held.school_id == schools[app["urn"]]
        ):
            report.unchanged["applications"] += 1
        else:
            report.error(
                row,
                APP_REF,
                f"{ref} is already held for pupil {held.pupil_reference}, "
                f"{held.academic_year}, a different school or pupil (a clash with the database)",
            )
    if not commit or not report.ok:
        db.session.rollback()
        return report

    # Core INSERTs on the tables, run as executemany: the ORM's bulk path adds bookkeeping per
    # row, and RETURNING ("insertmanyvalues") measured over twice the client CPU here.
    pupils_t, apps_t = Pupil.__table__, TransportApplication.__table__
    try:
        if pupil_inserts:
            db.session.execute(insert(pupils_t), pupil_inserts)
        if pupil_updates:
            bulk_update(Pupil, pupil_updates)
        pupil_ids = lookup(Pupil.reference, Pupil.id, {a["pupil_reference"] for _, a in new_apps})
        if new_apps:
            db.session.execute(
                insert(apps_t),
                [
                    {
                        "reference": ref,
                        "pupil_id": pupil_ids[app["pupil_reference"]],
                        "academic_year": app["academic_year"],
                        "school_id": schools[app["urn"]],
                        "received_on": app["received_on"],
                        "status": ApplicationStatus.RECEIVED,
                        "distance_m": app["distance_m"],
                        "distance_method": app["distance_method"],
                        "route_unsuitable": app["route_unsuitable"],
                        "religion_or_belief": app["religion_or_belief"],
                        "exceptional_circumstances": app["exceptional_circumstances"],
                        "full_time_hours": app["full_time_hours"],
                    }
                    for ref, app in new_apps
                ],
            )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        report.error(
            None,
            APP_REF,
            "the database refused the changes (another import may have run at the same "
            "time); nothing was imported, please try again",
        )
        return report
    report.committed = True
    return report
