"""Eligibility decisions: the screen for EligibilityDecision."""

from __future__ import annotations

from models import EligibilityDecision

from .base import OFFICERS, AppModelView


class EligibilityDecisionView(AppModelView):
    write_roles = OFFICERS


VIEW = (EligibilityDecisionView, EligibilityDecision, "Eligibility decisions", "Casework")
