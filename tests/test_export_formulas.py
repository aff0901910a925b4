"""No export or report cell runs as a formula (issue 16: CSV/XLSX injection, OWASP).

Before issue 16 a surname ``=HYPERLINK(...)``, a town ``@SUM(1+1)`` or a route code ``=1+1``
came out verbatim in CSV and as a formula cell in XLSX.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient

from models import db
from services.spreadsheets import csv_bytes, neutralise, xlsx_bytes
from tests import factories

HOSTILE = ['=HYPERLINK("http://x.example","click")', "@SUM(1+1)", "+1+1", "-1+1", "\tx", "\rx"]


@pytest.mark.parametrize("value", HOSTILE)
def test_neutralise_makes_formulas_text(value: str) -> None:
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["-12.50", "+3", "Smith", "", 5, None, "a=b"])
def test_neutralise_leaves_numbers_and_plain_text(value: object) -> None:
    assert neutralise(value) == value


def test_xlsx_text_cells_are_text_not_formulas() -> None:
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(["v"], [[h] for h in HOSTILE], "s")))
    cells = [row[0] for row in book.active.iter_rows(min_row=2)]
    assert [c.data_type for c in cells] == ["s"] * len(HOSTILE)
    # XML keeps no bare carriage return: "\r" reads back as "\n", still after the apostrophe.
    assert [c.value for c in cells] == ["'" + h.replace("\r", "\n") for h in HOSTILE]


def test_csv_writer_neutralises_every_cell() -> None:
    rows = list(
        csv.reader(io.StringIO(csv_bytes(["a"], [[h] for h in HOSTILE]).decode("utf-8-sig")))
    )
    assert all(row[0].startswith("'") for row in rows[1:])


@pytest.fixture
def hostile_records(app_ctx: Flask) -> None:
    school = factories.school(name="=1+1 Academy", postcode="@SUM(1)")
    factories.route([school], code="=1+1")
    factories.pupil(last_name='=HYPERLINK("http://x.example","x")', address="@SUM(1+1)")
    db.session.commit()


def _xlsx_texts(data: bytes) -> list[tuple[str, object]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [(c.data_type, c.value) for row in book.active.iter_rows() for c in row if c.value]


@pytest.mark.parametrize(
    ("path", "hostile"),
    [
        ("pupil", '=HYPERLINK("http://x.example","x")'),
        ("pupil", "@SUM(1+1)"),
        ("school", "=1+1 Academy"),
        ("route", "=1+1"),
    ],
)
def test_list_exports_neutralise_csv_and_xlsx(
    hostile_records: None, client_as: Callable[[str], FlaskClient], path: str, hostile: str
) -> None:
    client = client_as("supervisor")
    exported = client.get(f"/admin/{path}/export/csv/")
    assert exported.status_code == 200
    cells = [c for row in csv.reader(io.StringIO(exported.get_data(as_text=True))) for c in row]
    assert "'" + hostile in cells and hostile not in cells
    xlsx = client.get(f"/admin/{path}/export/xlsx/")
    assert xlsx.status_code == 200
    texts = _xlsx_texts(xlsx.data)
    assert ("s", "'" + hostile) in texts
    assert not [value for kind, value in texts if kind == "f"], "no formula cells"


def test_reports_neutralise_csv_and_xlsx(
    app_ctx: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    year = factories.academic_year("2031/32")
    school = factories.school()
    factories.route([school], code="=1+1")
    db.session.commit()
    url = f"/admin/reports/seats/?year={year.label}&on={date(2031, 10, 1).isoformat()}"
    client = client_as("officer")
    exported = client.get(url + "&format=csv")
    assert exported.status_code == 200
    assert "'=1+1" in exported.get_data(as_text=True)
    texts = _xlsx_texts(client.get(url + "&format=xlsx").data)
    assert ("s", "'=1+1") in texts
