"""Schools: the destinations transport may be to, with main sites and satellites (A3f, A4f).

Also home to GuardedDeleteMixin, which the reference-data and casework screens share: deleting
a record that others still point at is refused with a message naming what uses it, and a bulk
delete is all or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from flask import flash
from flask_admin.actions import action
from sqlalchemy import String, and_, cast, func, select
from sqlalchemy.exc import IntegrityError
from wtforms import Form, IntegerField
from wtforms.validators import NumberRange, ValidationError

from models import Base, School, db
from models.enums import EstablishmentType, Phase

from .base import ASSISTANTS, AppModelView, integrity_message
from .postcodes import EASTING_RANGE, NORTHING_RANGE, postcode_field_args

# What a person calls the tables that may hold on to a record.
TABLE_NAMES = {
    "school": "satellite sites",
    "route_school": "routes",
    "dta": "Designated Transport Areas",
    "dta_area": "DTA areas",
    "transport_application": "transport applications",
    "concessionary_application": "concessionary seat applications",
    "term_date_variation": "term-date variation requests",
    "postcode": "postcodes",
    "pupil": "pupils",
    "contribution": "contributions",
    "low_income_evidence": "low-income evidence",
    "appeal": "appeals",
    "withdrawal": "withdrawals",
}


def references_to(model: type[Any], ids: Sequence[Any]) -> list[tuple[str, int]]:
    """Rows in other tables whose RESTRICT foreign keys point at these ids (one query per FK).

    Found from the schema, so a table another engineer adds later is covered too. Rows that
    cascade with the record (a DTA's areas, a pupil's evidence) are not obstacles.
    """
    target = model.__table__
    found: list[tuple[str, int]] = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is not target or (fk.ondelete or "").upper() in {
                "CASCADE",
                "SET NULL",
            }:
                continue
            condition = fk.parent.in_(ids)
            if table is target:  # a satellite being deleted with its main site is no obstacle
                condition = and_(condition, ~table.c.id.in_(ids))
            count = db.session.scalar(select(func.count()).select_from(table).where(condition))
            if count:
                found.append((TABLE_NAMES.get(table.name, table.name.replace("_", " ")), count))
    return found


class GuardedDeleteMixin:
    """Refuse to delete what is still used elsewhere; bulk deletes are all or nothing.

    The database's ON DELETE RESTRICT keys are the guarantee; the check first turns a refusal
    into a message that says what to do, and stops the ORM quietly clearing a child's pointer
    (a satellite's main site, a postcode's parish) instead of refusing.
    """

    def _guarded_delete(self, models: Iterable[Any]) -> int | None:
        view: Any = self
        rows = list(models)
        if not rows:
            return 0
        used = references_to(view.model, [m.id for m in rows])
        if used:
            what = ", ".join(f"{n} {name}" for name, n in used)
            subject = "this record" if len(rows) == 1 else "these records"
            flash(
                f"Not deleted: {subject} {'is' if len(rows) == 1 else 'are'} still used by {what}. "
                "Remove or reassign those first (or mark a school closed instead). "
                "Nothing was deleted.",
                "error",
            )
            return None
        try:
            for row in rows:
                view.on_model_delete(row)
                db.session.delete(row)
            db.session.commit()
        except IntegrityError as exc:
            db.session.rollback()
            flash(integrity_message(exc) + " Nothing was deleted.", "error")
            return None
        except ValidationError as exc:
            db.session.rollback()
            flash(f"Not deleted: {exc} Nothing was deleted.", "error")
            return None
        for row in rows:
            view.after_model_delete(row)
        return len(rows)

    def delete_model(self, model: Any) -> bool:
        return self._guarded_delete([model]) == 1

    @action("delete", "Delete", "Delete the selected records? Records still in use are kept.")
    def action_delete(self, ids: Sequence[str]) -> None:
        view: Any = self
        # Flask-Admin's get_query_for_ids binds the ids as text, which PostgreSQL refuses to
        # compare with an integer key; the ids are whole numbers, so say so.
        try:
            keys = [int(i) for i in ids]
        except ValueError:
            flash("Those records could not be found. Nothing was deleted.", "error")
            return
        rows = db.session.scalars(select(view.model).where(view.model.id.in_(keys))).all()
        deleted = self._guarded_delete(rows)
        if deleted:
            flash(f"{deleted} record(s) deleted.", "success")


# Words for the stored codes where "capitalise and drop the underscores" reads badly.
WORDS = {
    "fe_college": "FE college",
    "all_through": "All-through",
    "secondary_all_ability": "Secondary (all-ability)",
    "alternative_provision": "Alternative provision",
    "stage_one": "Stage one (review)",
    "stage_two": "Stage two (panel)",
    "council": "This council (A21)",
    "other_la": "Another council (A22)",
}


def _label(value: Any) -> str:
    code = str(getattr(value, "value", value))
    return WORDS.get(code) or code.replace("_", " ").capitalize()


def choices(enum_cls: type[Any]) -> list[tuple[str, str]]:
    """form_choices for an enum column: the stored code, shown in words."""
    return [(member.value, _label(member)) for member in enum_cls]


def enum_formatter(name: str) -> Any:
    """A list-column formatter showing an enum value in words ("fe_college" -> "Fe college")."""

    def formatter(_view: Any, _context: Any, model: Any, _name: str) -> str:
        value = getattr(model, name)
        return "" if value is None else _label(value)

    return formatter


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


AGE = NumberRange(0, 25, "An age is a whole number of years from 0 to 25.")


class SchoolView(GuardedDeleteMixin, AppModelView):
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
    )
    column_select_related_list = (School.main_site,)
    column_default_sort = "name"
    column_searchable_list = ("name", "urn", "postcode", "town")
    column_filters = (
        "phase",
        "establishment_type",
        "is_open",
        "selective",
        "follows_council_term_dates",
        "town",
        "religious_character",
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
    }
    column_descriptions = {
        "urn": "The Department for Education's unique reference number (6 to 8 digits).",
        "main_site": "Filled in for a satellite site: transport goes to the main site (A3f, A4f).",
        "selective": "A grammar school admitting by ability (Appendix G: grammar DTAs).",
        "easting": "British National Grid, metres; used to measure distances from home.",
        "follows_council_term_dates": "Unticked when the school has its own term dates "
        "(Appendix H: community and voluntary-controlled schools may not vary them).",
        "is_open": "Untick when a school closes; a school in use cannot be deleted.",
    }
    column_formatters = {
        "phase": enum_formatter("phase"),
        "establishment_type": enum_formatter("establishment_type"),
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
    form_overrides = {"urn": UrnField}
    form_choices = {
        "phase": choices(Phase),
        "establishment_type": choices(EstablishmentType),
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
