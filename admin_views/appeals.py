"""Appeals (Appendix C): a stage-one review by a senior officer, then an independent panel.

The deadlines are worked out, never typed: they come from rules.calendar's working-day
helpers (weekends and England's bank holidays skipped) when the appeal is recorded, and again
whenever the dates they depend on change.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import Form
from wtforms.validators import ValidationError

from models import Appeal, EligibilityDecision, TransportApplication, db
from models.enums import AppealOutcome, AppealStage, Outcome, Role
from rules.academic_year import academic_year_of
from rules.calendar import (
    appeal_deadlines,
    panel_outcome_by,
    stage_one_decision_by,
    stage_two_panel_window,
)
from rules.parameters import PolicyParameters
from services.policy import parameters_for_year

from .base import OFFICERS, AppModelView
from .enum_support import choices, enum_formatter
from .queue_filters import APPEAL_FILTER, AppealDueFilter


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


def _figures(day: date) -> PolicyParameters:
    """Appendix C's working-day figures in force on that day, as the supervisors set them."""
    with db.session.no_autoflush:  # the appeal being saved has no deadlines yet
        return parameters_for_year(academic_year_of(day).label)


class AppealView(AppModelView):
    write_roles = OFFICERS

    column_list = (
        "decision",
        "stage",
        "received_on",
        "request_deadline",
        "decision_due",
        "panel_not_before",
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
        "grounds",
        "reviewer",
        "outcome",
        "decided_on",
        "outcome_notes",
    )
    form_args = {
        "decision": {"label": "Decision appealed (type the TRA number)"},
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
        """Appendix C deadlines, from the working-day calendar (weekends, bank holidays)."""
        decision = model.decision
        if model.stage is AppealStage.REVIEW or model.stage == AppealStage.REVIEW.value:
            decided_at = decision.decided_at.date()
            model.request_deadline = appeal_deadlines(
                decided_at, _figures(decided_at)
            ).request_review_by
            model.decision_due = stage_one_decision_by(
                model.received_on, _figures(model.received_on)
            )
            model.panel_not_before = None
        else:
            with db.session.no_autoflush:  # the new row has no deadlines yet
                first = db.session.scalar(
                    select(Appeal).where(
                        Appeal.decision_id == decision.id, Appeal.stage == AppealStage.REVIEW
                    )
                )
            if first is None or first.decided_on is None:
                raise ValidationError(
                    "A stage-two appeal follows a decided stage-one review (Appendix C); record "
                    "the stage-one outcome first. Nothing was saved."
                )
            if first.outcome is not AppealOutcome.UPHELD:
                raise ValidationError(
                    "A stage-two appeal is for a stage-one review that upheld the refusal "
                    "(Appendix C). Nothing was saved."
                )
            model.request_deadline = appeal_deadlines(
                first.decided_on, _figures(first.decided_on)
            ).request_review_by
            earliest, latest = stage_two_panel_window(
                model.received_on, _figures(model.received_on)
            )
            model.panel_not_before = earliest
            model.decision_due = panel_outcome_by(latest, _figures(latest))
        super().on_model_change(form, model, is_created)


VIEW = (AppealView, Appeal, "Appeals", "Casework")
