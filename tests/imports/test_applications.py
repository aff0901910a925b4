"""Pupils and applications: all or nothing, every bad row named, set-based, idempotent."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from imports.applications import import_applications
from models import Pupil, TransportApplication, db
from models.enums import DistanceMethod
from tests import factories

from .conftest import csv_bytes, xlsx_bytes

TODAY = date(2024, 7, 1)
HEADER = [
    "application_reference",
    "pupil_reference",
    "first_name",
    "last_name",
    "date_of_birth",
    "address",
    "town",
    "postcode",
    "parish_code",
    "send",
    "academic_year",
    "school_urn",
    "received_on",
    "distance_m",
    "distance_method",
]


def good_rows() -> list[list[str]]:
    return [
        [
            "TRA0000001",
            "P000001",
            "Ava",
            "Smith",
            "05/05/2013",
            "1 High St",
            "Lincoln",
            "ln1 1aa",
            "E04000001",
            "no",
            "2024/25",
            "110001",
            "01/03/2024",
            "4200",
            "driving_route",
        ],
        [
            "TRA0000002",
            "P000002",
            "Ben",
            "Jones",
            "12-12-2012",
            "2 Low Rd",
            "Boston",
            "PE21 6JY",
            "",
            "yes",
            "2024/25",
            "110001",
            "2024-03-02",
            "",
            "",
        ],
        [
            "TRA0000003",
            "P000001",
            "Ava",
            "Smith",
            "05/05/2013",
            "1 High St",
            "Lincoln",
            "LN1 1AA",
            "E04000001",
            "no",
            "2024/25",
            "110002",
            "01/03/2024",
            "",
            "",
        ],
    ]


@pytest.fixture
def reference(app_ctx):
    factories.academic_year("2024/25", with_calendar=False)
    factories.school(urn=110001)
    factories.school(urn=110002)
    factories.parish(code="E04000001", name="Nettleham")
    db.session.commit()


def counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count(Pupil.id))) or 0,
        db.session.scalar(select(func.count(TransportApplication.id))) or 0,
    )


@pytest.mark.parametrize("make", [csv_bytes, xlsx_bytes], ids=["csv", "xlsx"])
def test_import_then_reimport_changes_nothing(reference, make) -> None:
    data = make(HEADER, good_rows())
    name = "apps.csv" if make is csv_bytes else "apps.xlsx"
    report = import_applications(data, name, today=TODAY)
    assert report.ok and report.committed, report.errors
    assert report.inserted == {"pupils": 2, "applications": 3}
    assert counts() == (2, 3)
    ava = db.session.scalar(select(Pupil).where(Pupil.reference == "P000001"))
    assert ava.postcode == "LN1 1AA" and ava.date_of_birth == date(2013, 5, 5)
    assert ava.parish is not None and ava.parish.code == "E04000001"
    app = db.session.scalar(
        select(TransportApplication).where(TransportApplication.reference == "TRA0000001")
    )
    assert app.distance_m == 4200 and app.distance_method is DistanceMethod.DRIVING_ROUTE
    assert app.received_on == date(2024, 3, 1) and app.pupil_id == ava.id

    again = import_applications(data, name, today=TODAY)
    assert again.ok and again.unchanged == {"pupils": 2, "applications": 3}
    assert again.counts()["inserted"] == again.counts()["updated"] == 0
    assert counts() == (2, 3)


def test_a_house_move_updates_the_pupil(reference) -> None:
    import_applications(csv_bytes(HEADER, good_rows()), "a.csv", today=TODAY)
    moved = good_rows()
    moved[1][5] = "9 New Road"
    report = import_applications(csv_bytes(HEADER, moved), "a.csv", today=TODAY)
    assert report.ok and report.updated == {"pupils": 1}
    db.session.expire_all()
    assert db.session.scalar(select(Pupil.address).where(Pupil.reference == "P000002")) == (
        "9 New Road"
    )


def bad(index: int, value: str) -> list[str]:
    row = [
        "TRA0000009",
        "P000009",
        "Cat",
        "Brown",
        "01/01/2012",
        "3 Lane",
        "Louth",
        "LN11 0AA",
        "",
        "no",
        "2024/25",
        "110001",
        "01/04/2024",
        "",
        "",
    ]
    row[index] = value
    return row


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        (bad(11, "999999"), "school_urn", "unknown URN"),
        (bad(7, "LN11"), "postcode", "not a UK postcode"),
        (bad(4, "30/02/2012"), "date_of_birth", "not a real date"),
        (bad(4, "01/01/1990"), "date_of_birth", "over 25 at the start of 2024/25"),
        (bad(12, "01/08/2024"), "received_on", "in the future"),
        (bad(0, "TRA0000001"), "application_reference", "appears again (first on row 2)"),
        (bad(14, "by_helicopter"), "distance_method", "is not one of"),
        (bad(9, "maybe"), "send", "not yes or no"),
        (bad(10, "2031/32"), "academic_year", "not an academic year set up"),
        (bad(8, "E04999999"), "parish_code", "unknown parish code"),
        (bad(1, "P000001"), "first_name", "different details on row 2"),
        (bad(13, "-5"), "distance_m", "out of range"),
    ],
)
def test_each_bad_row_class_imports_nothing(reference, row, column, words) -> None:
    report = import_applications(csv_bytes(HEADER, [*good_rows(), row]), "bad.csv", today=TODAY)
    assert not report.ok and not report.committed
    assert [(e.row, e.column) for e in report.errors] == [(5, column)]
    assert words in report.errors[0].reason
    assert counts() == (0, 0)


def test_a_reference_held_for_another_pupil_clashes_with_the_database(reference) -> None:
    import_applications(csv_bytes(HEADER, good_rows()[:1]), "a.csv", today=TODAY)
    clash = bad(0, "TRA0000001")
    report = import_applications(csv_bytes(HEADER, [good_rows()[1], clash]), "b.csv", today=TODAY)
    assert [(e.row, e.column) for e in report.errors] == [(3, "application_reference")]
    assert "already held" in report.errors[0].reason
    assert counts() == (1, 1)  # the first import only; nothing from the refused file


def test_missing_column_and_undecodable_text(reference) -> None:
    header = [h for h in HEADER if h != "received_on"]
    rows = [[c for i, c in enumerate(r) if HEADER[i] != "received_on"] for r in good_rows()]
    report = import_applications(csv_bytes(header, rows), "a.csv", today=TODAY)
    assert [(e.row, e.column, e.reason) for e in report.errors] == [
        (1, "received_on", "missing column")
    ]
    data = csv_bytes(HEADER, good_rows()).replace(b"Jones", b"Jo\x9dnes")
    report = import_applications(data, "a.csv", today=TODAY)
    assert [(e.row, e.column) for e in report.errors] == [(3, "last_name")]
    assert counts() == (0, 0)


def test_many_rows_go_in_set_based(reference) -> None:
    """2,000 rows in a handful of statements (the 50,000-row timing is in the report)."""
    from sqlalchemy import event

    from tests.fixtures.make_applications import HEADER as GEN_HEADER
    from tests.fixtures.make_applications import rows

    statements: list[str] = []

    def count_statement(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count_statement)
    try:
        data = csv_bytes(GEN_HEADER, rows(2000, [110001, 110002]))
        report = import_applications(data, "many.csv", today=TODAY)
    finally:
        event.remove(engine, "before_cursor_execute", count_statement)
    assert report.ok, report.errors[:3]
    assert counts() == (2000, 2000)
    assert len(statements) < 40


def _every_row_cell_by_cell(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The importer as it was before the whole-column checks: every row through Cells."""
    import imports.applications as module

    checked = module._check_columns

    def all_flagged(table, years):  # type: ignore[no-untyped-def]
        refs, pupils, apps, recheck = checked(table, years)
        return refs, pupils, apps, [True] * len(recheck)

    monkeypatch.setattr(module, "_check_columns", all_flagged)


def _report(report) -> tuple:  # type: ignore[no-untyped-def]
    return report.as_dict(), report.lines(), report.changes, report.rows_read


def test_bad_cells_in_checked_columns_are_reported_as_cell_by_cell(reference, monkeypatch) -> None:
    """Whole-column checks only pick rows to re-check: the report is the per-cell one."""
    from tests.fixtures.make_applications import HEADER as GEN_HEADER
    from tests.fixtures.make_applications import rows

    data = rows(400, [110001, 110002])
    col = {name: i for i, name in enumerate(GEN_HEADER)}
    spoilt = [
        ("date_of_birth", "30/02/2012"),
        ("date_of_birth", "01/01/1990"),
        ("received_on", "01/08/2024"),
        ("received_on", ""),
        ("postcode", "LN11"),
        ("school_urn", "1.5"),
        ("distance_m", "-5"),
        ("distance_method", "by_helicopter"),
        ("send", "maybe"),
        ("academic_year", "2031/32"),
        ("first_name", "x" * 81),
        ("application_reference", ""),
    ]
    for n, (column, value) in enumerate(spoilt):
        data[7 + 29 * n][col[column]] = value
    data[300][col["postcode"]] = "??"  # several bad cells in one row
    data[300][col["send"]] = "dunno"
    data[300][col["received_on"]] = "32/01/2024"
    data[350][col["application_reference"]] = data[10][0]  # a duplicate
    data[351][col["pupil_reference"]] = data[11][1]  # the same pupil, other details
    data[36][col["application_reference"]] = data[7][0]  # a duplicate of a refused row
    file = csv_bytes(GEN_HEADER, data)

    fast = import_applications(file, "bad.csv", today=TODAY)
    assert not fast.ok and not fast.committed and counts() == (0, 0)
    assert len(fast.errors) == len(spoilt) + 3 + 2
    _every_row_cell_by_cell(monkeypatch)
    slow = import_applications(file, "bad.csv", today=TODAY)
    assert _report(fast) == _report(slow)
    assert counts() == (0, 0)


def test_a_good_file_previews_as_cell_by_cell(reference, monkeypatch) -> None:
    from tests.fixtures.make_applications import HEADER as GEN_HEADER
    from tests.fixtures.make_applications import rows

    data = rows(300, [110001, 110002])
    data[5][GEN_HEADER.index("received_on")] = "2024-03-02"
    data[6][GEN_HEADER.index("distance_m")] = "1,200"
    data[7][GEN_HEADER.index("distance_method")] = "Walking Route"
    data[8][GEN_HEADER.index("postcode")] = "ln11aa"
    file = csv_bytes(GEN_HEADER, data)
    fast = import_applications(file, "good.csv", commit=False, today=TODAY)
    _every_row_cell_by_cell(monkeypatch)
    slow = import_applications(file, "good.csv", commit=False, today=TODAY)
    assert fast.ok and _report(fast) == _report(slow)
    assert counts() == (0, 0)


def test_good_and_bad_rows_mixed(reference) -> None:
    """A refused row does not count as the first of its references; later rows still do."""
    again = bad(1, "P000008")  # TRA0000009 again; its first row was refused, so no duplicate
    duplicate = bad(1, "P000007")
    duplicate[0] = "TRA0000001"
    other_details = good_rows()[0]
    other_details[0], other_details[2] = "TRA0000005", "Eve"
    two_bad_cells = bad(7, "LN11")
    two_bad_cells[0], two_bad_cells[1], two_bad_cells[9] = "TRA0000006", "P000006", "dunno"
    rows = [
        good_rows()[0],  # row 2
        bad(4, "31/02/2012"),  # row 3
        again,  # row 4
        duplicate,  # row 5
        other_details,  # row 6
        two_bad_cells,  # row 7
    ]
    report = import_applications(csv_bytes(HEADER, rows), "mixed.csv", today=TODAY)
    assert [(e.row, e.column, e.reason) for e in report.errors] == [
        (3, "date_of_birth", "'31/02/2012' is not a real date"),
        (5, "application_reference", "TRA0000001 appears again (first on row 2)"),
        (6, "first_name", "pupil P000001 has different details on row 2"),
        (7, "postcode", "'LN11' is not a UK postcode"),
        (7, "send", "'dunno' is not yes or no"),
    ]
    assert counts() == (0, 0)


def test_the_bulk_inserts_are_in_the_audit_trail(reference) -> None:
    from models import AuditLog

    report = import_applications(csv_bytes(HEADER, good_rows()), "a.csv", today=TODAY)
    assert report.committed
    trail = db.session.scalars(
        select(AuditLog).where(AuditLog.table_name.in_(["pupil", "transport_application"]))
    ).all()
    assert [(t.table_name, t.action.value) for t in trail] == [
        ("pupil", "insert"),
        ("pupil", "insert"),
        ("transport_application", "insert"),
        ("transport_application", "insert"),
        ("transport_application", "insert"),
    ]
    assert all(t.record_id != "*" and t.changes["reference"][0] is None for t in trail)


# --- issue 11: residence from the parish (A2); care leavers (A21); school named in EHCP (A2a) ---

V2_HEADER = [
    *HEADER,
    "lives_in_county",
    "care_leaver",
    "ehcp",
    "school_named_in_ehcp",
]


def v2_row(ref: str, pupil: str, parish: str, in_county: str, **kw: str) -> list[str]:
    row = bad(0, ref)
    row[1], row[8] = pupil, parish
    return [*row, in_county, kw.get("care_leaver", ""), kw.get("ehcp", ""), kw.get("named", "")]


@pytest.fixture
def outside(reference):  # type: ignore[no-untyped-def]
    factories.parish(code="E04000002", name="Over the border", in_county=False)
    db.session.commit()


def test_a2_residence_comes_from_the_parish_when_the_file_is_blank(outside) -> None:
    rows = [
        v2_row("TRA0000011", "P000011", "E04000001", ""),
        v2_row("TRA0000012", "P000012", "E04000002", ""),
        v2_row("TRA0000013", "P000013", "", ""),
    ]
    report = import_applications(csv_bytes(V2_HEADER, rows), "a.csv", today=TODAY)
    assert report.ok, report.errors
    got = dict(db.session.execute(select(Pupil.reference, Pupil.lives_in_county)).all())
    assert got == {"P000011": True, "P000012": False, "P000013": True}


@pytest.mark.parametrize(
    ("parish", "said"), [("E04000002", "yes"), ("E04000001", "no")], ids=["out-yes", "in-no"]
)
def test_a2_a_file_that_contradicts_its_parish_is_refused(outside, parish, said) -> None:
    rows = [
        v2_row("TRA0000011", "P000011", "E04000001", ""),
        v2_row("TRA0000012", "P000012", parish, said),
    ]
    report = import_applications(csv_bytes(V2_HEADER, rows), "a.csv", today=TODAY)
    assert not report.ok and not report.committed
    assert [(e.row, e.column) for e in report.errors] == [(3, "lives_in_county")]
    assert "county (A2)" in report.errors[0].reason
    assert counts() == (0, 0)


def test_care_leaver_and_school_named_in_ehcp_are_imported(reference) -> None:
    rows = [
        v2_row("TRA0000011", "P000011", "", "", care_leaver="yes", ehcp="yes", named="yes"),
        v2_row("TRA0000012", "P000012", "", ""),
    ]
    report = import_applications(csv_bytes(V2_HEADER, rows), "a.csv", today=TODAY)
    assert report.ok, report.errors
    leavers = dict(db.session.execute(select(Pupil.reference, Pupil.care_leaver)).all())
    assert leavers == {"P000011": True, "P000012": False}
    named = dict(
        db.session.execute(
            select(TransportApplication.reference, TransportApplication.school_named_in_ehcp)
        ).all()
    )
    assert named == {"TRA0000011": True, "TRA0000012": False}
    bad_rows = [v2_row("TRA0000013", "P000013", "", "", care_leaver="perhaps")]
    refused = import_applications(csv_bytes(V2_HEADER, bad_rows), "b.csv", today=TODAY)
    assert [(e.row, e.column) for e in refused.errors] == [(2, "care_leaver")]
