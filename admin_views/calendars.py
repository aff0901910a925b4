"""Academic years and terms: the screen for AcademicYear."""

from __future__ import annotations

from models import AcademicYear

from .base import SUPERVISORS, AppModelView


class AcademicYearView(AppModelView):
    write_roles = SUPERVISORS


VIEW = (AcademicYearView, AcademicYear, "Academic years and terms", "Settings")
