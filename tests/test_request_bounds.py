"""Every request is bounded in the work it can cause (issue 16).

Before issue 16 an 11.8 KB workbook with one cell in column XFD took 140 s and 567 MB to read,
the calendar count took 8.7 s over a 10,000-year "term", and huge numbers gave 500s.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook

from imports import workbook_limits
from imports.reading import read_table
from imports.report import ImportReport
from tests import factories


def workbook(rows: list[list[object]], far_cell: str | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if far_cell:
        sheet[far_cell] = "x"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def refusal(data: bytes) -> str:
    report = ImportReport(kind="test")
    assert read_table(data, "upload.xlsx", report) is None
    (error,) = report.errors
    return error.reason


def test_a_cell_in_column_xfd_is_refused_quickly_and_in_words() -> None:
    data = workbook([["a", "b"]] * 200, far_cell="XFD200")
    assert len(data) < 20_000
    started = time.process_time()
    reason = refusal(data)
    assert "16384 columns" in reason and "at most 100" in reason
    assert time.process_time() - started < 10, "refused before pandas pads any row"


def test_too_many_rows_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workbook_limits, "MAX_ROWS", 50)
    reason = refusal(workbook([["a"], *[[n] for n in range(60)]]))
    assert "more than 50 rows" in reason


def test_too_many_cells_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workbook_limits, "MAX_CELLS", 100)
    reason = refusal(workbook([[f"c{i}" for i in range(20)]] * 10))
    assert "more than 100 cells" in reason


def test_a_zip_that_inflates_too_far_is_refused_before_parsing() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "xl/worksheets/sheet1.xml", b" " * (workbook_limits.MAX_UNCOMPRESSED_BYTES + 1)
        )
    data = buffer.getvalue()
    assert len(data) < 2_000_000
    assert "unpacks to" in refusal(data)


def test_a_workbook_within_the_limits_reads_as_before() -> None:
    report = ImportReport(kind="test")
    table = read_table(workbook([["name", "n"], ["Ann", 7], ["Bo", 8]]), "ok.xlsx", report)
    assert table is not None and not report.errors
    assert table.data == {"name": ["Ann", "Bo"], "n": ["7", "8"]}


def test_the_calendar_count_refuses_a_term_of_ten_thousand_years(
    client_as: Callable[[str], FlaskClient],
) -> None:
    client = client_as("officer")
    response = client.get("/admin/academic_year/count/?term=2024-09-03:9999-12-31")
    assert response.status_code == 200
    assert "longer than 366 days" in response.get_json()["error"]
    many = "&".join(f"closure=2024-10-{1 + n % 28:02d}" for n in range(500))
    assert "at most" in client.get(f"/admin/academic_year/count/?{many}").get_json()["error"]
    fine = client.get("/admin/academic_year/count/?term=2024-09-03:2024-10-25").get_json()
    assert fine["count"] > 0


@pytest.mark.parametrize(
    "query", ["page=" + "1" + "0" * 30, "page=-1", "page_size=" + "9" * 30, "sort=" + "9" * 30]
)
def test_list_pages_shrug_off_huge_numbers(
    client_as: Callable[[str], FlaskClient], query: str
) -> None:
    client = client_as("supervisor")
    for path in ("pupil", "school", "audit_log"):
        assert client.get(f"/admin/{path}/?{query}").status_code == 200


def test_a_number_field_refuses_what_its_column_cannot_hold(
    app_ctx: object, client_as: Callable[[str], FlaskClient]
) -> None:
    from models import db

    route = factories.route()
    db.session.commit()
    response = client_as("supervisor").post(
        f"/admin/route/edit/?id={route.id}",
        data={
            "code": route.code,
            "operator": "Op",
            "vehicle_type": "coach",
            "seats": "1" + "0" * 30,
        },
    )
    assert response.status_code == 200
    assert "Number must be between" in response.get_data(as_text=True)
