"""Schools: the destinations transport may be to, with main sites and satellites (A3f, A4f)."""

from __future__ import annotations

from typing import Any

from flask_admin.model.form import InlineFormAdmin
from sqlalchemy import String, cast
from wtforms import Form, IntegerField
from wtforms.validators import NumberRange

from models import School, SchoolGate
from models.enums import EstablishmentType, Phase, SixthForm

from .base import ASSISTANTS, AppModelView
from .enum_support import choices, enum_formatter
from .postcodes import EASTING_RANGE, NORTHING_RANGE, postcode_field_args


class UrnField(IntegerField):
    """The DfE unique reference number: 6 to 8 digits, with a message a person understands."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or valuelist[0] in (None, ""):
            self.data = None
            return
        text = str(valuelist[0]).strip()
        if not text.isdigit() or not 6 <= len(text) <= 8:
            self.data = None
            raise ValueError("A URN is 6 to 8 digits (numbers only), for example 120456.")
        self.data = int(text)


class _GateInline(InlineFormAdmin):
    """A school's gates, on the school's own form (A4b: "the nearest accessible school gate")."""

    form_columns = ("id", "name", "easting", "northing", "is_open")
    form_label = "Gate"
    column_labels = {
        "name": "Gate name",
        "easting": "Gate easting (m)",
        "northing": "Gate northing (m)",
        "is_open": "Open to pupils",
    }
    form_args = {
        "name": {"label": "Gate name"},
        "easting": {"label": "Gate easting (m)", "validators": [EASTING_RANGE]},
        "northing": {"label": "Gate northing (m)", "validators": [NORTHING_RANGE]},
        "is_open": {"label": "Open to pupils"},
    }


AGE = NumberRange(0, 25, "An age is a whole number of years from 0 to 25.")


class SchoolView(AppModelView):
    write_roles = ASSISTANTS

    column_list = (
        "urn",
        "name",
        "phase",
        "establishment_type",
        "selective",
        "town",
        "postcode",
        "main_site",
        "follows_council_term_dates",
        "is_open",
        "location",
    )
    column_select_related_list = (School.main_site,)
    column_default_sort = "name"
    column_searchable_list = ("name", "urn", "postcode", "town")
    column_filters = (
        "phase",
        "establishment_type",
        "is_open",
        "selective",
        "sixth_form",
        "follows_council_term_dates",
        "town",
        "religious_character",
        "easting",
    )
    column_sortable_list = (
        "urn",
        "name",
        "phase",
        "establishment_type",
        "town",
        "postcode",
        "is_open",
    )
    column_labels = {
        "urn": "URN",
        "name": "Name",
        "phase": "Phase",
        "establishment_type": "Type",
        "selective": "Grammar (selective)",
        "religious_character": "Religious character",
        "statutory_low_age": "Lowest age",
        "statutory_high_age": "Highest age",
        "sixth_form": "Sixth form",
        "street": "Street",
        "town": "Town",
        "postcode": "Postcode",
        "easting": "Easting (m)",
        "northing": "Northing (m)",
        "la_code": "Local authority number",
        "main_site": "Main site",
        "satellites": "Satellite sites",
        "day_starts": "Day starts",
        "day_ends": "Day ends",
        "follows_council_term_dates": "Follows council term dates",
        "is_open": "Open",
        "close_date": "Closed on",
        "gates": "Gates (A4b)",
        "location": "Location",
    }
    column_descriptions = {
        "urn": "The Department for Education's unique reference number (6 to 8 digits).",
        "main_site": "Filled in for a satellite site: transport goes to the main site (A3f, A4f).",
        "selective": "A grammar school admitting by ability (Appendix G: grammar DTAs).",
        "sixth_form": "From GIAS (OfficialSixthForm). A7b: a school with no sixth form is never "
        "a post-16 student's nearest suitable school; a college always can be.",
        "easting": "British National Grid, metres; used to measure distances from home.",
        "follows_council_term_dates": "Unticked when the school has its own term dates "
        "(Appendix H: community and voluntary-controlled schools may not vary them).",
        "is_open": "Untick when a school closes; a school in use cannot be deleted.",
        "location": "A school without a location is left out of the nearest-school rankings "
        "until it has one (filter: Easting (m) is empty).",
        "religious_character": "From GIAS. A6: the nearest school of this character to the "
        "home, chosen on grounds of religion or belief.",
    }
    column_formatters = {
        "location": lambda _v, _c, model, _n: (
            "ranked" if model.has_location else "unrankable: no location"
        ),
        "phase": enum_formatter("phase"),
        "establishment_type": enum_formatter("establishment_type"),
        "sixth_form": enum_formatter("sixth_form"),
    }
    column_export_list = (
        "urn",
        "name",
        "phase",
        "establishment_type",
        "selective",
        "religious_character",
        "statutory_low_age",
        "statutory_high_age",
        "sixth_form",
        "street",
        "town",
        "postcode",
        "easting",
        "northing",
        "main_site",
        "is_open",
        "close_date",
    )
    column_details_exclude_list = ("satellites",)
    form_columns = (
        "urn",
        "name",
        "phase",
        "establishment_type",
        "selective",
        "religious_character",
        "statutory_low_age",
        "statutory_high_age",
        "sixth_form",
        "street",
        "town",
        "postcode",
        "easting",
        "northing",
        "la_code",
        "main_site",
        "day_starts",
        "day_ends",
        "follows_council_term_dates",
        "is_open",
        "close_date",
    )
    # A4b: "the nearest accessible school gate"; a school without gates is measured to its
    # location, and a closed gate is kept but never measured to.
    inline_models = (_GateInline(SchoolGate),)
    form_overrides = {"urn": UrnField}
    form_choices = {
        "phase": choices(Phase),
        "establishment_type": choices(EstablishmentType),
        "sixth_form": choices(SixthForm),
    }
    form_args = {
        "urn": {
            "label": "URN",
            "description": "6 to 8 digits, from Get Information about Schools.",
        },
        "postcode": postcode_field_args(),
        "statutory_low_age": {"label": "Lowest age", "validators": [AGE]},
        "statutory_high_age": {"label": "Highest age", "validators": [AGE]},
        "easting": {"label": "Easting (m)", "validators": [EASTING_RANGE]},
        "northing": {"label": "Northing (m)", "validators": [NORTHING_RANGE]},
        "la_code": {"label": "Local authority number"},
        "main_site": {"label": "Main site (for a satellite)"},
    }
    form_ajax_refs = {
        "main_site": {
            "fields": (School.name, School.postcode, cast(School.urn, String)),
            "placeholder": "Type part of the main site's name, postcode or URN",
            "page_size": 20,
            "minimum_input_length": 2,
        }
    }

    def validate_form(self, form: Form) -> bool:
        valid = super().validate_form(form)
        if not valid or not hasattr(form, "statutory_low_age"):
            return valid
        low, high = form.statutory_low_age.data, form.statutory_high_age.data
        if low is not None and high is not None and high < low:
            form.statutory_high_age.errors.append("The highest age cannot be below the lowest.")
            valid = False
        main = form.main_site.data
        editing = getattr(form, "_obj", None)
        if main is not None:
            if editing is not None and main.id == editing.id:
                form.main_site.errors.append("A school cannot be its own main site.")
                valid = False
            elif main.main_site_id is not None:
                form.main_site.errors.append(
                    "That school is itself a satellite; choose its main site instead (A3f)."
                )
                valid = False
        if form.is_open.data and form.close_date.data:
            form.close_date.errors.append("An open school has no closing date; untick Open.")
            valid = False
        return valid

    def edit_form(self, obj: Any = None) -> Form:
        form = super().edit_form(obj)
        form._obj = obj  # lets validate_form tell "its own main site" apart
        return form


VIEW = (SchoolView, School, "Schools", "Reference data")
