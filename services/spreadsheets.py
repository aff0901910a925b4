"""Every CSV and XLSX the panel writes goes through here, so no cell can run as a formula.

A pupil's surname ``=HYPERLINK(...)``, a town ``@SUM(1+1)`` or a route code ``=1+1`` typed into
the panel would otherwise come out as a live formula when an officer opens an export in a
spreadsheet (CSV injection, OWASP). `neutralise` prefixes any text a spreadsheet would
evaluate (leading ``= + - @``, tab or carriage return) with an apostrophe, which spreadsheets
show as text; numbers (``-12.50`` is a refund, not a formula) are left alone. XLSX cells holding
text are also typed as text, never as formulas.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def neutralise(value: Any) -> Any:
    """`value` as a spreadsheet will show it without running it."""
    if not isinstance(value, str) or not value.startswith(TRIGGERS):
        return value
    if _PLAIN_NUMBER.match(value):
        return value
    return "'" + value


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a BOM (Excel reads it right), every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(c) for c in columns])
    for row in rows:
        writer.writerow(["" if v is None else neutralise(_plain(v)) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def csv_line(values: Sequence[Any]) -> str:
    """One neutralised CSV line (for streamed exports)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(["" if v is None else neutralise(_plain(v)) for v in values])
    return buffer.getvalue()


def xlsx_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str) -> bytes:
    """A one-sheet workbook: text typed as text, money (Decimal) and counts as numbers."""
    book = Workbook(write_only=True)
    ws = book.create_sheet(title=re.sub(r"[\[\]:*?/\\]", "-", sheet)[:31] or "Sheet1")
    ws.append([_cell(ws, c) for c in columns])
    for row in rows:
        ws.append([_cell(ws, v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _cell(ws: Any, value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if not isinstance(value, str):
        value = str(value)
    cell = WriteOnlyCell(ws, value=neutralise(value))
    cell.data_type = "s"  # text, even when it looks like a formula
    return cell
