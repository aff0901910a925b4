"""The facts a council keeps in its own lists, imported without the browser (issue 11).

Four files, each all-or-nothing with a row-and-column report like the other imports, and each
idempotent (re-importing the same file changes nothing):

low-income (A5, A6: free-school-meals or maximum Working Tax Credit lists, per year)
    pupil_reference*, academic_year* (2024/25), evidence* (e.g. free school meals),
    verified_on* (dd/mm/yyyy). One row per pupil and year; a later file replaces the evidence.

care (A21, A22: looked-after children and their placements)
    pupil_reference*, care_by (council or other_la; blank: not in care), care_placement
    (temporary or permanent; needed when care_by is given), care_home_la (the placing council;
    needed for other_la).

satellites (A3f, A7i: a satellite is its main site)
    urn*, main_site_urn (blank: the school is a main site).

post16 (A7, A8, A16: the course facts, on the transport application)
    reference* (the TRA number), and any of: full_time_hours, higher_education,
    apprenticeship, repeat_or_non_progression, programme_started_before_19 (yes/no). A blank
    cell leaves the stored value as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from models import AcademicYear, LowIncomeEvidence, Pupil, School, TransportApplication, db
from rules.vocab import CareBy, Placement

from .reading import (
    ROW,
    Cells,
    bulk_update,
    insert_rows,
    lookup,
    read_table,
    require_columns,
    yes_no,
)
from .report import ImportReport

Importer = Callable[..., ImportReport]


def _finish(report: ImportReport, commit: bool, write: Callable[[], None]) -> ImportReport:
    """All or nothing: write only a clean file, and only when asked."""
    if not commit or not report.ok:
        db.session.rollback()
        return report
    try:
        write()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    report.committed = True
    return report


def _pupils(refs: list[str]) -> dict[str, int]:
    return lookup(Pupil.reference, Pupil.id, refs)


# --------------------------------------------------------------------------- low income


def import_low_income(data: bytes, filename: str, *, commit: bool = True) -> ImportReport:
    report = ImportReport("low-income")
    table = read_table(data, filename, report)
    required = ("pupil_reference", "academic_year", "evidence", "verified_on")
    if table is None or not require_columns(table, required, report):
        return report
    report.rows_in_scope = len(table)
    years = dict(db.session.execute(select(AcademicYear.label, AcademicYear.ends)).all())
    pupils = _pupils(sorted({r["pupil_reference"] for r in table.rows}))
    seen: dict[tuple[int, str], int] = {}
    wanted: dict[tuple[int, str], tuple[str, Any, int]] = {}
    for row in table.rows:
        cells = Cells(row[ROW], row, report)
        ref = cells.text("pupil_reference", required=True, max_len=20)
        year = cells.text("academic_year", required=True, max_len=7)
        evidence = cells.text("evidence", required=True, max_len=120)
        verified = cells.date("verified_on", required=True)
        if ref and ref not in pupils:
            report.error(row[ROW], "pupil_reference", f"no pupil {ref!r} (import them first)")
            continue
        if year and year not in years:
            report.error(row[ROW], "academic_year", f"no academic year {year!r}")
            continue
        if cells.failed or not (ref and year and evidence and verified):
            continue
        key = (pupils[ref], year)
        if key in seen:
            report.error(row[ROW], "pupil_reference", f"{ref} {year} is also on row {seen[key]}")
            continue
        seen[key] = row[ROW]
        wanted[key] = (evidence, verified, row[ROW])
    held = {
        (e.pupil_id, e.academic_year): e
        for e in db.session.scalars(
            select(LowIncomeEvidence).where(
                LowIncomeEvidence.pupil_id.in_(sorted({k[0] for k in wanted}))
            )
        )
    }
    inserts: list[tuple[Any, ...]] = []
    updates: list[dict[str, Any]] = []
    for (pupil_id, year), (evidence, verified, number) in wanted.items():
        old = held.get((pupil_id, year))
        if old is None:
            inserts.append((pupil_id, year, evidence, verified))
            report.inserted["low-income evidence"] += 1
            report.change(number, "insert", f"{year}", evidence)
        elif (old.evidence, old.verified_on) != (evidence, verified):
            updates.append({"id": old.id, "evidence": evidence, "verified_on": verified})
            report.updated["low-income evidence"] += 1
            report.change(number, "update", f"{year}", evidence)
        else:
            report.unchanged["low-income evidence"] += 1

    def write() -> None:
        insert_rows(
            LowIncomeEvidence, ("pupil_id", "academic_year", "evidence", "verified_on"), inserts
        )
        if updates:
            bulk_update(LowIncomeEvidence, updates)

    return _finish(report, commit, write)


# --------------------------------------------------------------------------------- care


def import_care(data: bytes, filename: str, *, commit: bool = True) -> ImportReport:
    report = ImportReport("care")
    table = read_table(data, filename, report)
    if table is None or not require_columns(table, ("pupil_reference", "care_by"), report):
        return report
    report.rows_in_scope = len(table)
    refs = sorted({r["pupil_reference"] for r in table.rows})
    held = {
        p.reference: p for p in db.session.scalars(select(Pupil).where(Pupil.reference.in_(refs)))
    }
    updates: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for row in table.rows:
        cells = Cells(row[ROW], row, report)
        ref = cells.text("pupil_reference", required=True, max_len=20)
        by = cells.choice("care_by", CareBy)
        placement = (
            cells.choice("care_placement", Placement) if cells.has("care_placement") else None
        )
        home_la = cells.text("care_home_la", max_len=120) if cells.has("care_home_la") else None
        if ref is None or cells.failed:
            continue
        pupil = held.get(ref)
        if pupil is None:
            report.error(row[ROW], "pupil_reference", f"no pupil {ref!r} (import them first)")
            continue
        if ref in seen:
            report.error(row[ROW], "pupil_reference", f"{ref} is also on row {seen[ref]}")
            continue
        seen[ref] = row[ROW]
        if by is not None and placement is None:
            report.error(row[ROW], "care_placement", "say temporary or permanent (A21)")
            continue
        if by is CareBy.OTHER_LA and not home_la:
            report.error(row[ROW], "care_home_la", "name the placing council (A22)")
            continue
        if by is None and (placement is not None or home_la):
            report.error(row[ROW], "care_by", "a placement needs care_by (council or other_la)")
            continue
        values = {
            "care_by": by,
            "care_placement": placement,
            "care_home_la": home_la if by is CareBy.OTHER_LA else None,
        }
        stored = {
            "care_by": CareBy(pupil.care_by) if pupil.care_by else None,
            "care_placement": Placement(pupil.care_placement) if pupil.care_placement else None,
            "care_home_la": pupil.care_home_la,
        }
        if values == stored:
            report.unchanged["pupils"] += 1
            continue
        updates.append({"id": pupil.id, **values})
        report.updated["pupils"] += 1
        report.change(row[ROW], "update", ref, f"care {by.value if by else 'none'}")
    return _finish(report, commit, lambda: bulk_update(Pupil, updates) if updates else None)


# --------------------------------------------------------------------------- satellites


def import_satellites(data: bytes, filename: str, *, commit: bool = True) -> ImportReport:
    report = ImportReport("satellites")
    table = read_table(data, filename, report)
    if table is None or not require_columns(table, ("urn", "main_site_urn"), report):
        return report
    report.rows_in_scope = len(table)
    schools = {
        urn: (school_id, main)
        for urn, school_id, main in db.session.execute(
            select(School.urn, School.id, School.main_site_id)
        )
    }
    wanted: dict[int, tuple[int | None, int]] = {}
    for row in table.rows:
        cells = Cells(row[ROW], row, report)
        urn = cells.integer("urn", required=True, low=1)
        main_urn = cells.integer("main_site_urn", low=1)
        if cells.failed or urn is None:
            continue
        if urn not in schools:
            report.error(row[ROW], "urn", f"no school with URN {urn} (import GIAS first)")
            continue
        if main_urn is not None and main_urn not in schools:
            report.error(row[ROW], "main_site_urn", f"no school with URN {main_urn}")
            continue
        if main_urn == urn:
            report.error(row[ROW], "main_site_urn", "a school is not its own satellite")
            continue
        if urn in wanted:
            report.error(row[ROW], "urn", f"URN {urn} is also on row {wanted[urn][1]}")
            continue
        wanted[urn] = (schools[main_urn][0] if main_urn is not None else None, row[ROW])
    # A satellite's main site must itself be a main site once the file is applied (A3f).
    final = {school_id: main for school_id, main in schools.values()}
    final.update({schools[urn][0]: main for urn, (main, _) in wanted.items()})
    has_satellites = {main for main in final.values() if main is not None}
    updates: list[dict[str, Any]] = []
    for urn, (main_id, number) in wanted.items():
        if main_id is not None and final.get(main_id) is not None:
            report.error(number, "main_site_urn", "that school is itself a satellite (A3f)")
            continue
        if main_id is not None and schools[urn][0] in has_satellites:
            report.error(number, "urn", "this school is the main site of other schools (A3f)")
            continue
        school_id, stored = schools[urn]
        if stored == main_id:
            report.unchanged["schools"] += 1
            continue
        updates.append({"id": school_id, "main_site_id": main_id})
        report.updated["schools"] += 1
        report.change(number, "update", str(urn), f"main site {main_id or 'none'}")
    return _finish(report, commit, lambda: bulk_update(School, updates) if updates else None)


# ------------------------------------------------------------------------------ post-16

POST16_FLAGS = (
    "higher_education",
    "apprenticeship",
    "repeat_or_non_progression",
    "programme_started_before_19",
)


def import_post16(data: bytes, filename: str, *, commit: bool = True) -> ImportReport:
    report = ImportReport("post-16 course")
    table = read_table(data, filename, report)
    if table is None or not require_columns(table, ("reference",), report):
        return report
    given = [c for c in ("full_time_hours", *POST16_FLAGS) if c in table.columns]
    if not given:
        report.error(1, "full_time_hours", "no course column (full_time_hours, ...) in the file")
        return report
    report.rows_in_scope = len(table)
    ta = TransportApplication
    refs = sorted({r["reference"] for r in table.rows})
    held = {
        ref: (app_id, hours, *flags)
        for ref, app_id, hours, *flags in db.session.execute(
            select(
                ta.reference, ta.id, ta.full_time_hours, *(ta.__table__.c[f] for f in POST16_FLAGS)
            ).where(ta.reference.in_(refs))
        )
    }
    updates: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for row in table.rows:
        cells = Cells(row[ROW], row, report)
        ref = cells.text("reference", required=True, max_len=20)
        values: dict[str, Any] = {}
        if "full_time_hours" in given and cells.raw("full_time_hours"):
            values["full_time_hours"] = cells.decimal(
                "full_time_hours", low=Decimal("0"), high=Decimal("168")
            )
        for flag in POST16_FLAGS:
            if flag in given and cells.raw(flag):
                try:
                    values[flag] = yes_no(cells.raw(flag))
                except ValueError as error:
                    report.error(row[ROW], flag, str(error))
                    cells.failed = True
        if cells.failed or ref is None:
            continue
        if ref not in held:
            report.error(row[ROW], "reference", f"no application {ref!r}")
            continue
        if ref in seen:
            report.error(row[ROW], "reference", f"{ref} is also on row {seen[ref]}")
            continue
        seen[ref] = row[ROW]
        app_id, hours, *flags = held[ref]
        stored = {"full_time_hours": hours, **dict(zip(POST16_FLAGS, flags, strict=True))}
        changed = {k: v for k, v in values.items() if stored[k] != v}
        if not changed:
            report.unchanged["applications"] += 1
            continue
        updates.append({"id": app_id, **changed})
        report.updated["applications"] += 1
        report.change(row[ROW], "update", ref, ", ".join(sorted(changed)))
    return _finish(report, commit, lambda: bulk_update(ta, updates) if updates else None)


IMPORTERS: dict[str, Importer] = {
    "low-income": import_low_income,
    "care": import_care,
    "satellites": import_satellites,
    "post16": import_post16,
}
