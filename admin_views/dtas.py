"""Designated Transport Areas (A14, Appendix G): a school, a category, and the areas in it.

A home is in a school's DTA when its parish or its postcode is listed here, so the areas are
edited on the DTA's own page, one row per parish or postcode, each chosen by typing.
"""

from __future__ import annotations

from typing import Any

from flask_admin.model.form import InlineFormAdmin
from sqlalchemy import String, cast

from models import DesignatedTransportArea, DtaArea, School
from models.enums import DtaCategory

from .base import ASSISTANTS, AppModelView
from .enum_support import choices, enum_formatter
from .postcodes import PARISH_LOOKUP, POSTCODE_LOOKUP

SCHOOL_LOOKUP = {
    "fields": (School.name, School.postcode, cast(School.urn, String)),
    "placeholder": "Type part of the school's name, postcode or URN",
    "page_size": 20,
    "minimum_input_length": 2,
}


class DtaAreaInline(InlineFormAdmin):
    form_columns = ("id", "parish", "postcode")
    form_label = "Area"
    column_labels = {"parish": "Parish", "postcode": "Postcode"}
    form_args = {
        "parish": {"description": "A whole parish in the area (leave Postcode empty)."},
        "postcode": {"description": "Or a single postcode (leave Parish empty)."},
    }
    form_ajax_refs = {"parish": PARISH_LOOKUP, "postcode": POSTCODE_LOOKUP}


class DtaView(AppModelView):
    write_roles = ASSISTANTS

    column_list = ("name", "school", "school.urn", "category", "special_arrangement")
    column_select_related_list = (DesignatedTransportArea.school,)
    column_default_sort = "name"
    column_searchable_list = ("name", "school.name", "school.urn")
    column_filters = ("category", "school.name", "school.phase")
    column_sortable_list = ("name", ("school", "school.name"), "category")
    column_labels = {
        "name": "Name",
        "school": "School",
        "school.name": "School",
        "school.urn": "School URN",
        "school.phase": "School phase",
        "category": "Category",
        "special_arrangement": "Special arrangement",
        "areas": "Parishes and postcodes in the area",
    }
    column_descriptions = {
        "category": "Appendix A and G: primary, secondary all-ability, grammar, sixth form or "
        "FE college. A school has at most one DTA of each category.",
        "special_arrangement": "Appendix B arrangements that are not just a list of areas.",
    }
    column_formatters = {
        "category": enum_formatter("category"),
        "special_arrangement": lambda v, c, m, n: (m.special_arrangement or "")[:80],
    }
    column_export_list = ("name", "school", "school.urn", "category", "special_arrangement")
    form_columns = ("name", "school", "category", "special_arrangement", "areas")
    form_ajax_refs = {"school": SCHOOL_LOOKUP}
    form_choices = {"category": choices(DtaCategory)}
    inline_models = (DtaAreaInline(DtaArea),)

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        """Each area is a parish or a postcode, never both or neither (A14)."""
        from wtforms.validators import ValidationError

        for area in model.areas:
            if (area.parish is None) == (area.postcode is None):
                raise ValidationError(
                    "Each area row needs exactly one of a parish or a postcode. Nothing was saved."
                )
        seen: set[tuple[str, int]] = set()
        for area in model.areas:
            key = ("parish", area.parish.id) if area.parish else ("postcode", area.postcode.id)
            if key in seen:
                raise ValidationError(
                    f"The {key[0]} {area} is listed twice in this DTA. Nothing was saved."
                )
            seen.add(key)
        super().on_model_change(form, model, is_created)


VIEW = (DtaView, DesignatedTransportArea, "Designated Transport Areas", "Reference data")
