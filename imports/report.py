"""The report every import produces, whether it committed or not.

Staff fix a spreadsheet by reading this report, so an error names the row as a person counts it
in the file (the header is row 1), the column as it is headed there, and the reason in plain
words. Counts say what would happen (a preview) or what did happen (after commit).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# More errors than this are summarised: a wholly wrong file otherwise produces a 50,000-row
# report nobody reads, and the first few show what is wrong.
MAX_ERRORS = 500


@dataclass(frozen=True, slots=True)
class RowError:
    row: int | None  # file row number (header = 1); None for a problem with the whole file
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        return f"{where}, column {self.column!r}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Change:
    """One line of the preview: what a row would do to the database."""

    row: int
    action: str  # "insert" or "update"
    key: str
    detail: str


@dataclass
class ImportReport:
    kind: str
    filename: str = ""
    rows_read: int = 0
    rows_in_scope: int = 0
    inserted: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    errors_dropped: int = 0
    changes: list[Change] = field(default_factory=list)
    committed: bool = False

    # The preview shows the first few changes; counting carries on regardless.
    PREVIEW_LIMIT = 200

    @property
    def ok(self) -> bool:
        return not self.errors and not self.errors_dropped

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.errors_dropped

    def error(self, row: int | None, column: str, reason: str) -> None:
        if len(self.errors) >= MAX_ERRORS:
            self.errors_dropped += 1
            return
        self.errors.append(RowError(row, column, reason))

    def change(self, row: int, action: str, key: str, detail: str = "") -> None:
        if len(self.changes) < self.PREVIEW_LIMIT:
            self.changes.append(Change(row, action, key, detail))

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] += n

    def counts(self) -> dict[str, int]:
        return {
            "inserted": sum(self.inserted.values()),
            "updated": sum(self.updated.values()),
            "unchanged": sum(self.unchanged.values()),
            "skipped": sum(self.skipped.values()),
            "errors": self.error_count,
        }

    def summary(self) -> str:
        """One line, for stderr and flash messages."""
        c = self.counts()
        if not self.ok:
            first = self.errors[0] if self.errors else None
            lead = f"; first: {first}" if first else ""
            return f"{self.kind} import refused: {c['errors']} bad row(s), nothing imported{lead}"
        verb = "imported" if self.committed else "would import"
        return (
            f"{self.kind} {verb}: {c['inserted']} inserted, {c['updated']} updated, "
            f"{c['unchanged']} unchanged, {c['skipped']} skipped"
        )

    def lines(self) -> list[str]:
        """The full report as text, for the command's stdout."""
        out = [self.summary(), f"rows read: {self.rows_read}, in scope: {self.rows_in_scope}"]
        for label, counter in (
            ("inserted", self.inserted),
            ("updated", self.updated),
            ("unchanged", self.unchanged),
        ):
            for what, n in sorted(counter.items()):
                out.append(f"{label} {what}: {n}")
        for reason, n in sorted(self.skipped.items()):
            out.append(f"skipped ({reason}): {n}")
        for err in self.errors:
            out.append(f"error: {err}")
        if self.errors_dropped:
            out.append(f"... and {self.errors_dropped} more error(s)")
        return out

    def errors_csv(self) -> str:
        """The errors as CSV; a reason quoting a cell cannot run as a formula (issue 16)."""
        from services.spreadsheets import csv_line

        lines = [csv_line(["row", "column", "reason"])]
        lines += [csv_line([err.row, err.column, err.reason]) for err in self.errors]
        return "".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "counts": self.counts(),
            "skipped": dict(self.skipped),
            "errors": [(e.row, e.column, e.reason) for e in self.errors],
        }
