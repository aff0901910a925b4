"""Withdrawals (Appendix F seats; A15/A12a eligibilities): a record of notice given.

Concessionary-seat withdrawals are made from the route's "Withdraw seats" page, which picks
the holders by the register and works out the dates and refund; this screen is the record.
"""

from __future__ import annotations

from models import Withdrawal

from .base import OFFICERS, AppModelView
from .money_names import NAME_COLUMNS, MoneyNamesMixin, name_columns, name_export_columns


class WithdrawalView(MoneyNamesMixin, AppModelView):
    write_roles = OFFICERS
    allow_create = False  # made by the withdraw page or the eligibility workflow
    allow_delete = False  # notice given is history
    form_columns = ("reason", "family_told_of_appeal")

    column_labels = NAME_COLUMNS
    column_searchable_list = (Withdrawal.reason,)
    column_formatters = name_columns()
    column_formatters_export = name_export_columns()
    column_list = (
        "child",
        "application_ref",
        "kind",
        "concessionary_seat",
        "clause",
        "notice_on",
        "effective_on",
        "refund_amount",
        "family_told_of_appeal",
        "decided_by",
        "decided_at",
    )
    column_select_related_list = (Withdrawal.concessionary_seat, Withdrawal.decided_by)
    column_filters = (
        Withdrawal.kind,
        Withdrawal.clause,
        Withdrawal.notice_on,
        Withdrawal.effective_on,
    )
    column_sortable_list = ("notice_on", "effective_on", "refund_amount")
    column_default_sort = ("notice_on", True)


VIEW = (WithdrawalView, Withdrawal, "Withdrawals", "Concessionary seats")
