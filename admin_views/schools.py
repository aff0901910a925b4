"""Schools: the screen for School."""

from __future__ import annotations

from models import School

from .base import ASSISTANTS, AppModelView


class SchoolView(AppModelView):
    write_roles = ASSISTANTS


VIEW = (SchoolView, School, "Schools", "Reference data")
