"""Appeals (Appendix C): a stage-one review by a senior officer, then an independent panel.

The deadlines are worked out, never typed: they come from rules.calendar's working-day
helpers (weekends and England's bank holidays skipped) when the appeal is recorded, and again
whenever the dates they depend on change.
"""

from __future__ import annotations

from typing import Any

from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from sqlalchemy.orm import joinedload
from wtforms import Form
from wtforms.validators import ValidationError

from models import Appeal, EligibilityDecision, TransportApplication, db
from models.enums import AppealOutcome, AppealStage, Outcome, Role
from services.appeals import AppealError, set_deadlines

from .base import OFFICERS, AppModelView
from .enum_support import choices, enum_formatter


class DecisionLoader(QueryAjaxModelLoader):
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


def _reviewer_roles(user: Any) -> set[Role]:
    return set(getattr(user, "roles", set()))


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
    column_filters = ("stage", "outcome", "received_on", "decision_due", "decided_on")
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
    column_descriptions = {
        "request_deadline": "Appendix C: 20 working days from the decision appealed against.",
        "decision_due": "Stage one: 20 working days from receipt. Stage two: the panel meets "
        "within 20-40 working days and writes within 5 more (Appendix C).",
        "panel_not_before": "Stage two: the earliest date the panel is convened (20 working days).",
        "panel_on": "Stage two: the day the independent panel meets.",
        "panel_outcome_due": "Appendix C: the panel's decision in writing within 5 working days "
        "of the meeting.",
        "reviewer": "Stage one: a senior officer who did not make the original decision.",
    }
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
            "description": "Stage two only: the day the independent panel meets (Appendix C).",
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
        valid = super().validate_form(form)
        if not valid or not hasattr(form, "decision"):
            return valid
        decision = form.decision.data
        stage = form.stage.data
        stage = AppealStage(stage) if stage else None
        reviewer = form.reviewer.data
        if decision is not None and decision.outcome != Outcome.NOT_ELIGIBLE:
            form.decision.errors.append(
                "Only a refusal of transport can be appealed (Appendix C); this decision is "
                f"'{decision.outcome.value.replace('_', ' ')}'."
            )
            valid = False
        if reviewer is not None and stage is AppealStage.REVIEW:
            if decision is not None and decision.decided_by_id == reviewer.id:
                form.reviewer.errors.append(
                    "Appendix C: the stage-one review is by a senior officer who did not deal "
                    "with the original application; choose someone other than the decision maker."
                )
                valid = False
            elif not _reviewer_roles(reviewer) & {Role.OFFICER, Role.SUPERVISOR}:
                form.reviewer.errors.append(
                    "Appendix C: a stage-one review is made by a senior officer (an officer or "
                    "supervisor account)."
                )
                valid = False
        received, decided = form.received_on.data, form.decided_on.data
        if received and decided and decided < received:
            form.decided_on.errors.append("An appeal cannot be decided before it was received.")
            valid = False
        outcome = form.outcome.data
        if decided and outcome in (None, "", AppealOutcome.PENDING, AppealOutcome.PENDING.value):
            form.outcome.errors.append("Give the outcome when you record the date it was decided.")
            valid = False
        return valid

    def on_model_change(self, form: Any, model: Appeal, is_created: bool) -> None:
        """Appendix C deadlines, in England's dates (`services.appeals.set_deadlines`)."""
        try:
            set_deadlines(db.session, model)
        except AppealError as error:
            raise ValidationError(str(error)) from None
        super().on_model_change(form, model, is_created)


VIEW = (AppealView, Appeal, "Appeals", "Casework")
