"""Instalments: the screen for Instalment."""

from __future__ import annotations

from models import Instalment

from .base import ASSISTANTS, AppModelView


class InstalmentView(AppModelView):
    write_roles = ASSISTANTS


VIEW = (InstalmentView, Instalment, "Instalments", "Money")
