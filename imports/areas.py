"""Parishes, postcodes and Designated Transport Areas (A14, Appendix A, Appendix G), CSV or XLSX.

One row per area (a parish or a postcode), optionally naming the school whose DTA includes it.
An area in several DTAs (a primary and a secondary one, say) is repeated, once per DTA, with the
same details. Column headers (found by name, any order; extra columns are ignored):

    area_type     required  "parish" or "postcode"
    area_code     required  the parish code (e.g. E04005678) or the postcode (e.g. LN1 1YL)
    area_name               the parish name (required on parish rows)
    district                the parish's district council
    in_county               yes/no, parish rows (default yes)
    parish_code             postcode rows: the parish the postcode lies in (in the file or held)
    easting, northing       postcode rows: British National Grid metres
    dta_urn                 URN of the school whose DTA includes this area
    dta_category            with dta_urn: primary, secondary_all_ability, grammar, sixth_form,
                            fe_college

Parishes and postcodes are matched by code: new ones are inserted, changed ones updated. A DTA is
one per school and category (created, named after the school, when missing) and an area is added
to it once; areas already in a DTA but absent from the file are left alone (removing an area is
a decision made on the DTA's own screen). A grammar DTA must belong to a selective school
(Appendix G). Any bad row imports nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from models import DesignatedTransportArea, DtaArea, Parish, Postcode, School, db
from models.enums import DtaCategory

from .reading import (
    ROW,
    Cells,
    bulk_update,
    chunks,
    lookup,
    read_table,
    records,
    require_columns,
    table_of,
)
from .report import ImportReport

AREA_TYPE = "area_type"
AREA_CODE = "area_code"
AREA_NAME = "area_name"
DISTRICT = "district"
IN_COUNTY = "in_county"
PARISH_CODE = "parish_code"
EASTING = "easting"
NORTHING = "northing"
DTA_URN = "dta_urn"
DTA_CATEGORY = "dta_category"

REQUIRED = (AREA_TYPE, AREA_CODE)
COLUMNS = (
    AREA_TYPE,
    AREA_CODE,
    AREA_NAME,
    DISTRICT,
    IN_COUNTY,
    PARISH_CODE,
    EASTING,
    NORTHING,
    DTA_URN,
    DTA_CATEGORY,
)


def _differs(
    report: ImportReport, row: int, first: tuple[int, dict[str, Any]], values: dict[str, Any]
) -> bool:
    first_row, first_values = first
    for key, value in values.items():
        if first_values.get(key) != value:
            report.error(row, key_column(key), f"differs from row {first_row} for the same area")
            return True
    return False


def key_column(field: str) -> str:
    return {
        "name": AREA_NAME,
        "district": DISTRICT,
        "in_county": IN_COUNTY,
        "parish_code": PARISH_CODE,
        "easting": EASTING,
        "northing": NORTHING,
    }.get(field, field)


def import_areas(data: bytes, filename: str, *, commit: bool = True) -> ImportReport:
    report = ImportReport(kind="Areas and DTAs")
    frame = read_table(data, filename, report)
    if frame is None or not require_columns(frame, REQUIRED, report):
        return report

    parishes: dict[str, tuple[int, dict[str, Any]]] = {}
    postcodes: dict[str, tuple[int, dict[str, Any]]] = {}
    links: dict[tuple[str, str, int, DtaCategory], int] = {}
    for rec in records(frame):
        row = int(rec[ROW])
        cells = Cells(row, rec, report)
        report.rows_in_scope += 1
        kind = cells.raw(AREA_TYPE).lower()
        if kind not in ("parish", "postcode"):
            cells._fail(AREA_TYPE, f"{cells.raw(AREA_TYPE)!r} is not parish or postcode")
            continue
        urn = cells.integer(DTA_URN, low=1, high=99_999_999)
        category = cells.choice(DTA_CATEGORY, DtaCategory, required=urn is not None)
        if urn is None and cells.raw(DTA_CATEGORY):
            cells._fail(DTA_URN, "a DTA category needs the DTA school's URN")
        values: dict[str, Any]
        if kind == "parish":
            code = cells.text(AREA_CODE, required=True, max_len=20)
            values = {
                "name": cells.text(AREA_NAME, required=True, max_len=120),
                "district": cells.text(DISTRICT, max_len=120),
                "in_county": cells.boolean(IN_COUNTY, default=True),
            }
            table = parishes
        else:
            code = cells.postcode(AREA_CODE, required=True)
            values = {
                "parish_code": cells.text(PARISH_CODE, max_len=20),
                "easting": cells.integer(EASTING, low=0, high=800_000),
                "northing": cells.integer(NORTHING, low=0, high=1_300_000),
            }
            table = postcodes
        if cells.failed or code is None:
            continue
        if code in table:
            if _differs(report, row, table[code], values):
                continue
        else:
            table[code] = (row, values)
        if urn is not None and category is not None:
            key = (kind, code, urn, category)
            if key in links:
                report.error(
                    row,
                    AREA_CODE,
                    f"{code} is listed again for the same DTA (first on row {links[key]})",
                )
                continue
            links[key] = row
    if not report.ok:
        return report

    # Set-based look-ups: every parish, postcode and school the file names, in a few queries.
    parish_codes = set(parishes) | {
        v["parish_code"] for _, v in postcodes.values() if v["parish_code"]
    }
    r: Any  # each look-up's row
    held_parishes: dict[str, Any] = {}
    for part in chunks(sorted(parish_codes)):
        for r in db.session.execute(
            select(Parish.id, Parish.code, Parish.name, Parish.district, Parish.in_county).where(
                Parish.code.in_(part)
            )
        ):
            held_parishes[r.code] = r
    held_postcodes: dict[str, Any] = {}
    for part in chunks(sorted(postcodes)):
        for r in db.session.execute(
            select(
                Postcode.id,
                Postcode.postcode,
                Postcode.parish_id,
                Postcode.easting,
                Postcode.northing,
            ).where(Postcode.postcode.in_(part))
        ):
            held_postcodes[r.postcode] = r
    urns = sorted({key[2] for key in links})
    schools: dict[int, Any] = {}
    for part in chunks(urns):
        for r in db.session.execute(
            select(School.id, School.urn, School.name, School.selective).where(School.urn.in_(part))
        ):
            schools[r.urn] = r

    for row, values in postcodes.values():
        parish_code = values["parish_code"]
        if parish_code and parish_code not in parishes and parish_code not in held_parishes:
            report.error(row, PARISH_CODE, f"unknown parish code {parish_code!r}")
    for (_kind, _code, urn, category), row in links.items():
        school = schools.get(urn)
        if school is None:
            report.error(row, DTA_URN, f"unknown URN {urn} (import the school first)")
        elif category is DtaCategory.GRAMMAR and not school.selective:
            report.error(
                row, DTA_CATEGORY, f"URN {urn} is not a selective school (Appendix G: grammar)"
            )
    if not report.ok:
        return report

    # Work out the changes.
    parish_inserts: list[dict[str, Any]] = []
    parish_updates: list[dict[str, Any]] = []
    for code, (row, values) in parishes.items():
        held = held_parishes.get(code)
        if held is None:
            parish_inserts.append({"code": code, **values})
            report.inserted["parishes"] += 1
            report.change(row, "insert", code, f"parish {values['name']}")
            continue
        changed = {k: v for k, v in values.items() if getattr(held, k) != v}
        if changed:
            parish_updates.append({"id": held.id, **changed})
            report.updated["parishes"] += 1
            report.change(row, "update", code, ", ".join(f"{k} → {v}" for k, v in changed.items()))
        else:
            report.unchanged["parishes"] += 1

    if not commit:
        _preview_rest(report, postcodes, held_postcodes, held_parishes, links, schools)
        db.session.rollback()
        return report

    try:
        if parish_inserts:
            db.session.execute(insert(table_of(Parish)), parish_inserts)
        if parish_updates:
            bulk_update(Parish, parish_updates)
        parish_ids = lookup(Parish.code, Parish.id, parish_codes)
        _write_postcodes(report, postcodes, held_postcodes, parish_ids)
        postcode_ids = lookup(Postcode.postcode, Postcode.id, set(postcodes))
        _write_links(report, links, schools, parish_ids, postcode_ids)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        report.error(
            None,
            AREA_CODE,
            "the database refused the changes (another import may have run at the same "
            "time); nothing was imported, please try again",
        )
        return report
    report.committed = True
    return report


def _postcode_changes(
    postcodes: dict[str, tuple[int, dict[str, Any]]],
    held_postcodes: dict[str, Any],
    parish_id_of: Mapping[str, int | None],
) -> tuple[list[tuple[int, str, dict[str, Any]]], list[tuple[int, str, dict[str, Any]]], int]:
    inserts, updates, unchanged = [], [], 0
    for code, (row, values) in postcodes.items():
        wanted = {
            "parish_id": parish_id_of.get(values["parish_code"]) if values["parish_code"] else None,
            "easting": values["easting"],
            "northing": values["northing"],
        }
        held = held_postcodes.get(code)
        if held is None:
            inserts.append((row, code, wanted))
            continue
        changed = {k: v for k, v in wanted.items() if getattr(held, k) != v}
        if changed:
            updates.append((row, code, {"id": held.id, **changed}))
        else:
            unchanged += 1
    return inserts, updates, unchanged


def _write_postcodes(
    report: ImportReport,
    postcodes: dict[str, tuple[int, dict[str, Any]]],
    held_postcodes: dict[str, Any],
    parish_ids: dict[str, int],
) -> None:
    inserts, updates, unchanged = _postcode_changes(postcodes, held_postcodes, parish_ids)
    _count_postcodes(report, inserts, updates, unchanged)
    if inserts:
        db.session.execute(
            insert(table_of(Postcode)), [{"postcode": c, **v} for _, c, v in inserts]
        )
    if updates:
        bulk_update(Postcode, [v for _, _, v in updates])


def _count_postcodes(
    report: ImportReport,
    inserts: list[tuple[int, str, dict[str, Any]]],
    updates: list[tuple[int, str, dict[str, Any]]],
    unchanged: int,
) -> None:
    for row, code, _ in inserts:
        report.inserted["postcodes"] += 1
        report.change(row, "insert", code, "postcode")
    for row, code, values in updates:
        report.updated["postcodes"] += 1
        report.change(row, "update", code, ", ".join(k for k in values if k != "id"))
    report.unchanged["postcodes"] += unchanged


def _link_changes(
    links: dict[tuple[str, str, int, DtaCategory], int],
    schools: dict[int, Any],
) -> tuple[dict[tuple[int, DtaCategory], int], set[tuple[int, int | None, int | None]]]:
    """Which DTAs exist already, and which (dta, parish, postcode) links are held."""
    school_ids = sorted({schools[urn].id for (_, _, urn, _) in links})
    r: Any  # each look-up's row
    dtas: dict[tuple[int, DtaCategory], int] = {}
    for part in chunks(school_ids):
        for r in db.session.execute(
            select(
                DesignatedTransportArea.id,
                DesignatedTransportArea.school_id,
                DesignatedTransportArea.category,
            ).where(DesignatedTransportArea.school_id.in_(part))
        ):
            dtas[(r.school_id, r.category)] = r.id
    held: set[tuple[int, int | None, int | None]] = set()
    for part in chunks(sorted(dtas.values())):
        for r in db.session.execute(
            select(DtaArea.dta_id, DtaArea.parish_id, DtaArea.postcode_id).where(
                DtaArea.dta_id.in_(part)
            )
        ):
            held.add((r.dta_id, r.parish_id, r.postcode_id))
    return dtas, held


def _write_links(
    report: ImportReport,
    links: dict[tuple[str, str, int, DtaCategory], int],
    schools: dict[int, Any],
    parish_ids: dict[str, int],
    postcode_ids: dict[str, int],
) -> None:
    if not links:
        return
    dtas, held = _link_changes(links, schools)
    missing = sorted(
        {(schools[urn].id, cat) for (_, _, urn, cat) in links} - set(dtas),
        key=lambda k: (k[0], k[1].value),
    )
    if missing:
        names = {s.id: s.name for s in schools.values()}
        db.session.execute(
            insert(table_of(DesignatedTransportArea)),
            [
                {
                    "school_id": sid,
                    "category": cat,
                    "name": f"{names[sid]} {cat.value.replace('_', ' ')} DTA"[:200],
                }
                for sid, cat in missing
            ],
        )
        report.inserted["DTAs"] += len(missing)
        dtas, held = _link_changes(links, schools)
    new_links: list[dict[str, Any]] = []
    for (kind, code, urn, cat), row in links.items():
        dta_id = dtas[(schools[urn].id, cat)]
        parish_id = parish_ids[code] if kind == "parish" else None
        postcode_id = postcode_ids[code] if kind == "postcode" else None
        if (dta_id, parish_id, postcode_id) in held:
            report.unchanged["DTA areas"] += 1
            continue
        held.add((dta_id, parish_id, postcode_id))
        new_links.append({"dta_id": dta_id, "parish_id": parish_id, "postcode_id": postcode_id})
        report.inserted["DTA areas"] += 1
        report.change(row, "insert", code, f"into {cat.value} DTA of URN {urn}")
    if new_links:
        db.session.execute(insert(table_of(DtaArea)), new_links)


def _preview_rest(
    report: ImportReport,
    postcodes: dict[str, tuple[int, dict[str, Any]]],
    held_postcodes: dict[str, Any],
    held_parishes: dict[str, Any],
    links: dict[tuple[str, str, int, DtaCategory], int],
    schools: dict[int, Any],
) -> None:
    """Counts for a preview, worked out without writing (new parishes have no id yet)."""
    parish_id_of: dict[str, int | None] = {c: r.id for c, r in held_parishes.items()}
    for _, values in postcodes.values():
        code = values["parish_code"]
        if code and code not in parish_id_of:
            parish_id_of[code] = -1  # a parish this file inserts: certainly a change
    inserts, updates, unchanged = _postcode_changes(postcodes, held_postcodes, parish_id_of)
    _count_postcodes(report, inserts, updates, unchanged)
    if not links:
        return
    parish_ids = {c: r.id for c, r in held_parishes.items()}
    postcode_ids = {c: r.id for c, r in held_postcodes.items()}
    dtas, held = _link_changes(links, schools)
    new_dtas: set[tuple[int, DtaCategory]] = set()
    for (kind, code, urn, cat), row in links.items():
        key = (schools[urn].id, cat)
        dta_id = dtas.get(key)
        if dta_id is None:
            new_dtas.add(key)
        area_id = (parish_ids if kind == "parish" else postcode_ids).get(code)
        link = (
            dta_id,
            area_id if kind == "parish" else None,
            area_id if kind == "postcode" else None,
        )
        if dta_id is not None and area_id is not None and link in held:
            report.unchanged["DTA areas"] += 1
        else:
            report.inserted["DTA areas"] += 1
            report.change(row, "insert", code, f"into {cat.value} DTA of URN {urn}")
    if new_dtas:
        report.inserted["DTAs"] += len(new_dtas)
