"""Contributions: the screen for Contribution."""

from __future__ import annotations

from models import Contribution

from .base import ASSISTANTS, AppModelView


class ContributionView(AppModelView):
    write_roles = ASSISTANTS


VIEW = (ContributionView, Contribution, "Contributions", "Money")
