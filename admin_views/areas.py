"""Parishes: DTAs are "based largely on parish or village boundaries" (A14)."""

from __future__ import annotations

import re
from typing import Any

from wtforms import Field, Form
from wtforms.validators import ValidationError

from models import Parish

from .base import ASSISTANTS, AppModelView

CODE_RE = re.compile(r"^[A-Z0-9]{3,20}$")


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def check_code(_form: Form, field: Field) -> None:
    if field.data and not CODE_RE.match(field.data):
        raise ValidationError(
            "A parish code is 3 to 20 letters and digits, such as the ONS code E04005678."
        )


class ParishView(AppModelView):
    write_roles = ASSISTANTS

    # Postcodes are listed on their own screen (filter by parish): a parish can hold hundreds.
    column_list = ("code", "name", "district", "in_county")
    column_default_sort = "name"
    column_searchable_list = ("code", "name")
    column_filters = ("district", "in_county")
    column_labels = {
        "code": "Code",
        "name": "Parish",
        "district": "District",
        "in_county": "In the county",
    }
    column_descriptions = {
        "code": "The ONS parish code, for example E04005678.",
        "in_county": "Untick for a parish over the county boundary (A2: not resident).",
    }
    column_details_exclude_list = ("postcodes",)
    column_export_list = ("code", "name", "district", "in_county")
    form_columns = ("code", "name", "district", "in_county")
    form_args = {
        "code": {"filters": [_upper], "validators": [check_code]},
        "in_county": {"label": "In the county"},
    }


VIEW = (ParishView, Parish, "Parishes", "Reference data")
