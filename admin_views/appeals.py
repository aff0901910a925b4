"""Appeals: the screen for Appeal."""

from __future__ import annotations

from models import Appeal

from .base import OFFICERS, AppModelView


class AppealView(AppModelView):
    write_roles = OFFICERS


VIEW = (AppealView, Appeal, "Appeals", "Casework")
