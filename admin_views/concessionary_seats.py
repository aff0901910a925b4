"""Seats: the screen for ConcessionarySeat."""

from __future__ import annotations

from models import ConcessionarySeat

from .base import ASSISTANTS, AppModelView


class ConcessionarySeatView(AppModelView):
    write_roles = ASSISTANTS


VIEW = (ConcessionarySeatView, ConcessionarySeat, "Seats", "Concessionary seats")
