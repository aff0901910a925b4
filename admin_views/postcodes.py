"""Postcodes: the screen for Postcode."""

from __future__ import annotations

from models import Postcode

from .base import ASSISTANTS, AppModelView


class PostcodeView(AppModelView):
    write_roles = ASSISTANTS


VIEW = (PostcodeView, Postcode, "Postcodes", "Reference data")
