"""Retention periods per academic year (supervisors): how long after a pupil's last year their
personal data is kept, and on what legal basis (UK GDPR Art. 5(1)(e); services/retention.py).

A year without a row uses the latest earlier year's row, else the dated default in
services/retention.py, whose legal basis is shown there and in the README.
"""

from __future__ import annotations

from typing import Any

from wtforms import ValidationError

from models import RetentionSetting

from .base import STAFF, SUPERVISORS, AcademicYearChoiceMixin, AppModelView


class RetentionSettingView(AcademicYearChoiceMixin, AppModelView):
    read_roles = STAFF
    write_roles = SUPERVISORS

    list_template = "admin/settings/retention_list.html"
    column_list = ("academic_year", "keep_years", "legal_basis")
    column_default_sort = ("academic_year", True)
    form_columns = column_list
    column_labels = {
        "academic_year": "From academic year",
        "keep_years": "Years kept after the pupil's last academic year",
        "legal_basis": "Legal basis",
    }
    column_descriptions = {
        "keep_years": "Counted from 31 August of the last year the pupil applied for transport "
        "or a seat; then the run on this page (or `flask retention run`) anonymises them.",
    }

    def on_model_change(self, form: Any, model: RetentionSetting, is_created: bool) -> None:
        if model.keep_years is None or model.keep_years < 1:
            raise ValidationError("Keep the records for at least one whole year.")
        if not (model.legal_basis or "").strip():
            raise ValidationError("Say on what legal basis the records are kept.")


VIEW = (RetentionSettingView, RetentionSetting, "Retention periods", "Settings")
