"""Refunds owed to families (Appendix F withdrawals, project rule: days not travelled)."""

from __future__ import annotations

from models import Refund

from .base import ASSISTANTS, AppModelView
from .money_names import NAME_COLUMNS, MoneyNamesMixin, name_columns, name_export_columns


class RefundView(MoneyNamesMixin, AppModelView):
    write_roles = ASSISTANTS
    allow_create = False  # made by a withdrawal, with the amount the rules worked out
    allow_delete = False
    form_columns = ("paid_on",)  # an assistant records when the refund was paid

    column_list = (
        "child",
        "application_ref",
        "contribution",
        "amount",
        "reason",
        "due_on",
        "paid_on",
    )
    column_labels = NAME_COLUMNS
    column_searchable_list = (Refund.reason,)
    column_formatters = name_columns()
    column_formatters_export = name_export_columns()
    column_select_related_list = (Refund.contribution,)
    column_filters = (Refund.due_on, Refund.paid_on)
    column_sortable_list = ("due_on", "paid_on", "amount")
    column_default_sort = ("due_on", True)


VIEW = (RefundView, Refund, "Refunds", "Money")
