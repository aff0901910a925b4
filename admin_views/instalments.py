"""Instalments (B1j): due dates, what is paid, and what is overdue."""

from __future__ import annotations

from typing import Any

from flask import g
from markupsafe import Markup

from models import Contribution, Instalment, db
from services import contributions as money
from services import years

from .base import ASSISTANTS, AppModelView, pounds
from .contributions import OverdueFilter
from .money_names import NAME_COLUMNS, MoneyNamesMixin, name_columns, name_export_columns

OVERDUE_BADGE = Markup('<span class="badge badge-danger">overdue</span>')


class InstalmentView(MoneyNamesMixin, AppModelView):
    write_roles = ASSISTANTS
    # Made with the contribution by the rules, so they always add up (B1j).
    allow_create = False
    allow_edit = False
    allow_delete = False

    column_list = (
        "child",
        "application_ref",
        "contribution",
        "number",
        "due_on",
        "amount",
        "paid",
        "outstanding",
        "overdue",
    )
    column_labels = NAME_COLUMNS
    column_searchable_list = (Instalment.number,)
    column_select_related_list = (Instalment.contribution,)
    column_filters = (
        Instalment.due_on,
        Contribution.academic_year,
        OverdueFilter(Instalment.id, "Overdue", model=Instalment),
    )
    column_sortable_list = ("due_on", "number", "amount")
    column_default_sort = "due_on"

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        count, rows = super().get_list(*args, **kwargs)
        g.instalment_money = money.instalment_money(db.session, [r.id for r in rows], years.today())
        return count, rows

    def _money(self, _context: Any, model: Instalment, name: str) -> Any:
        found = getattr(g, "instalment_money", {}).get(model.id)
        if found is None:
            return ""
        if name == "overdue":
            return (
                Markup('<span class="badge badge-danger">overdue</span>') if found.overdue else ""
            )
        return pounds(getattr(found, name))

    def _money_export(self, _context: Any, model: Instalment, name: str) -> Any:
        found = getattr(g, "instalment_money", {}).get(model.id)
        if found is None:
            return None
        if name == "overdue":
            return "Yes" if found.overdue else "No"
        return getattr(found, name)

    money_columns = ("amount", "paid", "outstanding")
    column_formatters = {
        "paid": _money,
        "outstanding": _money,
        "overdue": _money,
        **name_columns(),
    }
    # Exports carry the amounts as numbers (issue 15) and "overdue" as Yes/No, not a badge.
    column_formatters_export = {
        "paid": _money_export,
        "outstanding": _money_export,
        "overdue": _money_export,
        **name_export_columns(),
    }


VIEW = (InstalmentView, Instalment, "Instalments", "Money")
