"""Parishes: the screen for Parish."""

from __future__ import annotations

from models import Parish

from .base import ASSISTANTS, AppModelView


class ParishView(AppModelView):
    write_roles = ASSISTANTS


VIEW = (ParishView, Parish, "Parishes", "Reference data")
