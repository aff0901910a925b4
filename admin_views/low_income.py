"""Low-income evidence (A5c): held per pupil per academic year, as status is checked yearly."""

from __future__ import annotations

from typing import Any

from flask_admin.model.form import InlineFormAdmin
from sqlalchemy import select
from wtforms import Field, Form
from wtforms.validators import ValidationError

from models import AcademicYear, LowIncomeEvidence, Pupil, db
from services import years

from .base import ASSISTANTS, AppModelView

EVIDENCE_HELP = "For example: Free school meals, Universal Credit, Maximum Working Tax Credit."
PUPIL_LOOKUP = {
    "fields": (Pupil.reference, Pupil.last_name, Pupil.first_name, Pupil.postcode),
    "placeholder": "Type a pupil's surname, reference or postcode",
    "page_size": 20,
    "minimum_input_length": 2,
}


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def check_academic_year(_form: Form, field: Field) -> None:
    """The year must be one the panel holds (Settings > Academic years), like 2024/25."""
    if not field.data:
        return
    known = db.session.scalar(select(AcademicYear.id).where(AcademicYear.label == field.data))
    if known is None:
        raise ValidationError(
            f"{field.data!r} is not an academic year the panel knows; use the form 2024/25 "
            "(supervisors add years under Settings)."
        )


def check_verified_on(_form: Form, field: Field) -> None:
    if field.data and field.data > years.today():
        raise ValidationError("Evidence cannot be verified on a date in the future.")
    if field.data and field.data.year < 2000:
        raise ValidationError("Check the year: evidence this old is not current (A5c).")


FORM_ARGS: dict[str, Any] = {
    "academic_year": {
        "label": "Academic year",
        "filters": [_strip],
        "validators": [check_academic_year],
        "description": "The year the evidence covers, like 2024/25 (A5c: checked each year).",
    },
    "evidence": {"label": "Evidence seen", "filters": [_strip], "description": EVIDENCE_HELP},
    "verified_on": {"label": "Verified on", "validators": [check_verified_on]},
}


class LowIncomeInline(InlineFormAdmin):
    """The pupil page's rows of evidence."""

    form_columns = ("id", "academic_year", "evidence", "verified_on")
    form_label = "Low-income evidence"
    form_args = FORM_ARGS


class LowIncomeEvidenceView(AppModelView):
    write_roles = ASSISTANTS

    column_list = ("pupil", "pupil.reference", "academic_year", "evidence", "verified_on")
    column_select_related_list = (LowIncomeEvidence.pupil,)
    column_default_sort = ("verified_on", True)
    column_searchable_list = ("evidence", "pupil.reference", "pupil.last_name")
    column_filters = ("academic_year", "evidence", "verified_on")
    column_sortable_list = (
        ("pupil", "pupil.last_name"),
        "academic_year",
        "evidence",
        "verified_on",
    )
    column_labels = {
        "pupil": "Pupil",
        "pupil.reference": "Pupil reference",
        "pupil.last_name": "Pupil surname",
        "academic_year": "Academic year",
        "evidence": "Evidence seen",
        "verified_on": "Verified on",
    }
    column_descriptions = {
        "academic_year": "A5c: low-income status is evidenced for each academic year.",
    }
    column_export_list = ("pupil.reference", "pupil", "academic_year", "evidence", "verified_on")
    form_columns = ("pupil", "academic_year", "evidence", "verified_on")
    form_args = FORM_ARGS
    form_ajax_refs = {"pupil": PUPIL_LOOKUP}


VIEW = (LowIncomeEvidenceView, LowIncomeEvidence, "Low-income evidence", "Casework")
