"""The shared reading helpers: whole-column checks agree with the per-cell ones, and the
one-statement inserts and look-ups write and find what the ORM would, on both engines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError

from imports.applications import APPLICATION_COLUMNS
from imports.reading import (
    REPLACEMENT,
    Cells,
    Columns,
    Table,
    insert_rows,
    lookup,
    read_table,
    whole_number,
)
from imports.report import ImportReport
from models import AuditLog, Parish, Pupil, School, TransportApplication, db
from models.enums import ApplicationStatus, DistanceMethod
from tests import factories

from .conftest import csv_bytes

COLUMN = "cell"


def table_of(cells: list[str], *, clean: bool = True) -> Table:
    return Table([COLUMN], {COLUMN: cells}, list(range(2, len(cells) + 2)), clean)


def per_cell(cells: list[str], check: str, **options: Any) -> list[tuple[bool, Any]]:
    """What Cells makes of each cell: (failed, value)."""
    out = []
    for i, text in enumerate(cells):
        row = Cells(i + 2, {COLUMN: text}, ImportReport(kind="test"))
        value = getattr(row, check)(COLUMN, **options)
        out.append((row.failed, value))
    return out


CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "integer",
        {"low": 0, "high": 800_000},
        ["", "0", "007", "1,200", "800000", "800001", "-5", "1.0", "1.5", "1e3", "NaN"]
        + ["Infinity", "abc", "+5", "\u0663", "9" * 18, "9" * 19, "1" * 5000],
    ),
    ("integer", {"required": True, "low": 1, "high": 99_999_999}, ["", "110001", "0", "x"]),
    (
        "decimal",
        {"low": Decimal(0), "high": Decimal(80)},
        ["", "22.5", "80", "80.001", "-1", "abc", "NaN", "1e1"],
    ),
    (
        "date",
        {"required": True},
        ["", "01/05/2025", "1/5/2025", "01-05-2025", "2025-05-01", "2025-05-01 00:00:00"]
        + ["01-05/2025", "30/02/2025", "2025/05/01", "tomorrow", "01/13/2025", "1/5/25"],
    ),
    ("boolean", {}, ["", "y", "YES", "True", "no", "F", "0", "1", "t", "maybe", "2"]),
    ("boolean", {"default": True}, ["", "n", "nope"]),
    (
        "choice",
        {"enum_cls": DistanceMethod},
        ["", "driving_route", "Driving Route", "walking-route", "WALKING ROUTE", "helicopter"],
    ),
    ("choice", {"enum_cls": DistanceMethod, "required": True}, ["", "driving_route"]),
    (
        "postcode",
        {"required": True},
        ["", "ln1 1aa", "LN11AA", "LN1  1AA", "SW1A 1AA", "LN11", "12345", "AAA 1AA"],
    ),
    ("text", {"required": True, "max_len": 20}, ["", "a", "x" * 20, "x" * 21]),
    ("text", {"max_len": 5}, ["", "abcde", "abcdef"]),
]


@pytest.mark.parametrize(("check", "options", "cells"), CASES)
def test_whole_columns_agree_with_cells(check: str, options: dict[str, Any], cells) -> None:
    """A row the column check passes gets exactly Cells' value; a row Cells refuses is flagged."""
    # The same texts several times over, so each distinct text stands for many rows.
    cells = cells * 3
    checked = getattr(Columns(table_of(cells)), check)(COLUMN, **options)
    assert len(checked.values) == len(checked.bad) == len(cells)
    for text, value, bad, (failed, expected) in zip(
        cells, checked.values, checked.bad.tolist(), per_cell(cells, check, **options), strict=True
    ):
        assert bad == failed, text
        if not bad:
            assert value == expected and type(value) is type(expected), text


def test_dates_are_checked_against_each_rows_own_bounds() -> None:
    cells = ["01/05/2025", "01/05/2025", "01/05/2025", "", "31/12/2025"]
    earliest = [date(2025, 1, 1), date(2025, 6, 1), None, date(2030, 1, 1), date(2025, 1, 1)]
    latest = [date(2025, 12, 31), None, date(2025, 4, 30), None, date(2025, 12, 31)]
    checked = Columns(table_of(cells)).date(COLUMN, earliest=earliest, latest=latest)
    assert checked.bad.tolist() == [False, True, True, False, False]
    for i, text in enumerate(cells):
        row = Cells(i + 2, {COLUMN: text}, ImportReport(kind="test"))
        row.date(COLUMN, earliest=earliest[i], latest=latest[i])
        assert row.failed == checked.bad[i]


def test_undecodable_text_is_left_to_cells() -> None:
    """Cells returns None for it without a second error (read_table reported it): re-check."""
    cells = ["fine", f"bro{REPLACEMENT}ken"]
    assert Columns(table_of(cells, clean=False)).text(COLUMN).bad.tolist() == [False, True]
    assert Columns(table_of(cells)).text(COLUMN).bad.tolist() == [False, False]


def test_a_missing_column_reads_as_blank() -> None:
    checked = Columns(table_of(["a", "b"])).boolean("absent", default=True)
    assert checked.values == [True, True] and not checked.bad.any()
    assert Columns(table_of(["a"])).integer("absent", required=True).bad.tolist() == [True]


def test_whole_numbers_read_digits_as_decimal_would() -> None:
    for text in ("0", "007", "800000", "9" * 18, "9" * 19, "1,200", "\u0663"):
        assert whole_number(text) == int(Decimal(text.replace(",", "")))
    with pytest.raises(ValueError):  # a refused cell (the per-cell check used to crash on it)
        whole_number("1" * 5000, 0, 10)


def test_read_table_skips_blank_rows_and_keeps_file_row_numbers() -> None:
    data = csv_bytes(["a", "b"], [[" x ", "1"], ["", ""], [" ", "  "], ["y", ""]])
    report = ImportReport(kind="test")
    table = read_table(data, "t.csv", report)
    assert table is not None and report.rows_read == 2
    assert table.numbers == [2, 5]
    assert table.data == {"a": ["x", "y"], "b": ["1", ""]}
    assert table.rows == [{"a": "x", "b": "1", "__row__": 2}, {"a": "y", "b": "", "__row__": 5}]
    assert table.row(1) == table.rows[1]


@pytest.fixture
def held(app_ctx) -> dict[str, int]:
    factories.academic_year("2024/25", with_calendar=False)
    school = factories.school(urn=110001)
    pupil = factories.pupil(reference="P000001")
    db.session.commit()
    return {"school": school.id, "pupil": pupil.id}


def test_insert_rows_writes_what_the_orm_reads_back_and_is_audited(held) -> None:
    columns = APPLICATION_COLUMNS
    rows = [
        ("TRA1", held["pupil"], "2024/25", held["school"], date(2024, 3, 1))
        + (ApplicationStatus.RECEIVED, 4200, DistanceMethod.DRIVING_ROUTE, True, False, True)
        + (Decimal("22.50"), True),
        ("007", held["pupil"], "2024/25", held["school"], date(2024, 2, 29))
        + (ApplicationStatus.RECEIVED, None, None, False, False, False, None, False),
    ]
    insert_rows(TransportApplication, columns, rows)
    db.session.commit()
    got = db.session.scalars(
        select(TransportApplication).order_by(TransportApplication.reference)
    ).all()
    assert [a.reference for a in got] == ["007", "TRA1"]
    first = got[1]
    assert first.received_on == date(2024, 3, 1) and first.status is ApplicationStatus.RECEIVED
    assert first.distance_m == 4200 and first.distance_method is DistanceMethod.DRIVING_ROUTE
    assert first.route_unsuitable is True and first.exceptional_circumstances is True
    assert first.full_time_hours == Decimal("22.50")
    assert first.school_named_in_ehcp is True  # A2a (issue 11)
    assert first.higher_education is False and first.created_at is not None  # column defaults
    second = got[0]
    assert second.received_on == date(2024, 2, 29)
    assert second.distance_m is None and second.distance_method is None
    assert second.full_time_hours is None
    trail = db.session.scalars(
        select(AuditLog).where(AuditLog.table_name == "transport_application")
    ).all()
    assert sorted((t.record_id, t.changes["reference"][1]) for t in trail) == sorted(
        (str(a.id), a.reference) for a in got
    )


def test_insert_rows_rolls_back_with_its_audit_row(held) -> None:
    insert_rows(Parish, ("code", "name"), [("E04000001", "Nettleham")])
    db.session.rollback()
    assert db.session.scalar(select(func.count(Parish.id))) == 0
    trail = select(func.count(AuditLog.id)).where(AuditLog.table_name == "parish")
    assert db.session.scalar(trail) == 0


def test_lookup_takes_any_number_of_keys_in_one_query(held) -> None:
    wanted = {f"P{i:06d}" for i in range(12_000)}
    assert lookup(Pupil.reference, Pupil.id, wanted) == {"P000001": held["pupil"]}
    assert lookup(School.urn, School.id, set(range(100_000, 112_000))) == {110001: held["school"]}
    assert lookup(School.urn, School.id, set()) == {}


def test_an_overlong_value_is_refused_not_cut_short(held) -> None:
    """PostgreSQL truncates on an explicit CAST to VARCHAR(n); the helpers must not rely on it."""
    factories.parish(code="E0400000000000000001")  # 20 characters, the column's length
    db.session.commit()
    longer = "E0400000000000000001XYZ"
    assert lookup(Parish.code, Parish.id, {longer}) == {}
    if db.session.get_bind().dialect.name == "postgresql":
        with pytest.raises(DataError):
            insert_rows(Parish, ("code", "name"), [(longer, "Too long")])
        db.session.rollback()
        assert db.session.scalar(select(func.count(Parish.id))) == 1
