"""Refunds: the screen for Refund."""

from __future__ import annotations

from models import Refund

from .base import ASSISTANTS, AppModelView


class RefundView(AppModelView):
    write_roles = ASSISTANTS


VIEW = (RefundView, Refund, "Refunds", "Money")
