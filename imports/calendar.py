"""An academic year's calendar from a CSV or XLSX file (Appendix H): terms and closures.

Columns (header names, any order): `kind` (term or closure), `name` (a term's name, e.g.
"Autumn 1"), `first_day`, `last_day` (dd/mm/yyyy or yyyy-mm-dd; a closure's `last_day` is
optional and makes it a run of days), `reason` (a closure's, e.g. "INSET day"). Every row is
checked before anything is written: a bad cell is reported by row and column and nothing is
created (`services.year_setup.create_year`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from rules.academic_year import parse_academic_year

from .reading import ROW, date_between, parse_date, read_table, require_columns
from .report import ImportReport

COLUMNS = ("kind", "name", "first_day", "last_day", "reason")


@dataclass
class CalendarFile:
    terms: list[tuple[str, date, date]] = field(default_factory=list)
    closures: list[tuple[date, str]] = field(default_factory=list)


def read_calendar(data: bytes, filename: str, label: str, report: ImportReport) -> CalendarFile:
    """The file's terms and closures for the year `label`; errors go to `report`."""
    found = CalendarFile()
    table = read_table(data, filename, report)
    if table is None or not require_columns(table, COLUMNS, report):
        return found
    year = parse_academic_year(label)
    report.rows_in_scope = len(table)

    def day(row: dict[str, Any], column: str) -> date | None:
        try:
            return date_between(parse_date(row[column]), year.start, year.end)
        except ValueError as error:
            report.error(row[ROW], column, str(error))
            return None

    closed: set[date] = set()
    for row in table.rows:
        kind = row["kind"].lower()
        if kind == "term":
            name = row["name"]
            if not name:
                report.error(row[ROW], "name", "a term needs a name, e.g. Autumn 1")
            first, last = day(row, "first_day"), day(row, "last_day")
            if first and last and last < first:
                report.error(row[ROW], "last_day", "a term cannot end before it starts")
            elif first and last and name:
                found.terms.append((name[:60], first, last))
        elif kind == "closure":
            reason = row["reason"]
            if not reason:
                report.error(row[ROW], "reason", "say why there is no transport, e.g. INSET day")
            first = day(row, "first_day")
            last = day(row, "last_day") if row["last_day"] else first
            if first and last and last < first:
                report.error(row[ROW], "last_day", "a closure cannot end before it starts")
            elif first and last and reason:
                current = first
                while current <= last:
                    if current.weekday() < 5 and current not in closed:
                        found.closures.append((current, reason[:120]))
                        closed.add(current)
                    current += timedelta(days=1)
        else:
            report.error(row[ROW], "kind", f"{row['kind']!r} is not one of: term, closure")
    ordered = sorted(found.terms, key=lambda t: t[1])
    for (_, _, end), (name, start, _) in zip(ordered, ordered[1:], strict=False):
        if start <= end:
            report.error(None, "first_day", f"term {name!r} overlaps the term before it")
    if not found.terms and report.ok:
        report.error(None, "kind", "the file has no terms")
    for closure_day, _ in found.closures:
        if not any(s <= closure_day <= e for _, s, e in found.terms):
            report.error(None, "first_day", f"closure on {closure_day:%d/%m/%Y} is not in a term")
    return found
