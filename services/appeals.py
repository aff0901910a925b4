"""Appeals (Appendix C): the checks on an appeal and its deadlines, for every entry point.

The appeals screen only turns these refusals into errors on the fields they name; anything else
that records an appeal (a command, an import) calls the same functions and is refused in the
same words. The deadlines are worked out, never typed: rules.calendar's working-day helpers with
the Appendix C figures in force (services/policy.py), so a supervisor's change to a year's
figures reaches every deadline worked out from then on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Appeal, EligibilityDecision, db
from models.enums import AppealOutcome, AppealStage, Outcome, Role
from rules.academic_year import academic_year_of
from rules.calendar import (
    appeal_deadlines,
    panel_outcome_by,
    stage_one_decision_by,
    stage_two_panel_window,
)
from rules.figures import quote
from rules.parameters import PolicyParameters
from services.errors import FieldError
from services.letters.follow_up import Changed, queue_letters
from services.policy import parameters_for_year
from services.years import local_date


@dataclass(frozen=True)
class AppealFacts:
    """What an appeal says, as typed or read: the screen's form, a command's arguments."""

    decision: EligibilityDecision | None
    stage: AppealStage | None
    received_on: date | None
    reviewer: Any | None  # a User (its id and roles)
    outcome: AppealOutcome | None
    decided_on: date | None
    panel_on: date | None = None  # stage two: the day the independent panel meets


@dataclass(frozen=True)
class Deadlines:
    request_deadline: date
    decision_due: date
    panel_not_before: date | None
    # Appendix C: "Following the panel meeting, a decision will be notified to you in writing
    # within 5 working days": known once the panel date is recorded.
    panel_outcome_due: date | None = None


def figures_on(day: date, session: Session | None = None) -> PolicyParameters:
    """Appendix C's working-day figures in force on that day, as the supervisors set them."""
    s = session or db.session
    with s.no_autoflush:  # an appeal being saved has no deadlines yet
        return parameters_for_year(academic_year_of(day).label, s)


def deadline_descriptions(p: PolicyParameters) -> dict[str, str]:
    """The appeals screen's help on each deadline, quoting the year's own figures (so a
    supervisor's change to them changes the text too)."""
    ask = quote("review_request_working_days", p.review_request_working_days)
    stage_one = quote("stage_one_decision_working_days", p.stage_one_decision_working_days)
    soonest = quote("stage_two_panel_min_working_days", p.stage_two_panel_min_working_days)
    latest = quote("stage_two_panel_max_working_days", p.stage_two_panel_max_working_days)
    writes = quote("panel_outcome_working_days", p.panel_outcome_working_days)
    return {
        "request_deadline": f"Appendix C: {ask} from the decision appealed against.",
        "decision_due": f"Stage one: {stage_one} from receipt. Stage two: the panel meets no "
        f"sooner than {soonest} and within {latest}, and writes within {writes} more "
        "(Appendix C).",
        "panel_not_before": f"Stage two: the earliest date the panel is convened ({soonest}).",
        "reviewer": "Stage one: a senior officer who did not make the original decision.",
    }


def _decided_on(decision: EligibilityDecision) -> date | None:
    """The decision's date in England (stored in UTC: in summer time a decision made at 00:30
    is that day's, not the day before's), which every Appendix C deadline counts from."""
    return local_date(decision.decided_at) if decision.decided_at is not None else None


def _stage_one(session: Session, decision_id: int) -> Appeal | None:
    with session.no_autoflush:  # the new row has no deadlines yet
        return session.scalar(
            select(Appeal).where(
                Appeal.decision_id == decision_id, Appeal.stage == AppealStage.REVIEW
            )
        )


def appeal_problems(facts: AppealFacts, session: Session | None = None) -> list[FieldError]:
    """Every reason Appendix C refuses this appeal, each naming its field (none: it stands)."""
    s = session or db.session
    problems: list[FieldError] = []
    decision, stage, reviewer = facts.decision, facts.stage, facts.reviewer
    if decision is not None and decision.outcome != Outcome.NOT_ELIGIBLE:
        problems.append(
            FieldError(
                "decision",
                "Only a refusal of transport can be appealed (Appendix C); this decision is "
                f"'{decision.outcome.value.replace('_', ' ')}'.",
            )
        )
    decided_at = _decided_on(decision) if decision is not None else None
    if facts.received_on is not None and decided_at is not None and facts.received_on < decided_at:
        problems.append(
            FieldError(
                "received_on",
                f"An appeal received on {facts.received_on:%d/%m/%Y} is before the decision it "
                f"appeals against ({decided_at:%d/%m/%Y}); check the date (Appendix C).",
            )
        )
    if reviewer is not None and stage is AppealStage.REVIEW:
        if decision is not None and decision.decided_by_id == reviewer.id:
            problems.append(
                FieldError(
                    "reviewer",
                    "Appendix C: the stage-one review is by a senior officer who did not deal "
                    "with the original application; choose someone other than the decision "
                    "maker.",
                )
            )
        elif not set(getattr(reviewer, "roles", set())) & {Role.OFFICER, Role.SUPERVISOR}:
            problems.append(
                FieldError(
                    "reviewer",
                    "Appendix C: a stage-one review is made by a senior officer (an officer or "
                    "supervisor account).",
                )
            )
    if facts.received_on and facts.decided_on and facts.decided_on < facts.received_on:
        problems.append(
            FieldError("decided_on", "An appeal cannot be decided before it was received.")
        )
    if facts.decided_on and facts.outcome in (None, AppealOutcome.PENDING):
        problems.append(
            FieldError("outcome", "Give the outcome when you record the date it was decided.")
        )
    if facts.panel_on is not None and stage is AppealStage.REVIEW:
        problems.append(
            FieldError("panel_on", "Only a stage-two appeal has a panel date (Appendix C).")
        )
    if facts.panel_on and facts.received_on and facts.panel_on < facts.received_on:
        problems.append(
            FieldError("panel_on", "The panel cannot meet before the appeal was received.")
        )
    if stage is AppealStage.PANEL and decision is not None and decision.id is not None:
        first = _stage_one(s, decision.id)
        if first is None or first.decided_on is None:
            problems.append(
                FieldError(
                    "stage",
                    "A stage-two appeal follows a decided stage-one review (Appendix C); record "
                    "the stage-one outcome first. Nothing was saved.",
                )
            )
        elif first.outcome is not AppealOutcome.UPHELD:
            problems.append(
                FieldError(
                    "stage",
                    "A stage-two appeal is for a stage-one review that upheld the refusal "
                    "(Appendix C). Nothing was saved.",
                )
            )
    return problems


def check_appeal(facts: AppealFacts, session: Session | None = None) -> None:
    """Refuse the appeal with its first problem (`appeal_problems` lists them all)."""
    problems = appeal_problems(facts, session)
    if problems:
        raise problems[0]


def deadlines(
    decision: EligibilityDecision,
    stage: AppealStage,
    received_on: date,
    session: Session | None = None,
    panel_on: date | None = None,
) -> Deadlines:
    """Appendix C deadlines, from the working-day calendar (weekends, bank holidays skipped).

    Stage one: the request is due 20 working days (the year's figure) from the decision (its
    date in England) and decided within 20 of receipt. Stage two: the request is due the same
    period from the stage-one decision; the panel meets within its window and writes within 5
    more days of its meeting (`panel_on`, once recorded).
    """
    s = session or db.session
    if stage is AppealStage.REVIEW:
        decided_at = _decided_on(decision)
        assert decided_at is not None, "a decision appealed against has its date"
        return Deadlines(
            request_deadline=appeal_deadlines(
                decided_at, figures_on(decided_at, s)
            ).request_review_by,
            decision_due=stage_one_decision_by(received_on, figures_on(received_on, s)),
            panel_not_before=None,
        )
    first = _stage_one(s, decision.id)
    if first is None or first.decided_on is None or first.outcome is not AppealOutcome.UPHELD:
        check_appeal(
            AppealFacts(decision, stage, received_on, None, None, None), s
        )  # raises the stage's own refusal
        raise AssertionError("unreachable: the stage-two checks refused above")
    earliest, latest = stage_two_panel_window(received_on, figures_on(received_on, s))
    # Once the panel's date is known, its outcome is due 5 working days after it; until then,
    # 5 working days after the latest day the panel may meet.
    outcome_due = panel_outcome_by(panel_on, figures_on(panel_on, s)) if panel_on else None
    return Deadlines(
        request_deadline=appeal_deadlines(
            first.decided_on, figures_on(first.decided_on, s)
        ).request_review_by,
        decision_due=outcome_due or panel_outcome_by(latest, figures_on(latest, s)),
        panel_not_before=earliest,
        panel_outcome_due=outcome_due,
    )


def queue_appeal_letters(appeal: Appeal) -> list[int]:
    """Once an appeal is saved: its acknowledgement, panel date or outcome letter (Appendix C:
    "notified to you in writing within 5 working days"), made now by the worker, not at its
    next periodic pass. Whatever the save changed, only letters still owed are made."""
    changed = Changed()
    changed.add(appeal.decision.application.academic_year, "appeal", [appeal.id])
    return queue_letters(changed)
