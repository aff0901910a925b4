"""Payments: the screen for Payment."""

from __future__ import annotations

from models import Payment

from .base import ASSISTANTS, AppModelView


class PaymentView(AppModelView):
    write_roles = ASSISTANTS


VIEW = (PaymentView, Payment, "Payments", "Money")
