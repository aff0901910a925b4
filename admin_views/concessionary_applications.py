"""Concessionary seat applications (A9, Appendix F): allocate, offer from the waiting list, lapse.

Assistants allocate (the selected pending applications, grouped by route) and offer freed seats
to the waiting list; officers and supervisors lapse a finished year (re-application is annual).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms.validators import ValidationError

from models import (
    AcademicYear,
    ConcessionaryApplication,
    ContributionSetting,
    Pupil,
    Route,
    School,
    db,
)
from models.settings import PLAN_WORDS
from services import casework, seats, waiting_list, years
from services.errors import ServiceError

from . import confirm
from .base import ASSISTANTS, OFFICERS, AppModelView, current_year, user_has, year_options
from .low_income import PUPIL_LOOKUP
from .queue_filters import WAITING_FILTER, WaitingWithSeatFilter
from .routes import SCHOOL_LOOKUP, _ints, _why, flash_report

ROUTE_LOOKUP = {
    "fields": (Route.code, Route.operator),
    "placeholder": "Type part of the route code or operator",
    "page_size": 20,
    "minimum_input_length": 1,
}

CA = ConcessionaryApplication


def _refuse_a_plan_not_offered(application: ConcessionaryApplication) -> None:
    setting = db.session.scalar(
        select(ContributionSetting).where(
            ContributionSetting.academic_year == application.academic_year
        )
    )
    if setting is None:
        return
    offered = setting.offered_plans()
    if application.payment_plan not in offered:
        raise ValidationError(
            f"The {application.academic_year} contribution settings do not offer payment "
            f"{PLAN_WORDS[application.payment_plan]} (B1j); they offer: "
            f"{', '.join(PLAN_WORDS[p] for p in offered)}."
        )


class ConcessionaryApplicationView(AppModelView):
    write_roles = ASSISTANTS
    action_roles = {
        "allocate": ASSISTANTS,
        "offer_next": ASSISTANTS,
        "lapse_year": OFFICERS,
    }

    column_list = (
        "reference",
        "pupil",
        "school",
        "route",
        "academic_year",
        "sessions",
        "received_on",
        "payment_plan",
        "status",
        "waitlist_position",
        "refusal_reason",
    )
    column_labels = {"waitlist_position": "Waiting list #", "refusal_reason": "Refused because"}
    column_select_related_list = (CA.pupil, CA.school, CA.route)
    column_searchable_list = (CA.reference, Pupil.reference, Pupil.last_name)
    column_filters = (
        CA.academic_year,
        CA.status,
        CA.sessions,
        Route.code,
        School.name,
        CA.received_on,
        WaitingWithSeatFilter(WAITING_FILTER),
    )
    column_sortable_list = (
        "reference",
        "received_on",
        "status",
        "waitlist_position",
        ("route", "route.code"),
    )
    column_default_sort = ("received_on", True)
    # Tens of thousands of rows a year: counting every match on each page (a full scan for a
    # search) cost more than the page itself (bench/profiles/NOTES.md).
    simple_list_pager = True
    form_columns = (
        "reference",
        "pupil",
        "academic_year",
        "school",
        "route",
        "sessions",
        "received_on",
        "payment_plan",
    )
    form_ajax_refs = {"pupil": PUPIL_LOOKUP, "school": SCHOOL_LOOKUP, "route": ROUTE_LOOKUP}
    column_details_exclude_list = ("created_at", "updated_at")
    list_template = "admin/seats/application_list.html"

    def on_model_change(self, form: Any, model: ConcessionaryApplication, is_created: bool) -> None:
        """B1j: a family can only choose a way to pay that the year's settings offer.

        Checked when the plan is chosen: an application made before a supervisor stopped
        offering its plan can still be corrected without changing the family's choice.
        """
        field = getattr(form, "payment_plan", None)
        if is_created or (field is not None and field.data != field.object_data):
            _refuse_a_plan_not_offered(model)
        super().on_model_change(form, model, is_created)

    def _years_and_routes(self, ids: list[int]) -> dict[str, set[int]]:
        found: dict[str, set[int]] = defaultdict(set)
        for year, route_id in db.session.execute(
            select(CA.academic_year, CA.route_id).where(CA.id.in_(ids))
        ):
            found[year].add(route_id)
        return found

    @action("allocate", "Allocate", None)
    def action_allocate(self, ids: list[str]) -> Any:
        wanted = _ints(ids)
        page = self._confirm(
            "allocate", ids, "Allocate seats by the Appendix F register", "Allocate"
        )
        if page is not None:
            return page
        for year in sorted(self._years_and_routes(wanted)):
            try:
                report = seats.allocate(year, on=years.today(), application_ids=wanted)
            except (ServiceError, IntegrityError) as exc:
                flash(f"{year}: {_why(exc)} Nothing was allocated.", "error")
                continue
            flash_report(report, f"Seats allocated ({year})")
        return None

    def _confirm(self, action_name: str, ids: list[str], title: str, button: str) -> Any:
        """The selection as it stands (how many, in which status, on which routes)."""
        rows = db.session.execute(
            select(CA.status, Route.code)
            .join(Route, Route.id == CA.route_id)
            .where(CA.id.in_(_ints(ids)))
        ).all()
        routes = sorted({code for _status, code in rows})
        return confirm.ask(
            self, action_name, ids, title=title,
            lines=[*confirm.counted((s for s, _c in rows), "application(s)"),
                   f"Routes: {', '.join(routes[:20])}{' ...' if len(routes) > 20 else ''}"],
            button=f"{button} ({len(rows)} applications)",
        )  # fmt: skip

    @expose("/register/")
    def register_view(self) -> Any:
        """A route's waiting list for a year in Appendix F order, each place explained."""
        routes = db.session.execute(select(Route.id, Route.code).order_by(Route.code)).all()
        year_labels = list(
            db.session.scalars(select(AcademicYear.label).order_by(AcademicYear.starts.desc()))
        )
        route_id = casework.as_int(request.args.get("route"))
        year = request.args.get("year") or (year_labels[0] if year_labels else None)
        places = []
        route = db.session.get(Route, route_id) if route_id else None
        if route is not None and year in year_labels:
            places = waiting_list.route_register(db.session, route.id, year)
        return self.render(
            "admin/seats/register.html",
            routes=routes,
            year_labels=year_labels,
            route=route,
            year=year,
            places=places,
        )

    @expose("/allocate-year/", methods=("POST",))
    def allocate_year(self) -> Any:
        """Every pending application of a year, every route, in one run."""
        if not user_has(ASSISTANTS):
            abort(403)
        year = (request.form.get("academic_year") or "").strip()
        if not db.session.scalar(select(AcademicYear.id).where(AcademicYear.label == year)):
            flash(f"There is no academic year {year!r}; nothing was allocated.", "error")
        else:
            try:
                report = seats.allocate(year, on=years.today())
            except (ServiceError, IntegrityError) as exc:
                flash(f"{year}: {_why(exc)} Nothing was allocated.", "error")
            else:
                flash_report(report, f"Seats allocated ({year})")
        return redirect(url_for(".index_view"))

    def render(self, template: str, **kwargs: Any) -> Any:
        if template == self.list_template:
            kwargs.setdefault("year_options", year_options())
            kwargs.setdefault("current_year", current_year())
        return super().render(template, **kwargs)

    @action("offer_next", "Offer next", None)
    def action_offer_next(self, ids: list[str]) -> Any:
        if not confirm.is_confirmed():
            return self._confirm_offers(ids)
        for year, route_ids in sorted(self._years_and_routes(_ints(ids)).items()):
            try:
                report = seats.offer_next(year, on=years.today(), route_ids=route_ids)
            except (ServiceError, IntegrityError) as exc:
                flash(f"{year}: {_why(exc)} Nothing was offered.", "error")
                continue
            flash_report(report, f"Waiting lists ({year})")

    def _confirm_offers(self, ids: list[str]) -> Any:
        """How many offers Offer next will make now, per route, and who stays waiting: the
        run's own loop without writing (`seats.offers_planned`)."""
        planned: list[str] = []
        offers = 0
        for year, route_ids in sorted(self._years_and_routes(_ints(ids)).items()):
            try:
                report = seats.offers_planned(year, on=years.today(), route_ids=route_ids)
            except (ServiceError, IntegrityError) as exc:
                planned.append(f"{year}: {_why(exc)}")
                continue
            offers += report.allocated
            planned.append(f"{year}, once confirmed: {report.overview()}")
        return confirm.ask(
            self, "offer_next", ids, title="Offer freed seats to the waiting lists",
            lines=[f"It will make {offers} offer(s) now, in Appendix F register order, "
                   "filling every free seat it can on the routes of the selection.", *planned],
            button=f"Offer next ({offers} offers)",
        )  # fmt: skip

    @action("lapse_year", "Lapse finished year", None)
    def action_lapse_year(self, ids: list[str]) -> Any:
        page = self._confirm("lapse_year", ids, "Lapse the finished year (Appendix F)", "Lapse")
        if page is not None:
            return page
        for year in sorted(self._years_and_routes(_ints(ids))):
            try:
                counts = seats.lapse(year, on=years.today())
            except (ServiceError, IntegrityError) as exc:
                flash(f"{_why(exc)} Nothing lapsed.", "error")
                continue
            flash(
                f"{year}: {counts['seats']} seats and {counts['applications']} applications "
                "lapsed at the end of the academic year (Appendix F).",
                "success",
            )
        return None


VIEW = (
    ConcessionaryApplicationView,
    ConcessionaryApplication,
    "Seat applications",
    "Concessionary seats",
)
