"""Transport applications: keying in, officers' determinations, and the Assess eligibility run.

Assistants key in applications and run assessment; only officers and supervisors may record the
determinations that need judgement (DOMAIN.md "Who uses it": medical evidence, exceptional
circumstances, unsuitable routes, SEND exceptional need), and that is enforced here on the
server, not by hiding inputs. Assessment itself is `services.assessment`, the same code the
`flask assess run` command calls.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual, FilterLike
from flask_admin.form import rules
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import ColumnElement, func, inspect, select
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, SelectChoice, SelectField, ValidationError
from wtforms.validators import NumberRange, Optional

from models import (
    AcademicYear,
    Contribution,
    EligibilityDecision,
    HomeAccessPoint,
    Pupil,
    Route,
    RouteMeasurement,
    School,
    TransportApplication,
    db,
)
from models.enums import (
    ApplicationStatus,
    AuditAction,
    ContributionKind,
    DistanceMethod,
    MeasurementKind,
    MedicalWho,
    Outcome,
    PaymentPlan,
    Sessions,
)
from models.settings import PLAN_WORDS
from models.transport_application import DETERMINATION_FIELDS
from rules.figures import FIGURES
from services import applications, casework, queues, seats, years
from services.assessment import AssessmentError, assess_applications
from services.audit import record_access
from services.contributions import post16_states
from services.eligibility_facts import missing_facts
from services.errors import FieldError, ServiceError
from services.measurement import MeasurementError, measure_applications, record_hand_measurement

from . import confirm
from .assignment import AssignmentMixin, return_to
from .base import (
    ASSISTANTS,
    OFFICERS,
    AppModelView,
    current_year,
    status_tag,
    user_has,
    year_options,
)
from .dates import long_date
from .enum_support import _label, choices, enum_formatter
from .queue_filters import ASSIGNED_FILTER, B2_FILTER, AssignedFilter, B2Filter
from .route_map import route_svg
from .sign_off import SignOffMixin

# What puts a pupil on a route's vehicle, or onto more of its sessions (services.seats).
CARRIED_ON = ("route", "route_sessions", "academic_year", "status")
# The bases a decision may rest on (RULES.md), for the list filter.
BASES = ("A2", "A3", "A4", "A5", "A6", "A7", "A8", "A11", "A12", "A13", "A21", "A22")
QUEUE_LIMIT = 500
SECOND_FIELD = "confirm_second_application"
QUEUES = {
    "measure": (
        Outcome.MEASURE,
        "To measure",
        "A route distance would decide these applications but has not been measured (A3b). "
        "Measure the shortest available route and record it, then assess again.",
    ),
    "refer": (
        Outcome.REFER,
        "To refer to an officer",
        "An officer's determination would decide these applications and is still pending "
        "(medical grounds A13, exceptional circumstances A11, a child in care A21, ...). "
        "Record the determination, then assess again.",
    ),
}


# The year's full-time figure is on the policy parameters screen (rules/figures.toml).
_HOURS_LABEL = f"Taught hours a week ({FIGURES['full_time_min_hours'].clause}: full time)"


def _tri_state(value: Any) -> bool | None:
    """A determination is accepted, refused, or not made yet (pending: the rules refer it)."""
    return {"True": True, "False": False}.get(str(value))


_TRI_STATE_CHOICES = [
    SelectChoice(None, "Not decided yet"),  # type: ignore[arg-type]
    SelectChoice(True, "Accepted"),  # type: ignore[arg-type]
    SelectChoice(False, "Not accepted"),  # type: ignore[arg-type]
]


class _CurrentDecisionFilter(BaseSQLAFilter):
    """Filter applications on their current decision (one IN subquery, no join fan-out)."""

    def __init__(self, attribute: Any, name: str, options: Any) -> None:
        super().__init__(TransportApplication.id, name, options=options)
        self.attribute = attribute

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        current = select(EligibilityDecision.application_id).where(
            EligibilityDecision.superseded_at.is_(None), self.attribute == value
        )
        return query.filter(TransportApplication.id.in_(current))

    def operation(self) -> str:
        return "equals"


class _OfficersOnly(rules.FieldSet):
    """The determinations group: drawn for officers; assistants see why it is missing."""

    def __call__(self, form: Any, form_opts: Any = None, field_args: Any = None) -> Any:
        if not user_has(OFFICERS):
            return Markup(
                '<h3>Officer\'s determinations</h3><p class="text-muted">Only an eligibility '
                "officer can record determinations (medical grounds, exceptional circumstances, "
                "unsuitable routes, exceptional transport need).</p>"
            )
        return super().__call__(form, form_opts, field_args)


def _year_options() -> list[tuple[str, str]]:
    return year_options()


def _year_choices() -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in _year_options()]


def _decision_cell(_view: Any, _context: Any, model: TransportApplication, _name: str) -> Any:
    decision = model.current_decision
    if decision is None:
        return Markup('<span class="text-muted">not assessed</span>')
    text = status_tag(decision.outcome)
    if decision.basis:
        text += f" ({decision.basis})"
    if decision.ended_on:
        text += f", ended {long_date(decision.ended_on)}"
    award = model.standing_award
    if award is not None:  # A12a, A15: not ended until the re-check is settled
        basis = f" ({award.basis})" if award.basis else ""
        text += Markup('<br><span class="pending-recheck">award{} stands pending it</span>').format(
            basis
        )
    return text


def _post16_cell(_view: Any, _context: Any, model: TransportApplication, _name: str) -> Any:
    """A7, B1j, A15: the post-16 contribution, its instalments and whether travel can start."""
    contribution = db.session.scalar(
        select(Contribution).where(
            Contribution.kind == ContributionKind.POST16,
            Contribution.transport_application_id == model.id,
        )
    )
    if contribution is None:
        return "none"
    state = post16_states(db.session, [model.id]).get(model.id, "")
    instalments = "; ".join(str(i) for i in contribution.instalments)
    return (
        f"£{contribution.amount} from {contribution.start_date:%d %b %Y} "
        f"({PLAN_WORDS[contribution.plan]}): {state}. Instalments: {instalments}"
    )


def _target_cell(_view: Any, _context: Any, model: TransportApplication, _name: str) -> Any:
    if model.decision_target_on is None:
        return ""
    busy = " (busy period, July-September: the guideline may be dis-applied, B2a)"
    return f"{model.decision_target_on:%d %b %Y}" + (busy if model.decision_target_busy else "")


class TransportApplicationView(SignOffMixin, AssignmentMixin, AppModelView):
    write_roles = ASSISTANTS
    action_roles = {
        "assess_eligibility": ASSISTANTS,
        "measure_routes": ASSISTANTS,
        "take": OFFICERS,
    }

    list_template = "admin/transport_applications/list.html"
    details_template = "admin/transport_applications/details.html"

    column_list = (
        "reference",
        "pupil",
        "school",
        "academic_year",
        "received_on",
        "status",
        "current_decision",
    )
    column_labels = {
        "reference": "TRA number",
        "academic_year": "Academic year",
        "received_on": "Received",
        "current_decision": "Current decision",
        "distance_m": "Route distance (metres)",
        "distance_method": "How the distance was measured",
        "distance_measured_on": "Measured on",
        "route_unsuitable": "Walking route assessed unsuitable (A12, Appendix D)",
        "route_assessed_on": "Route assessed on",
        "religion_or_belief": "Nearest school preferred on religion or belief, with evidence (A6)",
        "exceptional_transport_need": "Exceptional transport need determined (EHCP, A4c)",
        "medical_who": "Medical grounds claimed for (A13)",
        "medical_accepted": "Medical grounds: officer's determination",
        "medical_until": "Temporary condition: transport until",
        "exceptional_circumstances": "Exceptional circumstances claimed (A11)",
        "exceptional_accepted": "Exceptional circumstances: officer's determination",
        "purchase_order": "Home council's purchase order (child in another council's care, A22)",
        "school_named_in_ehcp": "This school is named in the child's EHCP (A2a)",
        "full_time_hours": _HOURS_LABEL,
        "higher_education": "Higher education course",
        "apprenticeship": "Apprenticeship",
        "repeat_or_non_progression": "Repeating a year or not progressing (A16)",
        "programme_started_before_19": "Programme began before the 19th birthday (A8)",
        "post19_need_determined": "Council determined support needed at 19 or over (A8)",
        "determination_notes": "Officer's notes",
        "determined_by": "Determined by",
        "determined_at": "Determined at",
        "route": "Contracted route",
        "route_sessions": "Sessions on the route",
        "payment_plan": "How the post-16 contribution is paid (B1j)",
        "decision_target_on": "Decision target (B2a)",
        "post16_contribution": "Post-16 contribution (A7, A15: travel once paid)",
    }
    column_formatters = {
        "current_decision": _decision_cell,
        "post16_contribution": _post16_cell,
        "decision_target_on": _target_cell,
        "payment_plan": enum_formatter("payment_plan"),
        "status": enum_formatter("status"),
        "distance_method": enum_formatter("distance_method"),
        "medical_who": enum_formatter("medical_who"),
        "route_sessions": enum_formatter("route_sessions"),
    }
    # Enum columns as their stored codes (Flask-Admin's own enum select matches on the name).
    form_choices = {
        "distance_method": choices(DistanceMethod),
        "medical_who": choices(MedicalWho),
        "route_sessions": choices(Sessions),
        "payment_plan": choices(PaymentPlan),
    }
    column_sortable_list = ("reference", "academic_year", "received_on", "status")
    column_default_sort = ("received_on", True)
    # Tens of thousands of rows a year: counting every match on each page (a full scan for a
    # search) cost more than the page itself (bench/profiles/NOTES.md).
    simple_list_pager = True
    column_searchable_list = (
        TransportApplication.reference,
        Pupil.first_name,
        Pupil.last_name,
        Pupil.reference,
    )
    column_select_related_list = (
        TransportApplication.pupil,
        TransportApplication.school,
        TransportApplication.current_decision,
        TransportApplication.standing_award,
    )
    column_export_exclude_list = ("decisions",)
    details_loads = ("pupil", "school", "current_decision", "standing_award", "assignment")
    # What _decision_cell reads of the two decisions (not their facts, reasons or clauses).
    page_load_columns = {
        "current_decision": ("outcome", "basis", "ended_on"),
        "standing_award": ("basis",),
    }

    form_excluded_columns = (
        "decision_target_on",
        "decision_target_busy",
        "decisions",
        "current_decision",
        "status",
        "determined_by",
        "determined_at",
        "created_at",
        "updated_at",
    )
    form_ajax_refs = {
        "pupil": {
            "fields": (Pupil.last_name, Pupil.first_name, Pupil.reference, Pupil.postcode),
            "page_size": 20,
        },
        "school": {"fields": (School.name, School.postcode, School.town), "page_size": 20},
        "route": {"fields": (Route.code, Route.operator), "page_size": 20},
    }
    form_overrides = {
        "academic_year": SelectField,
        "medical_accepted": SelectField,
        "exceptional_accepted": SelectField,
    }
    form_args = {
        "academic_year": {"label": "Academic year", "choices": _year_choices},
        "received_on": {"label": "Date received"},
        "distance_m": {
            "label": "Route distance (metres)",
            "validators": [
                Optional(),
                NumberRange(min=0, message="A distance cannot be negative."),
            ],
        },
        "full_time_hours": {
            "label": _HOURS_LABEL,
            "validators": [
                Optional(),
                NumberRange(min=0, max=168, message="Hours must be between 0 and 168 a week."),
            ],
        },
        "medical_accepted": {"choices": _TRI_STATE_CHOICES, "coerce": _tri_state},
        "exceptional_accepted": {"choices": _TRI_STATE_CHOICES, "coerce": _tri_state},
    }
    _APPLICATION = ("reference", "pupil", "academic_year", "school", "received_on")
    _DISTANCE = ("distance_m", "distance_method", "distance_measured_on")
    _CLAIMS = (
        "religion_or_belief",
        "medical_who",
        "exceptional_circumstances",
        "purchase_order",
        "school_named_in_ehcp",
    )
    _POST16 = (
        "full_time_hours",
        "higher_education",
        "apprenticeship",
        "repeat_or_non_progression",
        "programme_started_before_19",
        "payment_plan",
    )
    _TRANSPORT = ("route", "route_sessions")
    column_details_list = (
        *_APPLICATION,
        "status",
        "decision_target_on",
        "post16_contribution",
        *_DISTANCE,
        *_CLAIMS,
        *_POST16,
        *DETERMINATION_FIELDS,
        "determined_by",
        "determined_at",
        *_TRANSPORT,
    )
    # Listed so the academic year (a plain foreign key, no relationship) is on the form too.
    form_columns = (
        *_APPLICATION,
        SECOND_FIELD,
        *_DISTANCE,
        *_CLAIMS,
        *_POST16,
        *DETERMINATION_FIELDS,
        *_TRANSPORT,
    )

    # Explicit filters: Flask-Admin's own enum filters look values up by member name and fail
    # on the stored codes ("received"), so enum columns get plain equality on the code.
    column_filters = (
        FilterEqual(TransportApplication.academic_year, "Academic year (e.g. 2024/25)"),
        FilterEqual(
            TransportApplication.status,
            "Status",
            options=[(s.value, s.value) for s in ApplicationStatus],
        ),
        FilterLike("school.name", "School name"),
        _CurrentDecisionFilter(
            EligibilityDecision.outcome,
            "Current decision: outcome",
            [(o.value, _label(o)) for o in Outcome],
        ),
        _CurrentDecisionFilter(
            EligibilityDecision.basis, "Current decision: basis", [(b, b) for b in BASES]
        ),
        B2Filter(B2_FILTER),
        AssignedFilter(ASSIGNED_FILTER),
    )

    # --- forms: grouped, and officers' determinations for officers only ----------------------

    form_rules = (
        rules.FieldSet((*_APPLICATION, SECOND_FIELD), "The application"),
        rules.FieldSet(_DISTANCE, "Distance from home to school (A3b)"),
        rules.FieldSet(_CLAIMS, "What the family has asked us to consider"),
        rules.FieldSet(_POST16, "Post-16 course (A7, A8, A16)"),
        _OfficersOnly(DETERMINATION_FIELDS, "Officer's determinations"),
        rules.FieldSet(_TRANSPORT, "Transport provided"),
    )

    form_extra_fields = {
        SECOND_FIELD: BooleanField(
            "Save a second application for this child and year",
            description="Only when the child already has an application for the year and this "
            "one is really another (for example a different school).",
        )
    }

    def validate_form(self, form: Any) -> bool:
        """A second live application for the same child and year is flagged before it is
        saved: the form comes back naming the first, and saves only once confirmed."""
        valid = super().validate_form(form)
        pupil = getattr(getattr(form, "pupil", None), "data", None)
        year = getattr(getattr(form, "academic_year", None), "data", None)
        confirm = getattr(form, SECOND_FIELD, None)
        if not valid or pupil is None or not year or confirm is None or confirm.data:
            return valid
        current = casework.as_int(request.args.get("id"))
        if current is not None:
            stored = db.session.get(TransportApplication, current)
            if stored is not None and (stored.pupil_id, stored.academic_year) == (
                pupil.id,
                year,
            ):
                return valid
        other = casework.second_application(db.session, pupil.id, year, current)
        if other is None:
            return valid
        form.pupil.errors = [
            *form.pupil.errors,
            f"{pupil.name} already has application {other.reference} for {year} (received "
            f"{other.received_on:%d %b %Y}, {other.status.value}). If this is really a second "
            "application, tick 'Save a second application for this child and year' and save "
            "again.",
        ]
        return False

    def _strip_determinations(self, form: Any) -> Any:
        """An assistant's form has no determination fields, so none can be posted in."""
        if not user_has(OFFICERS):
            for name in DETERMINATION_FIELDS:
                if hasattr(form, name):
                    delattr(form, name)
        return form

    def create_form(self, obj: Any = None) -> Any:
        return self._strip_determinations(super().create_form(obj))

    def edit_form(self, obj: Any = None) -> Any:
        return self._strip_determinations(super().edit_form(obj))

    def on_model_change(self, form: Any, model: TransportApplication, is_created: bool) -> None:
        # Read the determinations' history before any query: a query autoflushes, and a flush
        # clears the history this check depends on.
        state = inspect(model)
        changed = [
            name
            for name in DETERMINATION_FIELDS
            if state.attrs[name].history.has_changes()
            and (not is_created or getattr(model, name) not in (None, False))
        ]
        if changed and not user_has(OFFICERS):
            # Server-side guard: an assistant's form has no such fields; anything else is
            # refused rather than silently applied.
            raise FieldError(changed[0], "Only an officer can record determinations.")
        carried = [state.attrs[name].history.has_changes() for name in CARRIED_ON]
        with db.session.no_autoflush:
            year = db.session.scalar(
                select(AcademicYear).where(AcademicYear.label == model.academic_year)
            )
        if year is None:
            raise FieldError(
                "academic_year",
                f"There is no academic year {model.academic_year!r}; write it like 2024/25.",
            )
        if model.received_on:
            try:
                applications.check_received_on(
                    model.received_on,
                    year=year.label,
                    starts=year.starts,
                    ends=year.ends,
                    today=years.today(),
                )
            except ServiceError as error:
                raise FieldError(getattr(error, "field", "received_on"), str(error)) from None
        if model.medical_who is None and (
            model.medical_accepted is not None or model.medical_until is not None
        ):
            raise FieldError(
                "medical_who",
                "Say whose medical condition it is (A13) before recording a determination on it.",
            )
        if any(carried):
            # An entitled pupil put on a route takes a seat: under the route lock, refused in
            # words if the vehicle is full (concurrent allocations wait, or are counted).
            try:
                seats.check_entitled_pupil_fits(db.session, model, on=years.today())
            except ServiceError as error:
                raise FieldError("route", str(error)) from None
        if changed:
            model.determined_by_id = current_user.id
            model.determined_at = datetime.now(UTC)
        try:
            years.apply_decision_target(db.session, model)  # B2a
        except ServiceError as error:
            raise ValidationError(str(error)) from None

    # --- assessment: bulk action, one application, a whole year ---------------------------

    def _run(self, **kwargs: Any) -> bool:
        try:
            summary = assess_applications(user_id=current_user.id, **kwargs)
        except AssessmentError as error:
            flash(str(error), "error")
            return False
        flash(f"Eligibility assessed: {summary.as_text()}", "success")
        return True

    @action("assess_eligibility", "Assess eligibility", None)
    def action_assess_eligibility(self, ids: list[str]) -> Any:
        try:
            wanted = [int(i) for i in ids]
        except ValueError:
            flash("Those applications could not be found; nothing was assessed.", "error")
            return None
        page = confirm.ask(
            self,
            "assess_eligibility",
            ids,
            title="Assess eligibility: what it will decide",
            lines=confirm.assessment_preview(wanted, current_user.id),
            button=f"Assess {len(wanted)} applications",
        )
        if page is not None:
            return page
        self._run(ids=wanted)
        return None

    @expose("/assess/<int:application_id>", methods=["POST"])
    def assess_one(self, application_id: int) -> Any:
        if not user_has(ASSISTANTS):
            abort(403)
        if db.session.get(TransportApplication, application_id) is None:
            abort(404)
        self._run(ids=[application_id])
        return redirect(return_to(url_for(".details_view", id=application_id)))

    @expose("/assess-year/", methods=["POST"])
    def assess_year(self) -> Any:
        """Every application of a year in one set-based run (the whole county at once)."""
        if not user_has(ASSISTANTS):
            abort(403)
        label = (request.form.get("academic_year") or "").strip()
        if db.session.scalar(select(AcademicYear.id).where(AcademicYear.label == label)) is None:
            flash(f"There is no academic year {label!r}; nothing was assessed.", "error")
        else:
            self._run(where=TransportApplication.academic_year == label)
        return redirect(url_for(".index_view"))

    # --- route measurement (A4b, issue 17) ---------------------------------------------------

    def _measure(self, ids: list[int], via: str) -> None:
        """Measure over the network in use, then assess again those whose distance changed,
        so they leave the "To measure" queue by themselves."""
        try:
            summary = measure_applications(ids=ids, via=via, user_id=current_user.id)
        except MeasurementError as error:
            flash(f"Nothing was measured: {error}.", "error")
            return
        flash(f"Routes measured: {summary.as_text()}.", "success")
        for app_id, why in list(summary.problems.items())[:5]:
            flash(f"Application {app_id} not measured: {why}.", "warning")
        if summary.changed_applications:
            self._run(ids=summary.changed_applications)

    @action("measure_routes", "Measure", None)
    def action_measure_routes(self, ids: list[str]) -> Any:
        try:
            wanted = [int(i) for i in ids]
        except ValueError:
            flash("Those applications could not be found; nothing was measured.", "error")
            return None
        have = db.session.scalar(
            select(func.count())
            .select_from(TransportApplication)
            .where(
                TransportApplication.id.in_(wanted),
                TransportApplication.distance_m.is_not(None),
            )
        )
        page = confirm.ask(
            self,
            "measure_routes",
            ids,
            title="Measure over the road network (A4b)",
            lines=[
                f"{len(wanted)} applications measured from home to school over the road network.",
                f"{have or 0} of them already have a distance: it is replaced only if it changes.",
                "Those whose distance changes are assessed again.",
            ],
            button=f"Measure {len(wanted)} applications",
        )
        if page is not None:
            return page
        self._measure(wanted, "Measure action")
        return None

    @expose("/measure/<int:application_id>", methods=["POST"])
    def measure_one(self, application_id: int) -> Any:
        if not user_has(ASSISTANTS):
            abort(403)
        if db.session.get(TransportApplication, application_id) is None:
            abort(404)
        self._measure([application_id], "application page")
        return redirect(url_for(".details_view", id=application_id))

    @expose("/queue/measure/run", methods=["POST"])
    def measure_queue(self) -> Any:
        """The whole "To measure" queue (of a year, when one is chosen) in one run."""
        if not user_has(ASSISTANTS):
            abort(403)
        ta = TransportApplication
        criterion = [queues.outcome_queue(Outcome.MEASURE)]
        year = (request.form.get("year") or "").strip()
        if year:
            criterion.append(ta.academic_year == year)
        ids = list(db.session.scalars(select(ta.id).where(*criterion)))
        if ids:
            self._measure(ids, "Measure action (To measure queue)")
        else:
            flash("Nothing is waiting to be measured.", "info")
        return redirect(url_for(".queue", queue_name="measure", year=year or None))

    @expose("/hand-measurement/<int:application_id>", methods=["POST"])
    def hand_measurement(self, application_id: int) -> Any:
        """An officer's own measurement, with the reason, kept beside the computed one."""
        if not user_has(OFFICERS):
            abort(403)
        application = db.session.get(TransportApplication, application_id)
        if application is None:
            abort(404)
        try:
            distance = int((request.form.get("distance_m") or "").strip())
        except ValueError:
            flash("Distance (metres): give a whole number of metres; nothing was saved.", "error")
            return redirect(url_for(".details_view", id=application_id))
        try:
            method = DistanceMethod(request.form.get("method", ""))
            record_hand_measurement(
                db.session,
                application,
                distance_m=distance,
                method=method,
                reason=request.form.get("reason", ""),
                user_id=current_user.id,
            )
            db.session.commit()
        except ValueError as error:
            db.session.rollback()
            flash(f"{error} Nothing was saved.", "error")
            return redirect(url_for(".details_view", id=application_id))
        flash("Hand measurement recorded; assess again to use it.", "success")
        return redirect(url_for(".details_view", id=application_id))

    @expose("/access-point/<int:application_id>", methods=["POST"])
    def access_point(self, application_id: int) -> Any:
        """An officer's override of where the home meets the highway (A4b, Appendix D)."""
        if not user_has(OFFICERS):
            abort(403)
        application = db.session.get(TransportApplication, application_id)
        if application is None:
            abort(404)
        back = redirect(url_for(".details_view", id=application_id))
        reason = (request.form.get("reason") or "").strip()
        try:
            east = int((request.form.get("easting") or "").strip())
            north = int((request.form.get("northing") or "").strip())
        except ValueError:
            flash(
                "Easting and northing: whole metres on the National Grid; nothing saved.", "error"
            )
            return back
        if not (0 <= east <= 700_000 and 0 <= north <= 1_300_000):
            flash("That point is not on the British National Grid; nothing was saved.", "error")
            return back
        if not reason:
            flash("Reason: say why the access point is moved; nothing was saved.", "error")
            return back
        row = db.session.scalar(
            select(HomeAccessPoint).where(HomeAccessPoint.pupil_id == application.pupil_id)
        ) or HomeAccessPoint(pupil_id=application.pupil_id)
        row.easting, row.northing, row.reason = east, north, reason
        row.set_by_id, row.set_at = current_user.id, datetime.now(UTC)
        db.session.add(row)
        db.session.commit()
        flash("Access point recorded; measure again to use it.", "success")
        return back

    def route_panel(self, model: TransportApplication) -> dict[str, Any]:
        """The current measurements (chosen school first), the route map with its text
        alternative, and the override, for the application page."""
        rows = list(
            db.session.scalars(
                select(RouteMeasurement)
                .where(
                    RouteMeasurement.application_id == model.id,
                    RouteMeasurement.superseded_at.is_(None),
                )
                .options(
                    joinedload(RouteMeasurement.school),
                    joinedload(RouteMeasurement.gate),
                    joinedload(RouteMeasurement.network),
                    joinedload(RouteMeasurement.measured_by),
                )
                .order_by(RouteMeasurement.distance_m)
            )
        )
        chosen = model.school.main_site_id or model.school_id
        rows.sort(key=lambda m: (m.school_id != chosen, m.kind != MeasurementKind.HAND))
        shown = next((m for m in rows if m.school_id == chosen and m.geometry), None)
        svg = description = None
        if shown is not None:
            pupil = model.pupil
            home = (
                (pupil.easting, pupil.northing)
                if pupil.easting is not None and pupil.northing is not None
                else None
            )
            gate = shown.gate.name if shown.gate else "the school's location"
            description = (
                f"The {shown.method.value.replace('_', ' ')} of {shown.distance_m} metres from "
                f"the home's access point at {shown.access_easting}, {shown.access_northing} "
                f"({shown.snap_distance_m} metres from the home) to {gate} of "
                f"{shown.school.name} at {shown.gate_easting}, {shown.gate_northing}, over "
                f"road network {shown.network}."
            )
            svg = route_svg(
                shown.points(),
                home=home,
                title=f"Route to {shown.school.name}",
                description=description,
            )
        override = db.session.scalar(
            select(HomeAccessPoint).where(HomeAccessPoint.pupil_id == model.pupil_id)
        )
        return {
            "rows": rows,
            "chosen": chosen,
            "svg": svg,
            "description": description,
            "override": override,
            "methods": choices(DistanceMethod),
            "is_officer": user_has(OFFICERS),
        }

    def missing_notes(self, model: TransportApplication) -> list[str]:
        """What the application's unknown facts wait for (`missing_facts`), for its page."""
        return missing_facts(db.session, [model.id]).get(model.id, [])

    def render(self, template: str, **kwargs: Any) -> Any:
        kwargs.setdefault("can_sign_off", user_has(OFFICERS))  # admin_views/sign_off.py
        if template == self.list_template:
            kwargs.setdefault("year_options", _year_options())
            kwargs.setdefault("current_year", current_year())
        return super().render(template, **kwargs)

    # --- queues: what an officer must do next ------------------------------------------------

    @expose("/queue/<queue_name>")
    def queue(self, queue_name: str) -> Any:
        if queue_name not in QUEUES:
            abort(404)
        outcome, title, explanation = QUEUES[queue_name]
        ta = TransportApplication
        criterion: tuple[ColumnElement[bool], ...] = (queues.outcome_queue(outcome),)
        year = request.args.get("year") or None
        if year:
            criterion = (*criterion, ta.academic_year == year)
        mine = request.args.get("mine") == "1"
        if mine:
            criterion = (*criterion, queues.assigned_to(current_user.id))
        total = db.session.scalar(select(func.count()).select_from(ta).where(*criterion)) or 0
        rows = db.session.scalars(
            select(ta)
            .where(*criterion)
            .options(
                joinedload(ta.pupil),
                joinedload(ta.school),
                joinedload(ta.current_decision),
                joinedload(ta.standing_award),
            )
            .order_by(ta.received_on, ta.id)
            .limit(QUEUE_LIMIT)
        ).all()
        # A queue lists pupils by name: a read of personal data, one trail row (issue 16).
        record_access(
            AuditAction.READ,
            ta.__tablename__,
            what=f"{self.endpoint} queue {queue_name}",
            record_ids=[row.id for row in rows],
            rows=len(rows),
            filters={"queue": queue_name, "year": year, "matching": total},
        )
        return self.render(
            "admin/transport_applications/queue.html",
            queue_name=queue_name,
            title=title,
            explanation=explanation,
            rows=rows,
            total=total,
            limit=QUEUE_LIMIT,
            year=year,
            year_options=_year_options(),
            today=years.today(),
            mine=mine,
            # Why each case waits to be measured, from the gathered facts (A1c, A3b).
            missing=missing_facts(db.session, [r.id for r in rows])
            if outcome is Outcome.MEASURE
            else {},
        )


VIEW = (TransportApplicationView, TransportApplication, "Transport applications", "Casework")
