"""Routes and vehicles, with their spare seats (A9, Appendix F) and the seat actions.

The list shows spare morning and afternoon seats for the current academic year, worked out for
the whole page in one grouped query (never a query per row), and flags routes carrying more
passengers than seats in a current or later year (a pupil on a route assessed eligible is
carried whatever the spare seats, A1), with a filter for them. Assistants allocate spare seats
from here; only officers and supervisors withdraw seats for entitled children. Lowering a
route's seats below the passengers it carries is refused (Appendix F: concessionary seats
only ever use spare seats).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from typing import Any

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.model.fields import AjaxSelectMultipleField
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import String, cast, inspect, select
from sqlalchemy.exc import IntegrityError
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from models import AcademicYear, Route, RouteSchool, School, db
from services import seats, years
from services.errors import FieldError, ServiceError

from .base import ASSISTANTS, OFFICERS, AppModelView, KeyCheckedLoader, user_has

SCHOOL_LOOKUP = {
    "fields": (School.name, School.postcode, cast(School.urn, String)),
    "placeholder": "Type part of the school's name, postcode or URN",
    "page_size": 20,
    "minimum_input_length": 2,
}


# RouteSchool has a two-column primary key, which Flask-Admin's inline forms cannot handle, so
# the schools served are one ajax multi-select whose choices become RouteSchool rows.
SERVED_LOADER = KeyCheckedLoader("served_schools", db.session, School, **SCHOOL_LOOKUP)


def flash_report(report: seats.SeatReport, verb: str) -> None:
    """Say what an action did in one message: the totals, refusals by reason, the routes with
    outcomes and the notes (`SeatReport.overview`); a banner per route buried the totals."""
    flash(f"{verb}: {report.overview()}", "success")


class OverCapacityFilter(BaseSQLAFilter):
    """Routes carrying more passengers than seats in a session of a current or later year."""

    def __init__(self, column: Any, name: str) -> None:
        super().__init__(column, name, options=(("1", "Yes"), ("0", "No")))

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        on = years.today()
        in_force = years.years_in_force(db.session, on)
        clause = Route.id.in_(seats.over_capacity_ids(in_force, on)) if in_force else None
        if clause is None:
            return query.filter(Route.id.is_(None)) if value == "1" else query
        return query.filter(clause if value == "1" else ~clause)

    def operation(self) -> str:
        return "is"


class WithdrawForm(FlaskForm):
    """Appendix F: seats needed for entitled children, and what the family has been told."""

    academic_year = SelectField("Academic year", validators=[DataRequired()])
    am = IntegerField(
        "Morning seats needed",
        default=0,
        validators=[InputRequired("Give a number, 0 or more."), NumberRange(min=0, max=200)],
    )
    pm = IntegerField(
        "Afternoon seats needed",
        default=0,
        validators=[InputRequired("Give a number, 0 or more."), NumberRange(min=0, max=200)],
    )
    reason = TextAreaField(
        "Reason (shown in the withdrawal letter)",
        validators=[DataRequired("Say why the seats are needed."), Length(max=2000)],
    )
    family_told_of_appeal = BooleanField(
        "The families will be told of the withdrawal and their right to appeal (A10)",
        validators=[DataRequired("Confirm the families will be told of their right to appeal.")],
    )
    # A double submit sends the same token and the same seats seen: the second frees nothing
    # (issue 18; services/seats/withdrawal.py).
    request_token = HiddenField(default=lambda: secrets.token_urlsafe(24))
    seats_seen = HiddenField()


class RouteView(AppModelView):
    write_roles = ASSISTANTS
    action_roles = {"allocate_spare_seats": ASSISTANTS, "withdraw_seats": OFFICERS}

    column_list = (
        "code",
        "operator",
        "vehicle_type",
        "seats",
        "spare_am",
        "spare_pm",
        "over_capacity",
        "fare_paying_alternative",
        "additional_cost",
        "schools_served",
        "active",
    )
    column_labels = {
        "spare_am": "Spare AM",
        "spare_pm": "Spare PM",
        "over_capacity": "Over capacity",
        "fare_paying_alternative": "Fare-paying bus",
        "schools_served": "Schools served",
    }
    column_descriptions = {
        "spare_am": "Vehicle seats less entitled pupils carried and concessionary seats held, "
        "this academic year (A9, Appendix F)",
        "over_capacity": "More passengers than seats in a session of this or a later academic "
        "year: entitled pupils are carried whatever the spare seats (A1); withdraw concessionary "
        "seats with notice (Appendix F) or move pupils",
        "fare_paying_alternative": "A local fare-paying bus makes the journey: no concessionary "
        "seats (Appendix F)",
        "additional_cost": "A concessionary seat would cost the council extra: none offered "
        "(Appendix F)",
    }
    column_searchable_list = (Route.code, Route.operator)
    column_filters = (
        Route.operator,
        Route.fare_paying_alternative,
        Route.active,
        Route.seats,
        OverCapacityFilter(Route.id, "Over capacity"),
    )
    column_sortable_list = ("code", "operator", "seats")
    column_default_sort = "code"
    form_excluded_columns = ("created_at", "updated_at", "schools")
    form_extra_fields = {"served_schools": AjaxSelectMultipleField(SERVED_LOADER, "Schools served")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._form_ajax_refs["served_schools"] = SERVED_LOADER

    def on_form_prefill(self, form: Any, id: Any) -> None:
        route = db.session.get(Route, int(id))
        if route is not None:
            form.served_schools.data = [rs.school for rs in route.schools]

    def on_model_change(self, form: Any, model: Route, is_created: bool) -> None:
        """Refuse fewer seats than the passengers, or a session they ride switched off; make the
        RouteSchool rows match the form."""
        if not is_created:
            # Under the route lock, so no allocation slips in between the count and the save.
            try:
                seats.check_seats_fit(db.session, model, on=years.today())
            except ServiceError as error:
                # Against the fields the user changed: the seats, or a session switched off.
                changed = [
                    name
                    for name in ("seats", "runs_am", "runs_pm")
                    if inspect(model).attrs[name].history.has_changes()
                ]
                raise FieldError((changed or ["seats"])[0], str(error)) from None
        if "served_schools" in getattr(model, "__dict__", {}):
            del model.__dict__["served_schools"]  # populate_obj set a plain attribute
        wanted = {school.id: school for school in (form.served_schools.data or [])}
        current = {rs.school_id: rs for rs in model.schools}
        for school_id, rs in current.items():
            if school_id not in wanted:
                model.schools.remove(rs)
        for school_id, school in wanted.items():
            if school_id not in current:
                model.schools.append(RouteSchool(school=school))

    column_details_exclude_list = ("created_at", "updated_at")

    # --- the list: spare seats and schools for the page in two queries ----------------------

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        count, rows = super().get_list(*args, **kwargs)
        ids = [r.id for r in rows]
        year = years.current_year_label(db.session, years.today())
        g.route_year = year
        g.route_spare = seats.spare_seats(db.session, year, years.today(), ids) if year else {}
        overfull: dict[int, list[seats.Overfull]] = defaultdict(list)
        if ids:
            in_force = years.years_in_force(db.session, years.today())
            for found in seats.over_capacity(db.session, in_force, years.today(), ids):
                overfull[found.route_id].append(found)
        g.route_overfull = overfull
        served: dict[int, list[str]] = defaultdict(list)
        if ids:
            for route_id, name in db.session.execute(
                select(RouteSchool.route_id, School.name)
                .join(School, School.id == RouteSchool.school_id)
                .where(RouteSchool.route_id.in_(ids))
                .order_by(School.name)
            ):
                served[route_id].append(name)
        g.route_schools = served
        return count, rows

    def _spare(self, _context: Any, model: Route, name: str) -> Any:
        value = getattr(g, "route_spare", {}).get(model.id, {}).get(name[-2:])
        if value is None:
            return ""
        if value < 0:
            return Markup(f'<span class="text-danger" title="overfull">{value}</span>')
        return value

    def _schools(self, _context: Any, model: Route, _name: str) -> str:
        return "; ".join(getattr(g, "route_schools", {}).get(model.id, []))

    def _overfull_text(self, _context: Any, model: Route, _name: str) -> str:
        found = getattr(g, "route_overfull", {}).get(model.id, [])
        return "; ".join(
            f"{o.year} {o.session.upper()}: {o.passengers} in {o.seats}" for o in found
        )

    def _overfull(self, context: Any, model: Route, name: str) -> Any:
        said = self._overfull_text(context, model, name)
        if not said:
            return ""
        return Markup(
            '<span class="badge badge-danger bg-danger" title="passengers in seats">{}</span>'
        ).format(said)

    column_formatters = {
        "spare_am": _spare,
        "spare_pm": _spare,
        "over_capacity": _overfull,
        "schools_served": _schools,
    }
    column_formatters_export = {**column_formatters, "over_capacity": _overfull_text}

    def handle_view_exception(self, exc: Exception) -> bool:
        """The database's capacity guard (migrations 0003, 0009, 0010) in words."""
        if isinstance(exc, IntegrityError) and "vehicle capacity" in str(exc.orig).lower():
            db.session.rollback()
            flash(f"{_why(exc)} Nothing was saved.", "error")
            return True
        return super().handle_view_exception(exc)

    # --- actions ----------------------------------------------------------------------------

    @action(
        "allocate_spare_seats",
        "Allocate spare seats",
        "Allocate spare seats on the selected routes to their pending applications, by the "
        "Appendix F priority register?",
    )
    def action_allocate_spare_seats(self, ids: list[str]) -> None:
        route_ids = _ints(ids)
        route_years = seats.years_of_routes(db.session, route_ids)
        if not route_years:
            flash("No pending or waiting applications on those routes; nothing to do.", "info")
            return
        for year in route_years:
            try:
                report = seats.allocate(year, on=years.today(), route_ids=route_ids)
            except (ServiceError, IntegrityError) as exc:
                flash(f"{year}: {_why(exc)} Nothing was allocated.", "error")
                continue
            flash_report(report, f"Spare seats allocated ({year})")

    @action("withdraw_seats", "Withdraw seats for entitled children")
    def action_withdraw_seats(self, ids: list[str]) -> Any:
        route_ids = _ints(ids)
        if len(route_ids) != 1:
            flash("Choose one route to withdraw seats from.", "error")
            return None
        return redirect(url_for(".withdraw_view", route_id=route_ids[0]))

    @expose("/withdraw/<int:route_id>", methods=("GET", "POST"))
    def withdraw_view(self, route_id: int) -> Any:
        """Appendix F: withdraw concessionary seats at short notice for entitled children."""
        if not user_has(OFFICERS):
            abort(403)
        route = db.session.get(Route, route_id)
        if route is None:
            abort(404)
        form = WithdrawForm(request.form if request.method == "POST" else None)
        labels = list(
            db.session.scalars(select(AcademicYear.label).order_by(AcademicYear.starts.desc()))
        )
        form.academic_year.choices = [(label, label) for label in labels]
        if request.method == "GET":
            form.academic_year.data = years.current_year_label(db.session, years.today())
            form.seats_seen.data = seats.seats_state(db.session, route.id)
        if request.method == "POST" and form.validate():
            try:
                report = seats.withdraw(
                    route.id,
                    {"am": form.am.data, "pm": form.pm.data},
                    year=form.academic_year.data,
                    on=years.today(),
                    reason=form.reason.data.strip(),
                    family_told_of_appeal=bool(form.family_told_of_appeal.data),
                    decided_by_id=current_user.id,
                    request_token=form.request_token.data or None,
                    seats_seen=form.seats_seen.data or None,
                )
            except seats.AlreadyDone as done:
                db.session.rollback()
                flash(str(done), "info")
                return redirect(url_for(".index_view"))
            except (ServiceError, IntegrityError) as exc:
                db.session.rollback()
                # Sending the page again acts on the seats it shows now.
                form.seats_seen.data = seats.seats_state(db.session, route.id)
                flash(_refusal(exc), "error")
            else:
                flash_report(report, "Seats withdrawn (Appendix F)")
                return redirect(url_for(".index_view"))
        year = form.academic_year.data
        spare = seats.spare_seats(db.session, year, years.today(), [route.id]) if year else {}
        return self.render(
            "admin/seats/withdraw.html",
            form=form,
            route=route,
            spare=spare.get(route.id),
            notice_days=years.policy_for(year).concessionary_withdrawal_notice_days
            if year
            else None,
        )


def _refusal(exc: Exception) -> str:
    text = _why(exc)
    return text if "Nothing was withdrawn" in text else f"{text} Nothing was withdrawn."


def _why(exc: Exception) -> str:
    """A service refusal's own words; the database's capacity guard in plain terms."""
    if isinstance(exc, IntegrityError):
        return (
            "The database refused it: it would put more passengers on a route than the "
            "vehicle has seats (Appendix F: only spare seats are offered)."
        )
    return str(exc)


def _ints(ids: list[str]) -> list[int]:
    try:
        return [int(i) for i in ids]
    except ValueError:
        abort(400)


VIEW = (RouteView, Route, "Routes and vehicles", "Reference data")
