"""The academic-year calendar (supervisors): terms, closures and the operational-day count.

The count is never stored: it is recomputed from the terms and closures with
``rules.calendar.operational_days`` whenever the year is listed, opened or saved, with a warning
unless it equals the year's expected figure (190: Appendix H, glossary "School year").
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.model.form import InlineFormAdmin
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import AcademicYear, Closure, Term, db
from rules.calendar import operational_days
from rules.errors import RulesError
from services.settings import (
    add_bank_holidays_as_closures,
    bank_holidays_in_term,
    calendar_warning,
    expected_operational_days,
    operational_day_count,
)

from .base import STAFF, SUPERVISORS, AppModelView, user_has
from .dates import parse_uk_date

# The live count's bounds (issue 16: a 10,000-year "term" took 8.7 s): an academic year has
# three terms (six half terms) and a few dozen closures, and no term outlasts a year.
MAX_TERMS = 12
MAX_CLOSURES = 200
MAX_TERM_DAYS = 366


class TermInline(InlineFormAdmin):
    form_columns = ("id", "name", "starts", "ends")


class ClosureInline(InlineFormAdmin):
    form_columns = ("id", "day", "reason")


def _days_formatter(view: Any, context: Any, model: AcademicYear, name: str) -> Markup:
    count = operational_day_count(model)
    expected = view._expected.get(model.label, 190)
    if count == expected:
        return Markup(f"{count}")
    return Markup(
        f'<span class="text-danger" title="Appendix H: {expected} expected">{count} '
        f"(expected {expected})</span>"
    )


class AcademicYearView(AppModelView):
    read_roles = STAFF
    write_roles = SUPERVISORS
    action_roles = {"add_bank_holidays": SUPERVISORS}

    column_list = ("label", "starts", "ends", "operational_days")
    column_labels = {"operational_days": "Operational days"}
    column_formatters = {"operational_days": _days_formatter}
    column_details_list = ("label", "starts", "ends", "terms", "closures", "operational_days")
    column_formatters_detail = {"operational_days": _days_formatter}
    column_searchable_list = ("label",)
    column_default_sort = ("starts", True)
    form_columns = ("label", "starts", "ends", "terms", "closures")
    inline_models = (TermInline(Term), ClosureInline(Closure))
    edit_template = "admin/settings/academic_year_edit.html"
    create_template = "admin/settings/academic_year_create.html"
    details_template = "admin/settings/academic_year_details.html"

    _expected: dict[str, int] = {}

    def get_query(self):  # type: ignore[no-untyped-def]
        # The count needs every term and closure: two batched loads, not two queries per row.
        return (
            super()
            .get_query()
            .options(selectinload(AcademicYear.terms), selectinload(AcademicYear.closures))
        )

    def render(self, template: str, **kwargs: Any) -> str:
        from models import PolicyParameterSet

        self._expected = dict(
            db.session.execute(
                select(
                    PolicyParameterSet.academic_year, PolicyParameterSet.operational_days_expected
                )
            ).all()
        )
        model = kwargs.get("model")
        if isinstance(model, AcademicYear) and model.id is not None:
            kwargs["calendar"] = {
                "count": operational_day_count(model),
                "expected": expected_operational_days(db.session, model.label),
                "warning": calendar_warning(db.session, model),
                "bank_holidays": bank_holidays_in_term(model),
            }
        return super().render(template, **kwargs)

    def after_model_change(self, form: Any, model: AcademicYear, is_created: bool) -> None:
        db.session.refresh(model)
        warning = calendar_warning(db.session, model)
        if warning:
            flash(warning, "warning")
        else:
            flash(
                f"{model.label} has {operational_day_count(model)} operational days, as expected.",
                "success",
            )
        offered = bank_holidays_in_term(model)
        if offered:
            names = ", ".join(f"{day:%d %b %Y} ({name})" for day, name in offered)
            flash(
                Markup("Bank holidays inside a term, not yet closures: ")
                + escape(names)
                + Markup('. Use the list action "Add bank holidays as closures".'),
                "info",
            )

    @expose("/count/")
    def count_view(self):  # type: ignore[no-untyped-def]
        """The live count for the edit form: the same rules.calendar.operational_days.

        The page sends the terms and closures as typed so far (``term=2024-09-03:25/10/2024``,
        ``closure=14/10/2024``, ``label=2024/25``), read as the date fields read them
        (admin_views/dates.py); nothing is saved.
        """
        if not user_has(self.read_roles):
            abort(403)
        try:
            terms = []
            term_values = request.args.getlist("term")
            closure_values = [v for v in request.args.getlist("closure") if v]
            if len(term_values) > MAX_TERMS or len(closure_values) > MAX_CLOSURES:
                raise ValueError(
                    f"at most {MAX_TERMS} terms and {MAX_CLOSURES} closures in a year"
                )
            for value in term_values:
                first, last = value.split(":")
                span = (parse_uk_date(first), parse_uk_date(last))
                if (span[1] - span[0]).days > MAX_TERM_DAYS:
                    raise ValueError(f"a term cannot be longer than {MAX_TERM_DAYS} days")
                terms.append(span)
            closures = [parse_uk_date(v) for v in closure_values]
            count = len(operational_days(terms, closures))
        except (ValueError, RulesError) as error:
            return jsonify({"error": f"Cannot count yet: {error}"}), 200
        label = request.args.get("label", "")
        expected = expected_operational_days(db.session, label) if label else 190
        return jsonify({"count": count, "expected": expected})

    @action(
        "add_bank_holidays",
        "Add bank holidays as closures",
        "Add England's bank holidays that fall on a term weekday as closures?",
    )
    def action_add_bank_holidays(self, ids: list[str]) -> None:
        years = list(
            db.session.scalars(
                select(AcademicYear)
                .where(AcademicYear.id.in_([int(i) for i in ids]))
                .options(selectinload(AcademicYear.terms), selectinload(AcademicYear.closures))
            )
        )
        try:
            added = add_bank_holidays_as_closures(db.session, years)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        flash(f"Added {added} bank-holiday closure(s); existing closures were kept.", "success")


VIEW = (AcademicYearView, AcademicYear, "Academic years and terms", "Settings")
