"""Parishes, postcodes and DTAs (A14, Appendix A, Appendix G): CSV and XLSX, all or nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from imports.areas import import_areas
from models import DesignatedTransportArea, DtaArea, Parish, Postcode, db
from models.enums import DtaCategory
from tests import factories

from .conftest import csv_bytes, xlsx_bytes

HEADER = [
    "area_type",
    "area_code",
    "area_name",
    "district",
    "parish_code",
    "easting",
    "northing",
    "dta_urn",
    "dta_category",
]


def rows(primary_urn: int, grammar_urn: int) -> list[list[str]]:
    p, g = str(primary_urn), str(grammar_urn)
    return [
        ["parish", "E04000001", "Nettleham", "West Lindsey", "", "", "", p, "primary"],
        ["parish", "E04000001", "Nettleham", "West Lindsey", "", "", "", g, "grammar"],
        ["parish", "E04000002", "Welton", "West Lindsey", "", "", "", g, "grammar"],
        ["postcode", "ln2 2ab", "", "", "E04000001", "500000", "375000", p, "primary"],
        ["postcode", "LN3 4XY", "", "", "E04000002", "", "", "", ""],
    ]


def table_counts() -> tuple[int, int, int, int]:
    return tuple(  # type: ignore[return-value]
        db.session.scalar(select(func.count()).select_from(m))
        for m in (Parish, Postcode, DesignatedTransportArea, DtaArea)
    )


@pytest.fixture
def two_schools(app_ctx):
    primary = factories.school(urn=110001, name="Nettleham Primary")
    grammar = factories.school(urn=110002, name="Lincoln Grammar", selective=True)
    db.session.commit()
    return primary.urn, grammar.urn


@pytest.mark.parametrize("make", [csv_bytes, xlsx_bytes], ids=["csv", "xlsx"])
def test_areas_and_dtas_import_and_reimport_changes_nothing(two_schools, make) -> None:
    data = make(HEADER, rows(*two_schools))
    name = "areas.csv" if make is csv_bytes else "areas.xlsx"
    report = import_areas(data, name)
    assert report.ok and report.committed, report.errors
    assert report.inserted == {"parishes": 2, "postcodes": 2, "DTAs": 2, "DTA areas": 4}
    assert table_counts() == (2, 2, 2, 4)
    pc = db.session.scalar(select(Postcode).where(Postcode.postcode == "LN2 2AB"))
    assert pc is not None and pc.parish is not None and pc.parish.code == "E04000001"
    assert (pc.easting, pc.northing) == (500000, 375000)
    grammar_dta = db.session.scalar(
        select(DesignatedTransportArea).where(
            DesignatedTransportArea.category == DtaCategory.GRAMMAR
        )
    )
    assert grammar_dta is not None
    assert sorted(str(a) for a in grammar_dta.areas) == ["Nettleham", "Welton"]

    again = import_areas(data, name)
    assert again.ok and again.counts()["inserted"] == 0 and again.counts()["updated"] == 0
    assert table_counts() == (2, 2, 2, 4)


def test_a_changed_parish_name_is_updated(two_schools) -> None:
    import_areas(csv_bytes(HEADER, rows(*two_schools)), "a.csv")
    changed = rows(*two_schools)
    changed[2][2] = "Welton by Lincoln"
    report = import_areas(csv_bytes(HEADER, changed), "a.csv")
    assert report.updated == {"parishes": 1}
    db.session.expire_all()
    assert db.session.scalar(select(Parish.name).where(Parish.code == "E04000002")) == (
        "Welton by Lincoln"
    )


def test_preview_counts_match_and_write_nothing(two_schools) -> None:
    report = import_areas(csv_bytes(HEADER, rows(*two_schools)), "a.csv", commit=False)
    assert report.ok and not report.committed
    assert report.inserted == {"parishes": 2, "postcodes": 2, "DTAs": 2, "DTA areas": 4}
    assert table_counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        (
            ["parish", "E04000009", "X", "", "", "", "", "999999", "primary"],
            "dta_urn",
            "unknown URN",
        ),
        (["postcode", "NOT A PC", "", "", "", "", "", "", ""], "area_code", "not a UK postcode"),
        (
            ["parish", "E04000009", "X", "", "", "", "", "110001", "grammar"],
            "dta_category",
            "not a selective school",
        ),
        (
            ["parish", "E04000009", "X", "", "", "", "", "110001", "middle"],
            "dta_category",
            "is not one of",
        ),
        (
            ["postcode", "LN9 9ZZ", "", "", "E04009999", "", "", "", ""],
            "parish_code",
            "unknown parish",
        ),
        (
            ["parish", "E04000002", "Welton", "West Lindsey", "", "", "", "110002", "grammar"],
            "area_code",
            "listed again",
        ),
        (
            ["parish", "E04000002", "Other name", "West Lindsey", "", "", "", "", ""],
            "area_name",
            "differs from row 4",
        ),
        (["county", "X", "", "", "", "", "", "", ""], "area_type", "not parish or postcode"),
    ],
)
def test_a_bad_row_imports_nothing(two_schools, row, column, words) -> None:
    data = csv_bytes(HEADER, [*rows(*two_schools), row])
    report = import_areas(data, "bad.csv")
    assert not report.ok
    assert [(e.row, e.column) for e in report.errors] == [(7, column)]
    assert words in report.errors[0].reason
    assert table_counts() == (0, 0, 0, 0)


def test_missing_column(two_schools) -> None:
    report = import_areas(b"area_code\nE04000001\n", "thin.csv")
    assert [(e.row, e.column, e.reason) for e in report.errors] == [
        (1, "area_type", "missing column")
    ]
