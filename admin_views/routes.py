"""Routes and vehicles: the screen for Route."""

from __future__ import annotations

from models import Route

from .base import ASSISTANTS, AppModelView


class RouteView(AppModelView):
    write_roles = ASSISTANTS


VIEW = (RouteView, Route, "Routes and vehicles", "Reference data")
