"""Pupils: the screen for Pupil."""

from __future__ import annotations

from models import Pupil

from .base import ASSISTANTS, AppModelView


class PupilView(AppModelView):
    write_roles = ASSISTANTS


VIEW = (PupilView, Pupil, "Pupils", "Casework")
