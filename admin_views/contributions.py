"""Contributions (A9 concessionary seats, A7 post-16): what a family owes, paid and overdue.

Paid, outstanding and overdue are worked out for the whole page in three grouped queries. A
contribution's amount and instalments come from the rules (`rules.contribution`) when the seat
is allocated, so they are not edited by hand: that would break "instalments add up to the
amount" (B1j).
"""

from __future__ import annotations

from typing import Any

from flask import g
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from sqlalchemy import exists, select

from models import Contribution, Instalment, Pupil, db
from services import contributions as money
from services import years

from .base import ASSISTANTS, AppModelView, pounds
from .money_names import NAME_COLUMNS, MoneyNamesMixin, name_columns, name_export_columns


class OverdueFilter(BaseSQLAFilter):
    """B1j: an instalment whose due date has passed and is not fully paid."""

    def __init__(self, column: Any, name: str, model: type = Contribution) -> None:
        super().__init__(column, name, options=(("1", "Yes"), ("0", "No")))
        self.model = model

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        clause = money.overdue_clause(years.today())
        if self.model is Contribution:
            clause = exists(
                select(Instalment.id).where(Instalment.contribution_id == Contribution.id, clause)
            )
        return query.filter(clause if value == "1" else ~clause)

    def operation(self) -> str:
        return "is"


class ContributionView(MoneyNamesMixin, AppModelView):
    write_roles = ASSISTANTS
    allow_create = False
    allow_edit = False
    allow_delete = False

    column_list = (
        "child",
        "application_ref",
        "kind",
        "academic_year",
        "concessionary_seat",
        "plan",
        "start_date",
        "annual_amount",
        "amount",
        "paid",
        "outstanding",
        "overdue",
        "refunded",
    )
    column_labels = {"amount": "Amount (pro rata)", "overdue": "Overdue", **NAME_COLUMNS}
    column_descriptions = {
        "amount": "A9: the annual amount reduced in proportion to the school days remaining",
        "overdue": "Instalments past their due date and not fully paid (B1j)",
    }
    column_select_related_list = (Contribution.pupil, Contribution.concessionary_seat)
    # The child's reference or names, the application's reference (admin_views/money_names.py).
    column_searchable_list = (Pupil.reference, Pupil.last_name)
    column_filters = (
        Contribution.academic_year,
        Contribution.kind,
        Contribution.plan,
        OverdueFilter(Contribution.id, "Overdue"),
    )
    column_sortable_list = ("academic_year", "start_date", "amount")
    column_details_exclude_list = ("created_at", "updated_at")

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        count, rows = super().get_list(*args, **kwargs)
        g.contribution_money = money.contribution_money(
            db.session, [r.id for r in rows], years.today()
        )
        return count, rows

    def _money(self, _context: Any, model: Contribution, name: str) -> Any:
        found = getattr(g, "contribution_money", {}).get(model.id)
        return "" if found is None else pounds(getattr(found, name))

    def _money_export(self, _context: Any, model: Contribution, name: str) -> Any:
        found = getattr(g, "contribution_money", {}).get(model.id)
        return None if found is None else getattr(found, name)

    money_columns = ("annual_amount", "amount", "paid", "outstanding", "overdue", "refunded")
    column_formatters = {**dict.fromkeys(money_columns[2:], _money), **name_columns()}
    # Exports carry the amounts as numbers (issue 15), for the finance team's sums.
    column_formatters_export = {
        **dict.fromkeys(money_columns[2:], _money_export),
        **name_export_columns(),
    }


VIEW = (ContributionView, Contribution, "Contributions", "Money")
