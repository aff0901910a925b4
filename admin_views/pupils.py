"""Pupils: who the child is, where home is, and the facts about them the rules need.

Lists of pupils run to tens of thousands, so every relation on this page is chosen by typing
(never a drop-down), and the list joins the parish in the same query as the pupils.
"""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_admin.actions import action
from wtforms import Field, Form
from wtforms.validators import NumberRange, ValidationError

from models import Contact, LowIncomeEvidence, Pupil, db
from models.enums import CareBy, Placement
from services import applications, years
from services.anonymise import AnonymiseError, anonymise_pupil
from services.errors import ServiceError

from .base import ASSISTANTS, SUPERVISORS, AppModelView
from .case_view import CaseViewMixin
from .contacts import ContactInline
from .enum_support import choices, enum_formatter
from .low_income import LowIncomeInline
from .postcodes import EASTING_RANGE, NORTHING_RANGE, PARISH_LOOKUP, postcode_field_args


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def check_date_of_birth(_form: Form, field: Field) -> None:
    """The service's check (services/applications.py), the one the import makes too."""
    if field.data is None:
        return
    try:
        applications.check_pupil_date_of_birth(field.data, today=years.today())
    except ServiceError as error:
        raise ValidationError(str(error)) from None


def _residence_cell(_view: Any, _context: Any, model: Pupil, _name: str) -> str:
    """A2: the parish decides when it is outside the county (services/schools.py `resident`);
    a record that says otherwise is flagged, not silently believed."""
    parish = model.parish
    if parish is not None and not parish.in_county:
        if model.lives_in_county:
            return f"No: recorded yes, but {parish.name} is outside the county (A2)"
        return "No"
    return "Yes" if model.lives_in_county else "No"


class PupilView(CaseViewMixin, AppModelView):
    write_roles = ASSISTANTS
    # UK GDPR Art. 17 and the retention rule: only a supervisor erases a family's details.
    action_roles = {"anonymise": SUPERVISORS}

    column_list = (
        "reference",
        "last_name",
        "first_name",
        "date_of_birth",
        "postcode",
        "parish",
        "lives_in_county",
        "send",
        "ehcp",
        "care_by",
    )
    column_select_related_list = (Pupil.parish,)
    column_default_sort = [("last_name", False), ("first_name", False)]
    # Tens of thousands of rows a year: counting every match on each page (a full scan for a
    # search) cost more than the page itself (bench/profiles/NOTES.md).
    simple_list_pager = True
    column_searchable_list = ("reference", "first_name", "last_name", "postcode")
    column_filters = (
        "parish.name",
        "lives_in_county",
        "ehcp",
        "send",
        "care_by",
        "care_placement",
        "care_leaver",
        "date_of_birth",
        "town",
    )
    column_sortable_list = (
        "reference",
        "last_name",
        "first_name",
        "date_of_birth",
        "postcode",
        ("parish", "parish.name"),
    )
    column_labels = {
        "reference": "Reference",
        "first_name": "First name",
        "last_name": "Surname",
        "date_of_birth": "Date of birth",
        "year_group_override": "Year group (if out of cohort)",
        "address": "Address",
        "town": "Town",
        "postcode": "Postcode",
        "parish": "Parish",
        "parish.name": "Parish",
        "easting": "Easting (m)",
        "northing": "Northing (m)",
        "lives_in_county": "Lives in the county",
        "send": "SEND",
        "ehcp": "EHCP",
        "care_by": "In care of",
        "care_placement": "Care placement",
        "care_home_la": "Placing council",
        "care_leaver": "Care leaver",
        "low_income": "Low-income evidence",
        "contacts": "Parents and carers",
    }
    column_descriptions = {
        "year_group_override": "Only for a child taught outside their age group: 0 is "
        "Reception, 1-13 Years 1 to 13. Otherwise the year group comes from the date of birth.",
        "ehcp": "Has an Education, Health and Care Plan (A4, A8).",
        "care_by": "A21 (this council) or A22 (another council) for a child in care.",
        "care_home_la": "A22: the council that placed the child.",
        "care_leaver": "A21: a post-16 student who has left this or another council's care "
        "pays no contribution.",
        "lives_in_county": "A2: transport is for children resident in the county. A home in a "
        "parish marked outside the county is not resident, whatever this says.",
    }
    column_formatters = {
        "care_by": enum_formatter("care_by"),
        "care_placement": enum_formatter("care_placement"),
        "lives_in_county": _residence_cell,
    }
    column_export_list = (
        "reference",
        "first_name",
        "last_name",
        "date_of_birth",
        "address",
        "town",
        "postcode",
        "parish",
        "lives_in_county",
        "send",
        "ehcp",
        "care_by",
        "care_placement",
        "care_leaver",
    )
    form_columns = (
        "reference",
        "first_name",
        "last_name",
        "date_of_birth",
        "year_group_override",
        "address",
        "town",
        "postcode",
        "parish",
        "easting",
        "northing",
        "lives_in_county",
        "send",
        "ehcp",
        "care_by",
        "care_placement",
        "care_home_la",
        "care_leaver",
        "low_income",
        "contacts",
    )
    form_args = {
        "reference": {"filters": [_strip]},
        "first_name": {"filters": [_strip]},
        "last_name": {"label": "Surname", "filters": [_strip]},
        "date_of_birth": {"validators": [check_date_of_birth]},
        "year_group_override": {
            "label": "Year group (if out of cohort)",
            "validators": [NumberRange(-1, 20, "A year group is a number from 0 (Reception).")],
        },
        "postcode": postcode_field_args(),
        "easting": {"label": "Easting (m)", "validators": [EASTING_RANGE]},
        "northing": {"label": "Northing (m)", "validators": [NORTHING_RANGE]},
    }
    form_ajax_refs = {"parish": PARISH_LOOKUP}
    form_choices = {"care_by": choices(CareBy), "care_placement": choices(Placement)}
    inline_models = (LowIncomeInline(LowIncomeEvidence), ContactInline(Contact))

    def validate_form(self, form: Form) -> bool:
        valid = super().validate_form(form)
        if not valid or not hasattr(form, "care_by"):
            return valid
        # A21/A22: who holds the child in care, and how, go together.
        if bool(form.care_by.data) != bool(form.care_placement.data):
            target = form.care_placement if form.care_by.data else form.care_by
            target.errors.append(
                "Fill in both 'In care of' and 'Care placement' for a child in care, or neither."
            )
            valid = False
        if form.care_home_la.data and str(form.care_by.data or "") != "other_la":
            form.care_home_la.errors.append(
                "A placing council is recorded only for a child in another council's care (A22)."
            )
            valid = False
        return valid

    @action(
        "anonymise",
        "Anonymise (erase personal data)",
        "Anonymise the selected pupils? Their names, date of birth (kept as the year group), "
        "address, parents' and carers' details, letters and notes are erased for good, in the "
        "audit trail too. Applications, decisions, counts and money are kept. This cannot be "
        "undone.",
    )
    def action_anonymise(self, ids: list[str]) -> None:
        """Each pupil in its own transaction: one that fails leaves the others done."""
        wanted = [i for i in self.typed_ids(ids) if isinstance(i, int)]
        done = already = 0
        for pupil_id in wanted:
            try:
                result = anonymise_pupil(db.session, pupil_id)
            except AnonymiseError as error:
                db.session.rollback()
                flash(str(error), "error")
                continue
            if result.already:
                already += 1
            else:
                done += 1
        if done or already:
            flash(
                f"{done} pupils anonymised"
                + (f"; {already} were already anonymised" if already else "")
                + ".",
                "success",
            )


VIEW = (PupilView, Pupil, "Pupils", "Casework")
