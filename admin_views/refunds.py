"""Refunds owed to families (Appendix F withdrawals, project rule: days not travelled)."""

from __future__ import annotations

from models import Refund

from .base import ASSISTANTS, AppModelView


class RefundView(AppModelView):
    write_roles = ASSISTANTS
    allow_create = False  # made by a withdrawal, with the amount the rules worked out
    allow_delete = False
    form_columns = ("paid_on",)  # an assistant records when the refund was paid

    column_list = ("contribution", "amount", "reason", "due_on", "paid_on")
    column_select_related_list = (Refund.contribution,)
    column_filters = (Refund.due_on, Refund.paid_on)
    column_sortable_list = ("due_on", "paid_on", "amount")
    column_default_sort = ("due_on", True)


VIEW = (RefundView, Refund, "Refunds", "Money")
