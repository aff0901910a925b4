"""The audit trail: read-only for everyone, supervisors included.

Rows are written by services.audit at the session level and the database refuses to change
or delete them (migration 0002), so the screen only lists, searches, filters and shows.
"""

from __future__ import annotations

import re
from typing import Any

from flask_admin.contrib.sqla.filters import FilterEqual
from markupsafe import Markup

from models import AuditLog

from .base import OFFICERS, AppModelView, name_in_words, summary_list, value_in_words

_CODE_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def _change_in_words(value: Any) -> str:
    if isinstance(value, list) and len(value) == 2:
        return f"{value_in_words(value[0])} → {value_in_words(value[1])}"
    if isinstance(value, str) and " " in value:
        # A read's description names its table ("transport_application list"): in words.
        return _CODE_NAME.sub(lambda m: name_in_words(m.group(0)).lower(), value)
    return value_in_words(value)


def _changes_formatter(view: Any, context: Any, model: AuditLog, name: str) -> str:
    """The fields changed, in words: "Status: Allocated → Lapsed" (issue 15, not JSON)."""
    changes = model.changes if isinstance(model.changes, dict) else {}
    text = "; ".join(
        f"{name_in_words(key)}: {_change_in_words(value)}"
        for key, value in sorted(changes.items())
        if not key.startswith("_")
    )
    return text[:300] + "…" if len(text) > 300 else text


def _changes_detail(view: Any, context: Any, model: AuditLog, name: str) -> Markup:
    changes = model.changes if isinstance(model.changes, dict) else {}
    return summary_list(
        {key: _change_in_words(value) for key, value in changes.items() if not key.startswith("_")}
    )


def _table(view: Any, context: Any, model: AuditLog, name: str) -> str:
    return name_in_words(model.table_name)


class AuditLogView(AppModelView):
    # Officers and supervisors review who changed what; assistants key work, not oversight.
    read_roles = OFFICERS
    write_roles = ()
    export_roles = OFFICERS
    allow_create = False
    allow_edit = False
    allow_delete = False

    column_list = ("at", "username", "action", "table_name", "record_id", "changes")
    column_formatters = {"changes": _changes_formatter, "table_name": _table}
    column_formatters_detail = {"changes": _changes_detail, "table_name": _table}
    column_searchable_list = ("table_name", "record_id", "username")
    column_filters = (
        "at",
        "action",
        "table_name",
        "username",
        FilterEqual(AuditLog.record_id, "Record id"),
        FilterEqual(AuditLog.user_id, "User id"),
    )
    column_default_sort = ("id", True)
    column_labels = {"at": "When", "username": "Who", "table_name": "Table", "record_id": "Record"}
    simple_list_pager = True  # the trail only grows; counting it on every page costs
    column_display_actions = True


VIEW = (AuditLogView, AuditLog, "Audit trail", "Administration")
