"""Seat applications: the screen for ConcessionaryApplication."""

from __future__ import annotations

from models import ConcessionaryApplication

from .base import ASSISTANTS, AppModelView


class ConcessionaryApplicationView(AppModelView):
    write_roles = ASSISTANTS


VIEW = (
    ConcessionaryApplicationView,
    ConcessionaryApplication,
    "Seat applications",
    "Concessionary seats",
)
