"""Appeals (Appendix C): a stage-one review by a senior officer, then an independent panel.

The checks and the deadlines are services/appeals.py's: the deadlines are worked out, never
typed, from rules.calendar's working-day helpers (weekends and England's bank holidays skipped)
when the appeal is recorded, and again whenever the dates they depend on change.
"""

from __future__ import annotations

from typing import Any

from flask import has_app_context
from sqlalchemy.orm import joinedload
from wtforms import Form
from wtforms.validators import ValidationError

from models import Appeal, EligibilityDecision, TransportApplication, db
from models.enums import AppealOutcome, AppealStage
from rules.academic_year import academic_year_of
from rules.parameters import parameters_for
from services import appeals, years
from services.errors import ServiceError

from .base import OFFICERS, AppModelView, KeyCheckedLoader, refuse_on_field
from .enum_support import choices, enum_formatter
from .queue_filters import APPEAL_FILTER, AppealDueFilter


class DecisionLoader(KeyCheckedLoader):
    """Find the decision appealed against by the application's TRA reference (Appendix C)."""

    def get_query(self) -> Any:
        return (
            db.session.query(EligibilityDecision)
            .join(EligibilityDecision.application)
            .options(joinedload(EligibilityDecision.application))
        )

    def format(self, model: Any) -> tuple[Any, str] | None:
        if model is None:
            return None
        when = f"{model.decided_at:%d %b %Y}" if model.decided_at else "undated"
        return model.id, f"{model.application.reference}: {model} on {when}"


def _describe_decision(_v: Any, _c: Any, model: Appeal, _n: str) -> str:
    decision = model.decision
    if decision is None:
        return ""
    return f"{decision.application.reference}: {decision}"


def _facts(form: Form) -> appeals.AppealFacts:
    """The form's answers as the service reads them."""
    stage, outcome = form.stage.data, form.outcome.data
    return appeals.AppealFacts(
        decision=form.decision.data,
        stage=AppealStage(stage) if stage else None,
        received_on=form.received_on.data,
        reviewer=form.reviewer.data,
        outcome=AppealOutcome(outcome) if outcome else None,
        decided_on=form.decided_on.data,
        panel_on=form.panel_on.data if hasattr(form, "panel_on") else None,
    )


class AppealView(AppModelView):
    write_roles = OFFICERS

    column_list = (
        "decision",
        "stage",
        "received_on",
        "request_deadline",
        "decision_due",
        "panel_not_before",
        "panel_on",
        "panel_outcome_due",
        "outcome",
        "decided_on",
        "reviewer",
    )
    column_default_sort = ("received_on", True)
    column_searchable_list = ("grounds",)
    column_filters = (
        "stage",
        "outcome",
        "received_on",
        "decision_due",
        "decided_on",
        AppealDueFilter(APPEAL_FILTER),
    )
    column_sortable_list = (
        "stage",
        "received_on",
        "request_deadline",
        "decision_due",
        "outcome",
        "decided_on",
    )
    column_labels = {
        "decision": "Decision appealed (TRA number)",
        "stage": "Stage",
        "received_on": "Received on",
        "request_deadline": "Last day to ask",
        "decision_due": "Decision due by",
        "panel_not_before": "Panel not before",
        "panel_on": "Panel date",
        "panel_outcome_due": "Panel outcome due by",
        "grounds": "Grounds",
        "outcome": "Outcome",
        "decided_on": "Decided on",
        "reviewer": "Reviewing officer",
        "outcome_notes": "Outcome notes",
    }

    @property
    def column_descriptions(self) -> dict[str, str]:
        """Help on each deadline quoting the figures in force today (rules/figures.toml, or the
        supervisors' figures for the year), never a fixed number of days."""
        today = years.today()
        if has_app_context():
            params = appeals.figures_on(today)
        else:  # building the view at start-up, before any request
            params = parameters_for(academic_year_of(today).label)
        return appeals.deadline_descriptions(params)

    column_formatters = {
        "decision": _describe_decision,
        "stage": enum_formatter("stage"),
        "outcome": enum_formatter("outcome"),
    }
    column_export_list = (
        "decision",
        "stage",
        "received_on",
        "request_deadline",
        "decision_due",
        "panel_not_before",
        "panel_on",
        "panel_outcome_due",
        "outcome",
        "decided_on",
        "reviewer",
        "grounds",
    )
    column_formatters_export = {"decision": _describe_decision}
    form_columns = (
        "decision",
        "stage",
        "received_on",
        "panel_on",
        "grounds",
        "reviewer",
        "outcome",
        "decided_on",
        "outcome_notes",
    )
    form_args = {
        "decision": {"label": "Decision appealed (type the TRA number)"},
        "panel_on": {
            "label": "Panel date",
            "description": "Stage two only: the day the independent panel meets (Appendix C); "
            "its decision is then due in writing within the Appendix C period.",
        },
        "reviewer": {
            "label": "Reviewing officer",
            "description": "Stage one: a senior officer who did not deal with the application.",
        },
    }
    form_choices = {"stage": choices(AppealStage), "outcome": choices(AppealOutcome)}
    form_ajax_refs = {
        "decision": DecisionLoader(
            "decision",
            db,
            EligibilityDecision,
            fields=(TransportApplication.reference,),
            placeholder="Type the TRA number from the decision letter",
            page_size=20,
            minimum_input_length=3,
        )
    }

    def get_query(self) -> Any:
        # The list shows the application's reference and the reviewer: load them in the one
        # query (no query per row).
        return (
            super()
            .get_query()
            .options(
                joinedload(Appeal.decision).joinedload(EligibilityDecision.application),
                joinedload(Appeal.reviewer),
            )
        )

    def validate_form(self, form: Form) -> bool:
        """Appendix C's checks are the service's (services/appeals.py); here each refusal
        only becomes an error on the field it names."""
        valid = super().validate_form(form)
        if not valid or not hasattr(form, "decision"):
            return bool(valid)
        problems = appeals.appeal_problems(_facts(form))
        for problem in problems:
            refuse_on_field(form, problem)
        return not problems

    def on_model_change(self, form: Any, model: Appeal, is_created: bool) -> None:
        """Appendix C deadlines, worked out by the service from the working-day calendar."""
        stage = AppealStage(model.stage)
        try:
            due = appeals.deadlines(
                model.decision, stage, model.received_on, panel_on=model.panel_on
            )
        except ServiceError as error:
            raise ValidationError(str(error)) from None
        model.request_deadline = due.request_deadline
        model.decision_due = due.decision_due
        model.panel_not_before = due.panel_not_before
        model.panel_outcome_due = due.panel_outcome_due
        super().on_model_change(form, model, is_created)

    def after_model_change(self, form: Any, model: Appeal, is_created: bool) -> None:
        """Committed: the letter the appeal now calls for is queued at once (the service's)."""
        super().after_model_change(form, model, is_created)
        appeals.queue_appeal_letters(model)


VIEW = (AppealView, Appeal, "Appeals", "Casework")
