"""Postcodes: the building blocks of DTAs with parishes (A14), and the checks every form uses.

A postcode typed as "ln11yl" or "LN1  1YL" is the same place as "LN1 1YL"; the panel stores the
one canonical form, so DTA look-ups (A14) and searches match whatever the assistant typed.
"""

from __future__ import annotations

import re
from typing import Any

from wtforms import Field, Form
from wtforms.validators import NumberRange, ValidationError

from models import Parish, Postcode

from .base import ASSISTANTS, AppModelView

# The Royal Mail format (outward code, space, inward code), as the ONS postcode directory uses.
POSTCODE_RE = re.compile(
    r"^(GIR 0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|"
    r"[A-HK-Y][0-9][ABEHMNPRVWXY]) [0-9][ABD-HJLNP-UW-Z]{2})$"
)
POSTCODE_MESSAGE = "Enter a full UK postcode, for example LN1 1YL."
# British National Grid, in metres: the whole of Great Britain fits inside these.
EASTING_RANGE = NumberRange(0, 700_000, "An easting is a number of metres from 0 to 700000.")
NORTHING_RANGE = NumberRange(0, 1_300_000, "A northing is a number of metres from 0 to 1300000.")


def normalise_postcode(value: Any) -> Any:
    """Upper case with exactly one space before the last three characters; blanks become None."""
    if not isinstance(value, str):
        return value
    compact = re.sub(r"\s+", "", value).upper()
    if not compact:
        return None
    if len(compact) > 3:
        return f"{compact[:-3]} {compact[-3:]}"
    return compact


def check_postcode(_form: Form, field: Field) -> None:
    if field.data and not POSTCODE_RE.match(field.data):
        raise ValidationError(POSTCODE_MESSAGE)


def postcode_field_args(required: bool = False) -> dict[str, Any]:
    """form_args for a postcode column: normalised first, then checked."""
    args: dict[str, Any] = {
        "filters": [normalise_postcode],
        "validators": [check_postcode],
        "description": "A full UK postcode; it is stored in capitals with one space (LN1 1YL).",
    }
    return args


PARISH_LOOKUP = {
    "fields": (Parish.name, Parish.code),
    "placeholder": "Type part of a parish name or code",
    "page_size": 20,
    "minimum_input_length": 1,
}
POSTCODE_LOOKUP = {
    "fields": (Postcode.postcode,),
    "placeholder": "Type the start of a postcode",
    "page_size": 20,
    "minimum_input_length": 2,
}


class PostcodeView(AppModelView):
    write_roles = ASSISTANTS

    column_list = ("postcode", "parish", "parish.district", "easting", "northing")
    column_select_related_list = (Postcode.parish,)
    column_default_sort = "postcode"
    column_searchable_list = ("postcode",)
    column_filters = ("parish.name", "parish.district", "parish.in_county")
    column_sortable_list = ("postcode", ("parish", "parish.name"), "easting", "northing")
    column_labels = {
        "postcode": "Postcode",
        "parish": "Parish",
        "parish.name": "Parish",
        "parish.district": "District",
        "parish.in_county": "Parish in the county",
        "easting": "Easting (m)",
        "northing": "Northing (m)",
    }
    column_descriptions = {
        "parish": "The parish the postcode lies in; a DTA listing the parish covers it (A14).",
        "easting": "British National Grid easting of the postcode's centre, in metres.",
    }
    column_export_list = ("postcode", "parish.code", "parish.name", "easting", "northing")
    form_columns = ("postcode", "parish", "easting", "northing")
    form_ajax_refs = {"parish": PARISH_LOOKUP}
    form_args = {
        "postcode": postcode_field_args(),
        "easting": {"validators": [EASTING_RANGE]},
        "northing": {"validators": [NORTHING_RANGE]},
    }


VIEW = (PostcodeView, Postcode, "Postcodes", "Reference data")
