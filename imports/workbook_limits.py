"""Uploaded workbooks are measured before they are parsed, and refused in words when too big.

An XLSX is a zip of XML: 12 KB can declare a sheet of 16,384 columns, or inflate to gigabytes,
and pandas would pad every row to the widest one (issue 16: an 11.8 KB file took 140 s and
567 MB). The checks below read only the zip directory and then stream the first sheet with
openpyxl's read-only reader, stopping at the first row over a limit, so a hostile file costs
no more than a legitimate one of the largest size allowed.
"""

from __future__ import annotations

import io
import zipfile

from openpyxl import load_workbook

# The largest legitimate import (a county's pupils and applications, ~150,000 rows of about
# 30 columns) fits well inside these.
MAX_UNCOMPRESSED_BYTES = 300 * 1024 * 1024
MAX_ROWS = 250_000
MAX_COLUMNS = 100
MAX_CELLS = 10_000_000


class WorkbookTooLarge(ValueError):
    """The sentence to show the person who uploaded the file."""


def check_workbook(data: bytes) -> None:
    """Raise WorkbookTooLarge naming the first limit the file breaks; return if within all."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as error:
        raise WorkbookTooLarge(f"is not a readable XLSX workbook ({error})") from None
    if inflated > MAX_UNCOMPRESSED_BYTES:
        raise WorkbookTooLarge(
            f"unpacks to {inflated // (1024 * 1024)} MB, more than the "
            f"{MAX_UNCOMPRESSED_BYTES // (1024 * 1024)} MB an import may hold; "
            "split it or save it as CSV"
        )
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # the declared size may lie; count what is there
        cells = 0
        for rows, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            width = len(row)
            while width and row[width - 1] in (None, ""):
                width -= 1
            cells += width
            if width > MAX_COLUMNS:
                raise WorkbookTooLarge(
                    f"row {rows} has {width} columns; an import may have at most {MAX_COLUMNS}"
                    " (look for a stray value far to the right)"
                )
            if rows > MAX_ROWS + 1:
                raise WorkbookTooLarge(
                    f"has more than {MAX_ROWS:,} rows; split it into smaller files"
                )
            if cells > MAX_CELLS:
                raise WorkbookTooLarge(
                    f"has more than {MAX_CELLS:,} cells; split it into smaller files"
                )
    finally:
        book.close()
