"""Policy parameters: the screen for PolicyParameterSet."""

from __future__ import annotations

from models import PolicyParameterSet

from .base import SUPERVISORS, AppModelView


class PolicyParameterSetView(AppModelView):
    write_roles = SUPERVISORS


VIEW = (PolicyParameterSetView, PolicyParameterSet, "Policy parameters", "Settings")
