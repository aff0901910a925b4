"""Import runs: every import checked or made, on screen or by command, and which were refused.

The home page's "Imports with problems" opens this list with the problems filter set
(services/import_runs.py's one definition). Written only by the imports; read by staff.
"""

from __future__ import annotations

from typing import Any

from flask_admin.contrib.sqla.filters import BaseSQLAFilter

from models import ImportRun
from services import import_runs

from .base import STAFF, AppModelView

PROBLEMS_FILTER = "With problems"


class ProblemsFilter(BaseSQLAFilter):
    """Refused runs not since put right by a clean import of the same kind."""

    def __init__(self, name: str) -> None:
        super().__init__(ImportRun.id, name, options=(("1", "Yes"),))

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        return query.filter(import_runs.with_problems()) if value == "1" else query

    def operation(self) -> str:
        return "is"


class ImportRunView(AppModelView):
    read_roles = STAFF
    write_roles = ()
    allow_create = False
    allow_edit = False
    allow_delete = False
    can_export = False

    column_list = (
        "ran_at",
        "kind",
        "filename",
        "via",
        "username",
        "rows_read",
        "error_count",
        "committed",
    )
    column_labels = {
        "ran_at": "Run",
        "via": "How",
        "username": "By",
        "rows_read": "Rows read",
        "error_count": "Errors",
        "committed": "Imported",
    }
    column_filters = ("kind", "via", "ran_at", ProblemsFilter(PROBLEMS_FILTER))
    column_default_sort = ("ran_at", True)
    column_sortable_list = ("ran_at", "kind", "error_count")


VIEW = (ImportRunView, ImportRun, "Import runs", "Reference data")
