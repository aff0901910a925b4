"""Term-date variations: the screen for TermDateVariation."""

from __future__ import annotations

from models import TermDateVariation

from .base import SUPERVISORS, AppModelView


class TermDateVariationView(AppModelView):
    write_roles = SUPERVISORS


VIEW = (TermDateVariationView, TermDateVariation, "Term-date variations", "Settings")
