"""Reading CSV and XLSX files into rows of text, and turning cells into checked values.

Everything is read as text (pandas `dtype=str`) so that "007" stays "007", an empty cell stays
empty rather than becoming NaN, and every value is checked by the same small parsers below,
which record a `RowError` naming the row and column instead of raising.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

import pandas as pd

from .report import ImportReport

E = TypeVar("E", bound=StrEnum)

REPLACEMENT = "\ufffd"
ROW = "__row__"

# UK postcode, outward and inward parts (e.g. "LN1 1YL", "PE21 9PL", "SW1A 1AA").
POSTCODE_RE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})$")

TRUE_WORDS = {"y", "yes", "true", "1", "t"}
FALSE_WORDS = {"n", "no", "false", "0", "f", ""}


def decode(data: bytes) -> tuple[str, bool]:
    """Text and whether it decoded cleanly.

    GIAS publishes Windows-1252; spreadsheets saved by Excel are often UTF-8 with a BOM. UTF-8 is
    tried first because Windows-1252 text almost never happens to be valid UTF-8. Bytes that are
    neither (0x81, 0x8D, 0x8F, 0x90, 0x9D in Windows-1252) become U+FFFD so that the cell holding
    them can be reported by row and column.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        try:
            return data.decode("utf-8"), True
        except UnicodeDecodeError:
            return data.decode("utf-8", errors="replace"), False
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), True
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), False


def is_xlsx(filename: str, data: bytes) -> bool:
    return filename.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04"


@dataclass
class Table:
    """The file's header names and its non-blank rows as dicts of stripped text (ROW = number)."""

    columns: list[str]
    rows: list[dict[str, Any]]


def read_table(data: bytes, filename: str, report: ImportReport) -> Table | None:
    """Read with pandas, everything as text; None (with an error reported) if unreadable."""
    report.filename = filename
    clean = True
    try:
        if is_xlsx(filename, data):
            frame = pd.read_excel(
                io.BytesIO(data), dtype=str, keep_default_na=False, engine="openpyxl"
            )
        else:
            text, clean = decode(data)
            frame = pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False
            )
    except Exception as exc:  # pandas raises many kinds; the person needs one sentence
        report.error(None, "(file)", f"could not be read as CSV or XLSX: {exc}".splitlines()[0])
        return None
    columns = [str(c).strip() for c in frame.columns]
    # Column-wise to plain Python lists: far quicker than DataFrame.to_dict on 50,000 rows.
    values = [
        ["" if v is None or v != v else str(v).strip() for v in frame.iloc[:, i].tolist()]
        for i in range(len(columns))
    ]
    rows: list[dict[str, Any]] = []
    # Row numbers as a person counts them: header is row 1, first data row is row 2.
    for number, cells in enumerate(zip(*values, strict=True), start=2):
        if not any(cells):
            continue
        row = dict(zip(columns, cells, strict=True))
        row[ROW] = number
        rows.append(row)
        if not clean:
            for col, cell in zip(columns, cells, strict=True):
                if REPLACEMENT in cell:
                    report.error(number, col, "text could not be read (not Windows-1252 or UTF-8)")
    report.rows_read = len(rows)
    return Table(columns, rows)


def require_columns(table: Table, columns: Iterable[str], report: ImportReport) -> bool:
    """Columns are found by header name; a missing required one is reported against row 1."""
    present = set(table.columns)
    ok = True
    for col in columns:
        if col not in present:
            report.error(1, col, "missing column")
            ok = False
    return ok


DATE_RE = re.compile(r"^(\d{1,2})([-/])(\d{1,2})\2(\d{4})$")
ISO_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?: 00:00:00)?$")


def parse_date(text: str) -> date:
    """dd-mm-yyyy, dd/mm/yyyy (GIAS, spreadsheets) or yyyy-mm-dd (XLSX date cells)."""
    value = text.strip()
    match = DATE_RE.match(value)
    if match:
        day, month, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
    else:
        match = ISO_RE.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a date (use dd/mm/yyyy)")
        year, month, day = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{value!r} is not a real date") from None


def normalise_postcode(text: str) -> str:
    """The canonical spaced upper-case form, or ValueError."""
    compact = re.sub(r"\s+", "", text.upper())
    match = POSTCODE_RE.match(compact)
    if not match:
        raise ValueError(f"{text!r} is not a UK postcode")
    return f"{match.group(1)} {match.group(2)}"


class Cells:
    """Checked access to one row's cells; each failure is recorded and returns None."""

    __slots__ = ("row", "values", "report", "failed")

    def __init__(self, row: int, values: dict[str, Any], report: ImportReport) -> None:
        self.row = row
        self.values = values
        self.report = report
        self.failed = False

    def _fail(self, column: str, reason: str) -> None:
        self.failed = True
        self.report.error(self.row, column, reason)

    def raw(self, column: str) -> str:
        return self.values.get(column) or ""

    def has(self, column: str) -> bool:
        return column in self.values

    def text(self, column: str, *, required: bool = False, max_len: int = 200) -> str | None:
        value = self.raw(column)
        if not value:
            if required:
                self._fail(column, "a value is required")
            return None
        if REPLACEMENT in value:
            return None  # already reported when the file was read
        if len(value) > max_len:
            self._fail(column, f"longer than {max_len} characters")
            return None
        return value

    def integer(
        self,
        column: str,
        *,
        required: bool = False,
        low: int | None = None,
        high: int | None = None,
    ) -> int | None:
        value = self.raw(column)
        if not value:
            if required:
                self._fail(column, "a value is required")
            return None
        try:
            number = Decimal(value.replace(",", ""))
        except InvalidOperation:
            self._fail(column, f"{value!r} is not a whole number")
            return None
        if not number.is_finite() or number != number.to_integral_value():
            self._fail(column, f"{value!r} is not a whole number")
            return None
        result = int(number)
        if (low is not None and result < low) or (high is not None and result > high):
            self._fail(column, f"{result} is out of range ({low} to {high})")
            return None
        return result

    def decimal(self, column: str, *, low: Decimal, high: Decimal) -> Decimal | None:
        value = self.raw(column)
        if not value:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            self._fail(column, f"{value!r} is not a number")
            return None
        if not number.is_finite() or number < low or number > high:
            self._fail(column, f"{value!r} is out of range ({low} to {high})")
            return None
        return number.quantize(Decimal("0.01"))

    def date(
        self,
        column: str,
        *,
        required: bool = False,
        earliest: date | None = None,
        latest: date | None = None,
    ) -> date | None:
        value = self.raw(column)
        if not value:
            if required:
                self._fail(column, "a date is required")
            return None
        try:
            result = parse_date(value)
        except ValueError as exc:
            self._fail(column, str(exc))
            return None
        if earliest is not None and result < earliest:
            self._fail(column, f"{result:%d/%m/%Y} is out of range (before {earliest:%d/%m/%Y})")
            return None
        if latest is not None and result > latest:
            self._fail(column, f"{result:%d/%m/%Y} is out of range (after {latest:%d/%m/%Y})")
            return None
        return result

    def boolean(self, column: str, default: bool = False) -> bool:
        value = self.raw(column).lower()
        if not value:
            return default
        if value in TRUE_WORDS:
            return True
        if value in FALSE_WORDS:
            return False
        self._fail(column, f"{value!r} is not yes or no")
        return default

    def choice(self, column: str, enum_cls: type[E], *, required: bool = False) -> E | None:
        value = self.raw(column).lower().replace(" ", "_").replace("-", "_")
        if not value:
            if required:
                self._fail(column, "a value is required")
            return None
        try:
            return enum_cls(value)
        except ValueError:
            allowed = ", ".join(m.value for m in enum_cls)
            self._fail(column, f"{self.raw(column)!r} is not one of: {allowed}")
            return None

    def postcode(self, column: str, *, required: bool = False) -> str | None:
        value = self.raw(column)
        if not value:
            if required:
                self._fail(column, "a postcode is required")
            return None
        try:
            return normalise_postcode(value)
        except ValueError as exc:
            self._fail(column, str(exc))
            return None


def records(table: Table) -> list[dict[str, Any]]:
    return table.rows


def chunks(items: list[Any], size: int = 5000) -> Iterable[list[Any]]:
    """IN-lists in slices: SQLite caps bound parameters and PostgreSQL plans big lists badly."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def lookup(key: Any, value: Any, wanted: set[Any]) -> dict[Any, Any]:
    """{key: value} for the wanted keys present in the database, in chunked IN queries."""
    from sqlalchemy import select

    from models import db

    found: dict[Any, Any] = {}
    for part in chunks(sorted(wanted)):
        for k, v in db.session.execute(select(key, value).where(key.in_(part))):
            found[k] = v
    return found


def bulk_update(model: type, rows: list[dict[str, Any]]) -> None:
    """UPDATE ... WHERE id = :id as executemany, one statement per set of changed columns.

    Table-level statements (rather than the ORM's bulk-by-primary-key form) return a rowcount,
    which the session-level audit trail records for each statement.
    """
    from sqlalchemy import bindparam, update

    from models.base import utcnow

    table = model.__table__  # type: ignore[attr-defined]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        keys = tuple(sorted(k for k in row if k != "id"))
        groups.setdefault(keys, []).append(row)
    now = utcnow()
    for keys, group in groups.items():
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({k: bindparam(f"b_{k}", type_=table.c[k].type) for k in keys})
        )
        if "updated_at" in table.c:
            stmt = stmt.values(updated_at=now)
        from models import db

        db.session.execute(stmt, [{f"b_{k}": v for k, v in row.items()} for row in group])
