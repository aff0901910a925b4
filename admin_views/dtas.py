"""Designated Transport Areas: the screen for DesignatedTransportArea."""

from __future__ import annotations

from models import DesignatedTransportArea

from .base import ASSISTANTS, AppModelView


class DtaView(AppModelView):
    write_roles = ASSISTANTS


VIEW = (DtaView, DesignatedTransportArea, "Designated Transport Areas", "Reference data")
