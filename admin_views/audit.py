"""The audit trail: read-only for everyone, supervisors included.

Rows are written by services.audit at the session level and the database refuses to change
or delete them (migration 0002), so the screen only lists, searches, filters and shows.
"""

from __future__ import annotations

import json
from typing import Any

from flask_admin.contrib.sqla.filters import FilterEqual
from markupsafe import Markup, escape

from models import AuditLog

from .base import OFFICERS, AppModelView


def _changes_formatter(view: Any, context: Any, model: AuditLog, name: str) -> Markup:
    text = json.dumps(model.changes, ensure_ascii=False, sort_keys=True)
    if len(text) > 300:
        text = text[:300] + "…"
    return Markup("<code>") + escape(text) + Markup("</code>")


def _changes_detail(view: Any, context: Any, model: AuditLog, name: str) -> Markup:
    text = json.dumps(model.changes, ensure_ascii=False, sort_keys=True, indent=2)
    return Markup("<pre>") + escape(text) + Markup("</pre>")


class AuditLogView(AppModelView):
    # Officers and supervisors review who changed what; assistants key work, not oversight.
    read_roles = OFFICERS
    write_roles = ()
    export_roles = OFFICERS
    allow_create = False
    allow_edit = False
    allow_delete = False

    column_list = ("at", "username", "action", "table_name", "record_id", "changes")
    column_formatters = {"changes": _changes_formatter}
    column_formatters_detail = {"changes": _changes_detail}
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
