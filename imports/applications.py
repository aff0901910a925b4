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
    lives_in_county          yes/no (default: the parish's "in county"; yes without a parish).
                             A value that contradicts the parish is refused (A2).
    send, ehcp               yes/no (default no)
    care_leaver              yes/no (default no): a post-16 student who has left care (A21)
    academic_year*           e.g. 2024/25 (the year must be set up in the panel)
    school_urn*              the school applied for (must be held: import schools first)
    received_on*             the date the application was received
    distance_m               measured route distance, whole metres (A3b)
    distance_method          walking_route or driving_route (A3b)
    route_unsuitable         yes/no (A12, Appendix D): an officer's determination
    religion_or_belief       yes/no (A6, B1d)
    exceptional_circumstances yes/no (A11)
    full_time_hours          post-16 taught hours a week (A7b)
    school_named_in_ehcp     yes/no (default no): the school is named in the EHCP (A2a)
    contact_...              a parent or carer to write to (see imports/contacts.py)

Determinations (DETERMINATION_FIELDS, beside the model) are what the application's form keeps
for officers and supervisors (A4c, A11, A12, A13, A8): a file imported by anyone else that would
record one (route_unsuitable yes, or any value in another determination column) is refused,
naming the row and column, exactly as the form refuses them. An officer's import records the
officer as the determiner, as the form does. This import carries route_unsuitable only; the
other determinations are recorded on the application's screen, so a value in one of those
columns is refused for everyone rather than silently dropped.

A second application for the same child (pupil reference), academic year and school, under
another reference, is a duplicate: refused naming the row and the school_urn column, whether
the first is earlier in the file or already held.

Pupils are matched by reference: new ones inserted, changed details (a house move) updated.
An application whose reference is already held for the same pupil, year and school is left
alone (so re-importing an export changes nothing); one held for anything else is a clash and an
error, because a decided application's facts are changed on its own screen, never by a file.

Dates are checked against the academic year by services/applications.py, the checks (and the
words) the pupil and application screens use too: received no later than today or the year's end
and no earlier than a year before it starts; a date of birth that makes the child older than the
policy's upper age (A8: SEND to 25) or younger than 2 at the start of the year is refused
(project rule: a sanity check on keyed data). Any bad row imports nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from models import AcademicYear, Parish, Pupil, School, TransportApplication, User, db
from models.enums import ApplicationStatus, DistanceMethod, Role
from models.transport_application import DETERMINATION_FIELDS
from rules.errors import RulesError
from services import applications as dates
from services import years as clock
from services.errors import ServiceError
from services.policy import PolicyUnavailable, parameters_for_year

from .contacts import plan_contacts, read_contacts, write_contacts
from .reading import (
    FALSE_WORDS,
    Cells,
    Columns,
    Table,
    among,
    bulk_update,
    insert_rows,
    lookup,
    parse_date,
    read_table,
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
CARE_LEAVER = "care_leaver"
NAMED_IN_EHCP = "school_named_in_ehcp"

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
    CARE_LEAVER,
    NAMED_IN_EHCP,
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
    "care_leaver",
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
    "care_leaver": CARE_LEAVER,
}
# What a held pupil row is compared on and written with: the file's details, parish by id.
STORED_FIELDS = (*(f for f in PUPIL_FIELDS if f != "parish_code"), "parish_id")
APPLICATION_COLUMNS = (
    "reference",
    "pupil_id",
    "academic_year",
    "school_id",
    "received_on",
    "status",
    "distance_m",
    "distance_method",
    "route_unsuitable",
    "religion_or_belief",
    "exceptional_circumstances",
    "full_time_hours",
    "school_named_in_ehcp",
)
# The determinations this file carries; any other determination column is refused.
IMPORTED_DETERMINATIONS = frozenset({UNSUITABLE})

# The checks of the pupil's fields other than the date of birth, and of the application's own
# fields, as (column, Cells/Columns method, options), in the order a row's errors are listed:
# one table for the per-row and the whole-column checks, so they cannot drift apart.
Check = tuple[str, str, dict[str, Any]]
PUPIL_CHECKS: tuple[Check, ...] = (
    (FIRST, "text", {"required": True, "max_len": 80}),
    (LAST, "text", {"required": True, "max_len": 80}),
    (ADDRESS, "text", {"required": True, "max_len": 200}),
    (TOWN, "text", {"max_len": 100}),
    (POSTCODE, "postcode", {"required": True}),
    (PARISH, "text", {"max_len": 20}),
    (EASTING, "integer", {"low": 0, "high": 800_000}),
    (NORTHING, "integer", {"low": 0, "high": 1_300_000}),
    # A2: blank means "as the parish says" (resolved once the parishes are looked up).
    (IN_COUNTY, "boolean", {"default": None}),
    (SEND, "boolean", {}),
    (EHCP, "boolean", {}),
    (CARE_LEAVER, "boolean", {}),
)
APPLICATION_CHECKS: tuple[Check, ...] = (
    (URN, "integer", {"required": True, "low": 1, "high": 99_999_999}),
    (DISTANCE, "integer", {"low": 0, "high": 1_000_000}),
    (METHOD, "choice", {"enum_cls": DistanceMethod}),
    (UNSUITABLE, "boolean", {}),
    (RELIGION, "boolean", {}),
    (EXCEPTIONAL, "boolean", {}),
    (HOURS, "decimal", {"low": Decimal(0), "high": Decimal(80)}),
    (NAMED_IN_EHCP, "boolean", {}),
)


class PupilDetails(NamedTuple):
    """A row's pupil, in PUPIL_FIELDS order (rows for one pupil must agree on all of it)."""

    first_name: str
    last_name: str
    date_of_birth: date
    address: str
    town: str | None
    postcode: str
    parish_code: str | None
    easting: int | None
    northing: int | None
    lives_in_county: bool | None  # None: as the parish says (A2)
    send: bool
    ehcp: bool
    care_leaver: bool


class Application(NamedTuple):
    """A row's application: its pupil, year and date, then APPLICATION_CHECKS' fields."""

    pupil_reference: str
    academic_year: str
    received_on: date
    urn: int
    distance_m: int | None
    distance_method: DistanceMethod | None
    route_unsuitable: bool
    religion_or_belief: bool
    exceptional_circumstances: bool
    full_time_hours: Decimal | None
    school_named_in_ehcp: bool


class Bounds(NamedTuple):
    """The dates a row for one academic year may carry (services/applications.py's bounds)."""

    born_from: date
    born_to: date
    received_from: date
    received_to: date
    label: str
    starts: date
    ends: date
    oldest: int
    today: date


Checked = tuple[str, str, PupilDetails, Application]


def _years(today: date) -> dict[str, Bounds]:
    """Each set-up academic year and its date bounds (A8: the oldest age the policy carries)."""
    years: dict[str, Bounds] = {}
    for label, starts, ends in db.session.execute(
        select(AcademicYear.label, AcademicYear.starts, AcademicYear.ends)
    ):
        try:
            oldest = parameters_for_year(label).send_max_age
        except (RulesError, PolicyUnavailable):
            continue
        born = dates.birth_bounds(starts, oldest, today)
        received = dates.received_bounds(starts, ends, today)
        years[label] = Bounds(
            born_from=born.earliest,
            born_to=born.latest,
            received_from=received.earliest,
            received_to=received.latest,
            label=label,
            starts=starts,
            ends=ends,
            oldest=oldest,
            today=today,
        )
    return years


def _as_value_error(check: Callable[[date], date]) -> Callable[[str], date]:
    """A service's date check as a cell converter: its words become the report's."""

    def convert(text: str) -> date:
        try:
            return check(parse_date(text))
        except ServiceError as error:
            raise ValueError(str(error)) from None

    return convert


def _run(target: Cells | Columns, checks: tuple[Check, ...]) -> list[Any]:
    return [getattr(target, check)(column, **options) for column, check, options in checks]


def _check_row(cells: Cells, years: dict[str, Bounds]) -> Checked | None:
    """One row, cell by cell, every failure reported; None if the row is refused."""
    app_ref = cells.text(APP_REF, required=True, max_len=20)
    pupil_ref = cells.text(PUPIL_REF, required=True, max_len=20)
    year = cells.raw(YEAR)
    bounds = years.get(year)
    if not year:
        cells._fail(YEAR, "a value is required")
    elif bounds is None:
        cells._fail(YEAR, f"{year!r} is not an academic year set up in the panel")
    if bounds:
        b = bounds
        dob = cells._checked(
            DOB,
            _as_value_error(
                lambda born: dates.check_date_of_birth(
                    born, year=b.label, starts=b.starts, oldest=b.oldest, today=b.today
                )
            ),
            "a date is required",
        )
        received = cells._checked(
            RECEIVED,
            _as_value_error(
                lambda day: dates.check_received_on(
                    day, year=b.label, starts=b.starts, ends=b.ends, today=b.today
                )
            ),
            "a date is required",
        )
    else:
        dob = cells.date(DOB, required=True)
        received = cells.date(RECEIVED, required=True)
    pupil = _run(cells, PUPIL_CHECKS)
    pupil.insert(2, dob)  # PUPIL_FIELDS order
    app = [pupil_ref, year, received, *_run(cells, APPLICATION_CHECKS)]
    if cells.failed or app_ref is None or pupil_ref is None:
        return None
    return app_ref, pupil_ref, PupilDetails(*pupil), Application(*app)


def _check_columns(
    table: Table, years: dict[str, Bounds]
) -> tuple[list[str], list[PupilDetails], list[Application], list[bool]]:
    """The same checks as `_check_row`, a column at a time; rows it cannot pass are flagged.

    The flagged rows are re-checked by `_check_row`, which reports why; for the others the
    values here are the ones `_check_row` would have produced.
    """
    cols = Columns(table)
    year = cols.raw(YEAR)
    bounds = [years.get(label) for label in year]
    unset = [b is None for b in bounds]

    def bound(name: str) -> list[date | None]:
        return [None if b is None else getattr(b, name) for b in bounds]

    app_ref = cols.text(APP_REF, required=True, max_len=20)
    pupil_ref = cols.text(PUPIL_REF, required=True, max_len=20)
    dob = cols.date(DOB, required=True, earliest=bound("born_from"), latest=bound("born_to"))
    received = cols.date(
        RECEIVED, required=True, earliest=bound("received_from"), latest=bound("received_to")
    )
    pupil_columns = _run(cols, PUPIL_CHECKS)
    pupil_columns.insert(2, dob)  # PUPIL_FIELDS order
    app_columns = _run(cols, APPLICATION_CHECKS)
    bad = np.array(unset, dtype=bool)
    for checked in (app_ref, pupil_ref, received, *pupil_columns, *app_columns):
        bad |= checked.bad
    pupils = list(map(PupilDetails._make, zip(*(c.values for c in pupil_columns), strict=True)))
    apps = list(
        map(
            Application._make,
            zip(
                pupil_ref.values,
                year,  # academic_year, as written in the file
                received.values,
                *(c.values for c in app_columns),
                strict=True,
            ),
        )
    )
    return app_ref.values, pupils, apps, bad.tolist()


def may_determine(user_id: int | None) -> bool:
    """Whether the importing account may record determinations on the form (an officer)."""
    if user_id is None:
        return False
    user = db.session.get(User, user_id)
    return bool(user is not None and user.active and user.has_role(Role.OFFICER))


def _refused_determinations(table: Table, officer: bool) -> dict[int, list[tuple[str, str]]]:
    """Per row index, the determination cells this importer may not write, and why."""
    refused: dict[int, list[tuple[str, str]]] = {}
    for column in DETERMINATION_FIELDS:
        cells = table.data.get(column)
        if cells is None:
            continue
        if column in IMPORTED_DETERMINATIONS:
            if officer:
                continue
            reason = (
                "only an eligibility officer can record that a route is unsuitable (A12); "
                "leave it blank or 'no', and an officer records it on the application"
            )
            hits = [i for i, text in enumerate(cells) if text and text.lower() not in FALSE_WORDS]
        else:
            reason = (
                "this determination is not imported; an officer records it on the "
                "application's screen"
            )
            hits = [i for i, text in enumerate(cells) if text]
        for i in hits:
            refused.setdefault(i, []).append((column, reason))
    return refused


def import_applications(
    data: bytes,
    filename: str,
    *,
    commit: bool = True,
    today: date | None = None,
    user_id: int | None = None,
) -> ImportReport:
    """Check and (if `commit`) write the file, as the account `user_id` (None: no officer).

    The account decides what may be written, as on the form: determinations need an officer,
    who is then recorded as the determiner with the time (module docstring).
    """
    today = today or clock.today()
    report = ImportReport(kind="Pupils and applications")
    table = read_table(data, filename, report)
    if table is None or not require_columns(table, REQUIRED, report):
        return report
    years = _years(today)
    officer = may_determine(user_id)
    refused = _refused_determinations(table, officer)

    app_refs, row_pupils, row_apps, recheck = _check_columns(table, years)
    pupils: dict[str, tuple[int, PupilDetails]] = {}
    apps: dict[str, tuple[int, Application]] = {}
    # (pupil reference, year, URN) -> (row, application reference): one application each.
    applied: dict[tuple[str, str, int], tuple[int, str]] = {}
    report.rows_in_scope += len(table)
    each = zip(table.numbers, recheck, app_refs, row_pupils, row_apps, strict=True)
    for i, (row, again, app_ref, pupil, app) in enumerate(each):
        for column, reason in refused.get(i, ()):
            report.error(row, column, reason)
        if again:
            checked = _check_row(Cells(row, table.row(i), report), years)
            if checked is None:
                continue
            app_ref, pupil_ref, pupil, app = checked
        else:
            pupil_ref = app.pupil_reference
        if app_ref in apps:
            report.error(row, APP_REF, f"{app_ref} appears again (first on row {apps[app_ref][0]})")
            continue
        if pupil_ref in pupils:
            first_row, first = pupils[pupil_ref]
            if first != pupil:
                fields = zip(PUPIL_FIELDS, first, pupil, strict=True)
                clash = next(k for k, was, now in fields if was != now)
                report.error(
                    row,
                    PUPIL_COLUMN[clash],
                    f"pupil {pupil_ref} has different details on row {first_row}",
                )
                continue
        else:
            pupils[pupil_ref] = (row, pupil)
        same = (pupil_ref, app.academic_year, app.urn)
        if same in applied:
            first_row, first_ref = applied[same]
            report.error(
                row,
                URN,
                f"pupil {pupil_ref} already has a {app.academic_year} application to URN "
                f"{app.urn} ({first_ref} on row {first_row}): one application per child, "
                "year and school",
            )
            continue
        applied[same] = (row, app_ref)
        apps[app_ref] = (row, app)
    contacts = read_contacts(table, report, PUPIL_REF)
    if not report.ok:
        return report

    # Set-based look-ups, one query each.
    schools = lookup(School.urn, School.id, {a.urn for _, a in apps.values()})
    parishes = lookup(
        Parish.code, Parish.id, {p.parish_code for _, p in pupils.values() if p.parish_code}
    )
    for row, app in apps.values():
        if app.urn not in schools:
            report.error(row, URN, f"unknown URN {app.urn} (import the school first)")
    in_county = lookup(
        Parish.code, Parish.in_county, {p.parish_code for _, p in pupils.values() if p.parish_code}
    )
    for ref, (row, pupil) in list(pupils.items()):
        if pupil.parish_code and pupil.parish_code not in parishes:
            report.error(row, PARISH, f"unknown parish code {pupil.parish_code!r}")
            continue
        pupils[ref] = (row, _resident(row, pupil, in_county, report))

    held_pupils = {
        r.reference: r
        for r in db.session.execute(
            select(Pupil.id, Pupil.reference, *(getattr(Pupil, f) for f in STORED_FIELDS)).where(
                among(Pupil.reference, pupils)
            )
        )
    }
    held_apps = {
        r.reference: r
        for r in db.session.execute(
            select(
                TransportApplication.reference,
                TransportApplication.academic_year,
                TransportApplication.school_id,
                Pupil.reference.label("pupil_reference"),
            )
            .join(Pupil, Pupil.id == TransportApplication.pupil_id)
            .where(among(TransportApplication.reference, apps))
        )
    }
    if not report.ok:
        return report

    pupil_inserts: list[tuple[Any, ...]] = []
    pupil_updates: list[dict[str, Any]] = []
    for ref, (row, pupil) in pupils.items():
        stored = _stored(pupil, parishes)
        held = held_pupils.get(ref)
        if held is None:
            pupil_inserts.append((ref, *stored))
            report.inserted["pupils"] += 1
            report.change(row, "insert", ref, f"pupil {pupil.first_name} {pupil.last_name}")
            continue
        if tuple(held[2:]) == stored:
            report.unchanged["pupils"] += 1
            continue
        changed = {
            k: v for k, v, was in zip(STORED_FIELDS, stored, held[2:], strict=True) if was != v
        }
        pupil_updates.append({"id": held.id, **changed})
        report.updated["pupils"] += 1
        report.change(row, "update", ref, "pupil: " + ", ".join(changed))

    held_same = _held_applications_of(
        {p.id for p in held_pupils.values()}, {a.academic_year for _, a in apps.values()}
    )
    new_apps: list[tuple[str, Application]] = []
    for ref, (row, app) in apps.items():
        held = held_apps.get(ref)
        pupil_held = held_pupils.get(app.pupil_reference)
        twin = (
            held_same.get((pupil_held.id, app.academic_year, schools[app.urn]))
            if pupil_held is not None
            else None
        )
        if held is None and twin is not None:
            report.error(
                row,
                URN,
                f"pupil {app.pupil_reference} already has a {app.academic_year} application "
                f"to URN {app.urn} ({twin}, held in the panel): one application per child, "
                "year and school",
            )
            continue
        if held is None:
            new_apps.append((ref, app))
            report.inserted["applications"] += 1
            report.change(row, "insert", ref, f"{app.academic_year} application to URN {app.urn}")
        elif (
            held.pupil_reference == app.pupil_reference
            and held.academic_year == app.academic_year
            and held.school_id == schools[app.urn]
        ):
            report.unchanged["applications"] += 1
        else:
            report.error(
                row,
                APP_REF,
                f"{ref} is already held for pupil {held.pupil_reference}, "
                f"{held.academic_year}, a different school or pupil (a clash with the database)",
            )
    contacts = plan_contacts(contacts, report)
    if not commit or not report.ok:
        db.session.rollback()
        return report

    # An officer's determinations are theirs, as on the form (admin_views.transport_applications).
    determined = [ref for ref, app in new_apps if officer and app.route_unsuitable]
    # One INSERT ... SELECT per table (imports.reading.insert_rows), audited by the session.
    try:
        insert_rows(Pupil, ("reference", *STORED_FIELDS), pupil_inserts)
        if pupil_updates:
            bulk_update(Pupil, pupil_updates)
        pupil_ids = {ref: held.id for ref, held in held_pupils.items()}
        pupil_ids.update(lookup(Pupil.reference, Pupil.id, [p[0] for p in pupil_inserts]))
        insert_rows(
            TransportApplication,
            APPLICATION_COLUMNS,
            [
                (
                    ref,
                    pupil_ids[app.pupil_reference],
                    app.academic_year,
                    schools[app.urn],
                    app.received_on,
                    ApplicationStatus.RECEIVED,
                    app.distance_m,
                    app.distance_method,
                    app.route_unsuitable,
                    app.religion_or_belief,
                    app.exceptional_circumstances,
                    app.full_time_hours,
                    app.school_named_in_ehcp,
                )
                for ref, app in new_apps
            ],
        )
        if determined:
            db.session.execute(
                update(TransportApplication)
                .where(among(TransportApplication.reference, determined))
                .values(determined_by_id=user_id, determined_at=datetime.now(UTC))
            )
        write_contacts(contacts, pupil_ids)
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


def _held_applications_of(pupil_ids: set[int], labels: set[str]) -> dict[tuple[int, str, int], str]:
    """The held applications of these pupils in these years, by (pupil, year, school)."""
    if not pupil_ids:
        return {}
    return {
        (pupil_id, year, school_id): reference
        for pupil_id, year, school_id, reference in db.session.execute(
            select(
                TransportApplication.pupil_id,
                TransportApplication.academic_year,
                TransportApplication.school_id,
                TransportApplication.reference,
            ).where(
                among(TransportApplication.pupil_id, pupil_ids),
                TransportApplication.academic_year.in_(labels),
            )
        )
    }


def _stored(pupil: PupilDetails, parishes: dict[str, int]) -> tuple[Any, ...]:
    """The pupil's values in STORED_FIELDS order."""
    parish_id = parishes.get(pupil.parish_code) if pupil.parish_code else None
    return (*pupil[:6], *pupil[7:], parish_id)


def _resident(
    row: int, pupil: PupilDetails, in_county: dict[str, bool], report: ImportReport
) -> PupilDetails:
    """A2: residence from the home parish's "in county" when the file does not say; a file
    that says otherwise than its parish is refused (the parish screen's promise)."""
    parish = in_county.get(pupil.parish_code) if pupil.parish_code else None
    said = pupil.lives_in_county
    if said is None:
        return pupil._replace(lives_in_county=True if parish is None else bool(parish))
    if parish is not None and said != bool(parish):
        where = "in" if parish else "outside"
        report.error(
            row,
            IN_COUNTY,
            f"says {'yes' if said else 'no'} but parish {pupil.parish_code} is {where} the "
            "county (A2); correct the file or the parish",
        )
    return pupil
