"""The measurements: each returns seconds (or a rate) for one thing a user will feel.

The services under test belong to other modules (services.assessment, services.seats,
imports.applications); they are found by name at run time, so the harness still reports the
rest when one of them is missing or has changed its signature, with the reason in the table.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Date, Engine, Numeric, event, func, select, text

from bench import county as county_mod


class Unavailable(Exception):
    """The code a measurement drives is not there (yet), or refused the benchmark's input."""


@dataclass
class Figure:
    """One measured value and what it means; `value` is None when it could not be measured."""

    value: float | None
    unit: str
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    cpu: float | None = None  # the same measure on this process's CPU time, when it has one


# --------------------------------------------------------------------------------------------
# Plumbing


def _find(module_name: str, names: tuple[str, ...]) -> Callable[..., Any]:
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise Unavailable(f"{module_name} not importable: {error}") from error
    for name in names:
        candidate = getattr(module, name, None)
        if callable(candidate):
            return candidate
    raise Unavailable(f"{module_name} has none of {', '.join(names)}")


@contextmanager
def query_counter(engine: Engine) -> Iterator[list[str]]:
    """Every statement sent to the database while the block runs (N+1 shows up here)."""
    seen: list[str] = []

    def listener(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def _count(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


# --------------------------------------------------------------------------------------------
# Bulk assessment and its floor

FACTS_SQL = """
SELECT ta.id, ta.academic_year, ta.school_id, ta.distance_m, ta.route_unsuitable,
       ta.religion_or_belief, ta.exceptional_transport_need, ta.medical_who,
       ta.medical_accepted, ta.medical_until, ta.exceptional_circumstances,
       ta.exceptional_accepted, ta.purchase_order, ta.full_time_hours, ta.higher_education,
       ta.apprenticeship, ta.repeat_or_non_progression, ta.programme_started_before_19,
       ta.post19_need_determined,
       p.date_of_birth, p.year_group_override, p.lives_in_county, p.ehcp, p.care_by,
       p.care_placement, p.easting AS home_e, p.northing AS home_n,
       s.establishment_type, s.phase, s.easting AS school_e, s.northing AS school_n,
       li.id IS NOT NULL AS low_income,
       (SELECT min(d.school_id) FROM dta_area da JOIN dta d ON d.id = da.dta_id
         WHERE da.parish_id = p.parish_id AND d.school_id = ta.school_id) AS dta_school
FROM transport_application ta
JOIN pupil p ON p.id = ta.pupil_id
JOIN school s ON s.id = ta.school_id
LEFT JOIN low_income_evidence li
       ON li.pupil_id = p.id AND li.academic_year = ta.academic_year
WHERE ta.academic_year = :year
ORDER BY ta.id
"""


def read_fact_rows(conn: Connection, year: str = county_mod.YEAR) -> list[dict[str, Any]]:
    """The rows (and joins) an assessment needs: application, pupil, school, evidence, DTA."""
    typed = text(FACTS_SQL).columns(
        date_of_birth=Date, medical_until=Date, full_time_hours=Numeric(5, 2)
    )
    return [dict(row) for row in conn.execute(typed, {"year": year}).mappings()]


def floor(engine: Engine) -> Figure:
    """Bare SQL: read the same rows, insert as many decision rows, commit; then undo it.

    The decision rows carry the row's facts as JSON and their hash, as the real ones must, but
    no rules, no ORM and no per-row logic: nothing a real run could do without.
    """
    from models import EligibilityDecision

    table = EligibilityDecision.__table__
    typed = text(FACTS_SQL).columns(
        date_of_birth=Date, medical_until=Date, full_time_hours=Numeric(5, 2)
    )
    start, cpu = time.perf_counter(), time.process_time()
    with engine.begin() as conn:
        result = conn.execute(typed, {"year": county_mod.YEAR})
        keys = list(result.keys())
        rows = result.all()
        now = datetime.now(UTC)
        decisions = []
        for row in rows:
            facts = dict(zip(keys, row, strict=True))
            facts["date_of_birth"] = facts["date_of_birth"].isoformat()
            if facts["medical_until"] is not None:
                facts["medical_until"] = facts["medical_until"].isoformat()
            if facts["full_time_hours"] is not None:
                facts["full_time_hours"] = str(facts["full_time_hours"])
            digest = hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()
            decisions.append(
                {
                    "application_id": facts["id"],
                    "outcome": "refer",
                    "basis": None,
                    "clauses": [],
                    "charge": None,
                    "valid_until": None,
                    "review_date": None,
                    "reasons": [],
                    "facts": facts,
                    "facts_hash": digest,
                    "parameters_year": county_mod.YEAR,
                    "decided_at": now,
                }
            )
        if decisions:
            conn.execute(table.insert(), decisions)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    with engine.begin() as conn:
        conn.execute(table.delete())
    return Figure(
        elapsed,
        "s",
        f"cpu {cpu:.2f} s; {len(rows):,} rows read, {len(decisions):,} inserted",
        cpu=cpu,
    )


def bulk_assessment(app: Flask, engine: Engine, user_id: int) -> Figure:
    """The service behind `flask assess run --year`, on the whole year, end to end."""
    fn = _find("services.assessment", ("assess_applications",))
    from models import EligibilityDecision, TransportApplication, db

    with app.app_context():
        start, cpu = time.perf_counter(), time.process_time()
        summary = fn(
            where=TransportApplication.academic_year == county_mod.YEAR,
            user_id=user_id,
            session=db.session,
        )
        db.session.commit()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        db.session.remove()
        written = db.session.scalar(select(func.count()).select_from(EligibilityDecision))
        db.session.remove()
    outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.by_outcome.items()))
    skipped = f", {len(summary.skipped):,} not assessed" if summary.skipped else ""
    return Figure(
        elapsed,
        "s",
        f"cpu {cpu:.2f} s; {written:,} decisions written: {outcomes}{skipped}",
        cpu=cpu,
    )


# --------------------------------------------------------------------------------------------
# Rules alone


def case_from_row(row: dict[str, Any]) -> Any:
    """A rules Case from a fact row, mapped as RULES.md describes (for the throughput run only)."""
    from rules.assess import Care, Case, ExceptionalCircumstances, Medical, Post16
    from rules.vocab import CareBy, MedicalWho, Placement, SchoolType

    est = row["establishment_type"]
    school_type = {
        "independent": SchoolType.INDEPENDENT,
        "academy": SchoolType.ACADEMY,
        "free_school": SchoolType.ACADEMY,
        "special": SchoolType.SPECIAL,
        "fe_college": SchoolType.FE_COLLEGE,
        "alternative_provision": SchoolType.ALTERNATIVE_PROVISION,
    }.get(est, SchoolType.MAINTAINED)
    straight = None
    if None not in (row["home_e"], row["school_e"]):
        straight = int(
            ((row["home_e"] - row["school_e"]) ** 2 + (row["home_n"] - row["school_n"]) ** 2) ** 0.5
        )
    medical = None
    if row["medical_who"]:
        medical = Medical(
            who=MedicalWho(row["medical_who"]),
            accepted=row["medical_accepted"],
            until=row["medical_until"],
        )
    care = None
    if row["care_by"]:
        care = Care(
            by=CareBy(row["care_by"]),
            placement=Placement(row["care_placement"]),
            purchase_order=row["purchase_order"],
        )
    post16 = None
    if row["full_time_hours"] is not None:
        post16 = Post16(
            full_time_hours=Decimal(row["full_time_hours"]),
            higher_education=bool(row["higher_education"]),
            apprenticeship=bool(row["apprenticeship"]),
            repeat_or_non_progression=bool(row["repeat_or_non_progression"]),
            programme_started_before_19=bool(row["programme_started_before_19"]),
            post19_need_determined=bool(row["post19_need_determined"]),
        )
    return Case(
        academic_year=row["academic_year"],
        date_of_birth=_as_date(row["date_of_birth"]),
        year_group=row["year_group_override"],
        lives_in_county=bool(row["lives_in_county"]),
        school_type=school_type,
        distance_m=row["distance_m"],
        straight_line_m=straight if row["distance_m"] is None else None,
        is_dta_school=row["dta_school"] is not None,
        is_nearest_suitable=row["id"] % 3 == 0,
        nearest_suitable_rank=row["id"] % 5 + 1,
        low_income=bool(row["low_income"]),
        religion_or_belief=bool(row["religion_or_belief"]),
        route_unsuitable=bool(row["route_unsuitable"]),
        ehcp=bool(row["ehcp"]),
        exceptional_transport_need=bool(row["exceptional_transport_need"]),
        medical=medical,
        care=care,
        exceptional_circumstances=ExceptionalCircumstances(accepted=row["exceptional_accepted"])
        if row["exceptional_circumstances"]
        else None,
        post16=post16,
    )


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def rules_throughput(rows: list[dict[str, Any]], min_seconds: float = 1.0) -> Figure:
    """Cases per second through rules.assess in this process, over the county's own mix."""
    try:
        from rules.assess import assess
        from rules.parameters import parameters_for
    except ImportError as error:
        raise Unavailable(f"rules.assess not importable: {error}") from error
    from rules.errors import RulesError

    params = parameters_for(county_mod.YEAR)
    cases = []
    for row in rows:
        try:
            case = case_from_row(row)
            assess(case, params)
        except RulesError:
            continue
        cases.append(case)
    if not cases:
        raise Unavailable("no case in the county was accepted by rules.assess")
    outcomes: dict[str, int] = {}
    for case in cases:
        outcome = str(assess(case, params).outcome)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    done = 0
    start, cpu = time.perf_counter(), time.process_time()
    while True:
        for case in cases:
            assess(case, params)
        done += len(cases)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            break
    cpu = time.process_time() - cpu
    mix = ", ".join(f"{k} {v * 100 // len(cases)}%" for k, v in sorted(outcomes.items()))
    return Figure(
        done / elapsed,
        "cases/s",
        f"{done / cpu:,.0f}/s per cpu second; {len(cases):,} distinct cases ({mix})",
        cpu=done / cpu,
    )


# --------------------------------------------------------------------------------------------
# Allocation


def allocation(app: Flask, user_id: int) -> Figure:
    """services.seats.allocate: every pending concessionary application, every route, one call."""
    fn = _find("services.seats", ("allocate",))
    from models import ConcessionaryApplication, db

    with app.app_context():
        start, cpu = time.perf_counter(), time.process_time()
        # Before term starts, as the team would run it in the summer (Appendix F).
        result = fn(county_mod.YEAR, on=date(2024, 8, 28), session=db.session)
        db.session.commit()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        pending = db.session.scalar(
            select(func.count())
            .select_from(ConcessionaryApplication)
            .where(ConcessionaryApplication.status == "pending")
        )
        db.session.remove()
    return Figure(
        elapsed,
        "s",
        f"cpu {cpu:.2f} s; {pending:,} still pending afterwards",
        cpu=cpu,
        extra={"result": repr(result)[:200]},
    )


# --------------------------------------------------------------------------------------------
# List pages


@dataclass
class PageCase:
    name: str
    endpoint: str
    query: dict[str, str]


def sign_in(app: Flask, username: str, password: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": password})
    if response.status_code != 302:
        raise Unavailable(f"signing in as the benchmark supervisor failed ({response.status_code})")
    return client


LIST_ENDPOINTS = (
    ("transport applications", "transport_application"),
    ("pupils", "pupil"),
    ("concessionary applications", "concessionary_application"),
)
# What a user would type: a reference (one row matches) and a surname (hundreds do), taken
# from the middle of the table so the value exists at any scale. Both, because a search
# plan that is quick for one can be slow for the other (bench/profiles/NOTES.md).
SEARCH_SQL = {
    "transport_application": (
        ("search", "SELECT reference FROM transport_application WHERE id = :id"),
        (
            "search by surname",
            "SELECT p.last_name FROM transport_application ta "
            "JOIN pupil p ON p.id = ta.pupil_id WHERE ta.id = :id",
        ),
    ),
    "pupil": (
        ("search", "SELECT last_name FROM pupil WHERE id = :id"),
        ("search by reference", "SELECT reference FROM pupil WHERE id = :id"),
    ),
    "concessionary_application": (
        ("search", "SELECT reference FROM concessionary_application WHERE id = :id"),
    ),
}
# The filter a user would reach for first on each list: (words in its name, value).
PREFERRED_FILTERS = {
    "transport_application": ("status", "received"),
    "pupil": ("ehcp", "1"),
    "concessionary_application": ("status", "pending"),
}


def _view(app: Flask, endpoint: str) -> Any:
    admin = app.extensions["admin"][0]
    for view in admin._views:
        if getattr(view, "endpoint", None) == endpoint:
            return view
    raise Unavailable(f"no admin view with endpoint {endpoint}")


def _filter_query(view: Any, endpoint: str) -> dict[str, str] | None:
    """The view's "equals" filter on the preferred column, else its first one with choices."""
    filters = list(view._filters or ())
    if not filters:
        return None
    wanted, value = PREFERRED_FILTERS.get(endpoint, ("", ""))
    equals = [
        (i, flt)
        for i, flt in enumerate(filters)
        if str(getattr(flt.operation(), "_args", [flt.operation()])[0]).lower() == "equals"
    ]
    for i, flt in equals:
        if wanted and wanted in str(flt.name).lower():
            return {f"flt0_{view.get_filter_arg(i, flt)}": value}
    for i, flt in equals:
        options = flt.get_options(view)
        if options:
            return {f"flt0_{view.get_filter_arg(i, flt)}": str(options[0][0])}
    return None


def page_cases(app: Flask, engine: Engine) -> list[PageCase]:
    """Default sort, first page, a middle page, a search, and a filter, for each list view."""
    cases: list[PageCase] = []
    with app.test_request_context():
        for label, endpoint in LIST_ENDPOINTS:
            try:
                view = _view(app, endpoint)
            except Unavailable:
                continue
            with engine.connect() as conn:
                total = _count(conn, endpoint)
                terms = [
                    (name, conn.execute(text(sql), {"id": max(1, total // 2)}).scalar())
                    for name, sql in SEARCH_SQL[endpoint]
                ]
            pages = max(1, -(-total // (view.page_size or 20)))
            cases.append(PageCase(f"{label}: first page", endpoint, {}))
            cases.append(PageCase(f"{label}: middle page", endpoint, {"page": str(pages // 2)}))
            searchable = bool(view.column_searchable_list)
            cases += [
                PageCase(f"{label}: {name}", endpoint, {"search": str(term)} if searchable else {})
                for name, term in terms
            ]
            cases.append(
                PageCase(f"{label}: filter", endpoint, _filter_query(view, endpoint) or {})
            )
    return cases


def list_page(
    app: Flask, engine: Engine, client: FlaskClient, case: PageCase, repeat: int
) -> Figure:
    """Median server time of `repeat` requests (after one warm-up) and the queries per page."""
    url = f"/admin/{case.endpoint}/"
    if ": search" in case.name and not case.query:
        return Figure(None, "ms", "view has no search (column_searchable_list empty)")
    if case.name.endswith(": filter") and not case.query:
        return Figure(None, "ms", "view has no filters (column_filters empty)")
    response = client.get(url, query_string=case.query)
    if response.status_code != 200:
        return Figure(None, "ms", f"HTTP {response.status_code} for {url}?{case.query}")
    times: list[float] = []
    cpus: list[float] = []
    queries = 0
    for _ in range(repeat):
        with query_counter(engine) as seen:
            start, cpu = time.perf_counter(), time.process_time()
            response = client.get(url, query_string=case.query)
            times.append((time.perf_counter() - start) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        queries = len(seen)
        if response.status_code != 200:
            return Figure(None, "ms", f"HTTP {response.status_code}")
    body = response.get_data(as_text=True)
    rows = body.count('name="rowid"')
    return Figure(
        statistics.median(times),
        "ms",
        f"{queries} queries, {rows} rows, cpu {statistics.median(cpus):.0f} ms",
        cpu=statistics.median(cpus),
        extra={"queries": queries, "rows": rows},
    )


def home_page(engine: Engine, client: FlaskClient, repeat: int) -> Figure:
    """The home page's counts for the signed-in user (issue 14): median time, queries.

    The panel's clock is set to the county's own day (`county.TODAY`), so the counts are the
    county year's (every decision, seat and letter owed), not an empty year's."""
    from unittest import mock

    with mock.patch("services.years.today", return_value=county_mod.TODAY):
        return _home_page(engine, client, repeat)


def _home_page(engine: Engine, client: FlaskClient, repeat: int) -> Figure:
    response = client.get("/admin/")
    if response.status_code != 200:
        return Figure(None, "ms", f"HTTP {response.status_code} for /admin/")
    times: list[float] = []
    cpus: list[float] = []
    queries = 0
    for _ in range(repeat):
        with query_counter(engine) as seen:
            start, cpu = time.perf_counter(), time.process_time()
            response = client.get("/admin/")
            times.append((time.perf_counter() - start) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        queries = len(seen)
    return Figure(
        statistics.median(times),
        "ms",
        f"{queries} queries, cpu {statistics.median(cpus):.0f} ms",
        cpu=statistics.median(cpus),
        extra={"queries": queries},
    )


# --------------------------------------------------------------------------------------------
# Import

IMPORT_YEAR = "2025/26"  # next year's applications: the demo county sets that year up too


def write_import_file(path: Path, rows: int, engine: Engine) -> Path:
    """A case-management export of `rows` applications for next year, in the importer's columns.

    Half are re-applications by pupils already held (their details unchanged, so matched, not
    updated), half are new pupils, as a real September export would be.
    """
    try:
        from imports.applications import COLUMNS
    except ImportError:
        COLUMNS = ()  # noqa: N806 - the importer is missing; the measurement will say so
    with engine.connect() as conn:
        held = conn.execute(
            text(
                "SELECT p.reference, p.first_name, p.last_name, p.date_of_birth, p.address, "
                "p.town, p.postcode, pa.code, p.easting, p.northing, p.lives_in_county, "
                "p.send, p.ehcp FROM pupil p LEFT JOIN parish pa ON pa.id = p.parish_id "
                "ORDER BY p.id LIMIT :n"
            ).columns(date_of_birth=Date),
            {"n": rows // 2},
        ).all()
        schools = (
            conn.execute(
                text(
                    "SELECT urn FROM school WHERE establishment_type <> 'independent' "
                    "AND is_open ORDER BY id"
                )
            )
            .scalars()
            .all()
        )
        parishes = conn.execute(text("SELECT code, in_county FROM parish ORDER BY id")).all()
    yes_no = {True: "yes", False: "no"}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS) or ["application_reference"])
        writer.writeheader()
        for i in range(rows):
            if i < len(held):
                ref, first, last, dob, address, town, pc, parish, east, north, inc, send, ehcp = (
                    held[i]
                )
            else:
                ref = f"IMP{i:07d}"
                first, last = ("Sam", "Jordan", "Alex", "Robin")[i % 4], f"Newcomer{i}"
                dob = date(2010 + i % 11, 1 + i % 12, 1 + i % 28)
                address, town, pc = f"{1 + i % 200} Mill Lane", "Louth", "LN11 9AA"
                parish, inc = parishes[i % len(parishes)]  # A2: resident where the parish is
                east, north = 530_000, 388_000
                send, ehcp = i % 13 == 0, i % 29 == 0
            values = {
                "application_reference": f"TRB{i:07d}",
                "pupil_reference": ref,
                "first_name": first,
                "last_name": last,
                "date_of_birth": dob.strftime("%d/%m/%Y"),
                "address": address,
                "town": town or "",
                "postcode": pc,
                "parish_code": parish or "",
                "easting": "" if east is None else str(east),
                "northing": "" if north is None else str(north),
                "lives_in_county": yes_no[bool(inc)],
                "send": yes_no[bool(send)],
                "ehcp": yes_no[bool(ehcp)],
                "academic_year": IMPORT_YEAR,
                "school_urn": str(schools[(i * 7) % len(schools)]),
                "received_on": "01/05/2025",
                "distance_m": str(800 + (i * 37) % 20_000),
                "distance_method": "driving_route",
                "route_unsuitable": "no",
                "religion_or_belief": "no",
                "exceptional_circumstances": "no",
                "full_time_hours": "",
            }
            writer.writerow({c: values.get(c, "") for c in writer.fieldnames})
    return path


def import_file(app: Flask, path: Path) -> Figure:
    """imports.applications on the generated file: read, check every row, insert, commit."""
    fn = _find("imports.applications", ("import_applications",))
    from models import TransportApplication, db

    data = path.read_bytes()
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(TransportApplication))
        start, cpu = time.perf_counter(), time.process_time()
        report = fn(data, path.name, commit=True)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        db.session.remove()
        after = db.session.scalar(select(func.count()).select_from(TransportApplication))
        db.session.remove()
    if not report.ok or not report.committed:
        first = report.errors[0] if report.errors else "not committed"
        raise Unavailable(f"importer refused the file ({report.error_count} errors; {first})")
    added = after - before
    counts = ", ".join(f"{k} {v:,}" for k, v in report.counts().items() if v)
    return Figure(
        elapsed, "s", f"cpu {cpu:.2f} s; {added:,} applications added; rows {counts}", cpu=cpu
    )
