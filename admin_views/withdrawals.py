"""Withdrawals: the screen for Withdrawal."""

from __future__ import annotations

from models import Withdrawal

from .base import OFFICERS, AppModelView


class WithdrawalView(AppModelView):
    write_roles = OFFICERS


VIEW = (WithdrawalView, Withdrawal, "Withdrawals", "Concessionary seats")
