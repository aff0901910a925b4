"""Contribution settings: the screen for ContributionSetting."""

from __future__ import annotations

from models import ContributionSetting

from .base import SUPERVISORS, AppModelView


class ContributionSettingView(AppModelView):
    write_roles = SUPERVISORS


VIEW = (ContributionSettingView, ContributionSetting, "Contribution settings", "Settings")
