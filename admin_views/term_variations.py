"""Schools' term-date variations (supervisors; Appendix H, A23).

Saving a request applies Appendix H at once: community and voluntary-controlled schools are
refused automatically, and notice after 31 August for the following September is flagged as
short notice. The report lists schools sharing a route whose dates or times differ (A23).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, request
from flask_admin import expose
from sqlalchemy import select

from models import AcademicYear, School, TermDateVariation, db
from services.settings import apply_variation_rules, route_conflicts

from .base import (
    STAFF,
    SUPERVISORS,
    AcademicYearChoiceMixin,
    AppModelView,
    current_year,
    user_has,
)


class TermDateVariationView(AcademicYearChoiceMixin, AppModelView):
    read_roles = STAFF
    write_roles = SUPERVISORS

    column_list = (
        "school",
        "academic_year",
        "notice_on",
        "first_day",
        "last_day",
        "day_starts",
        "day_ends",
        "status",
        "short_notice",
    )
    column_select_related_list = (TermDateVariation.school,)
    column_filters = ("academic_year", "status", "short_notice", "notice_on")
    column_searchable_list = ("details",)
    column_default_sort = ("notice_on", True)
    form_columns = (
        "school",
        "academic_year",
        "notice_on",
        "first_day",
        "last_day",
        "day_starts",
        "day_ends",
        "details",
        "status",
        "refusal_reason",
    )
    form_ajax_refs = {"school": {"fields": ("name",), "page_size": 20}}
    column_descriptions = {
        "short_notice": "Appendix H: notice given after 31 August before the September a year "
        "earlier than the change.",
        "status": "Refused automatically for community and voluntary-controlled schools "
        "(Appendix H).",
    }
    list_template = "admin/settings/term_variation_list.html"

    def on_model_change(self, form: Any, model: TermDateVariation, is_created: bool) -> None:
        school = model.school or db.session.get(School, model.school_id)
        if school is None:
            return
        for note in apply_variation_rules(model, school):
            flash(note, "warning")

    @expose("/report/")
    def report_view(self):  # type: ignore[no-untyped-def]
        """A23: schools sharing a route but not their dates or times cost extra journeys."""
        if not user_has(self.read_roles):
            abort(403)
        labels = list(
            db.session.scalars(select(AcademicYear.label).order_by(AcademicYear.starts.desc()))
        )
        chosen = request.args.get("year") or current_year() or ""
        if chosen and chosen not in labels:
            abort(404)
        conflicts = route_conflicts(db.session, chosen) if chosen else []
        return self.render(
            "admin/settings/term_variation_report.html",
            years=labels,
            year=chosen,
            conflicts=conflicts,
        )


VIEW = (TermDateVariationView, TermDateVariation, "Term-date variations", "Settings")
