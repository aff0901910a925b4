"""Transport applications: the screen for TransportApplication."""

from __future__ import annotations

from models import TransportApplication

from .base import ASSISTANTS, AppModelView


class TransportApplicationView(AppModelView):
    write_roles = ASSISTANTS


VIEW = (TransportApplicationView, TransportApplication, "Transport applications", "Casework")
