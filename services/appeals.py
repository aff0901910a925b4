"""Appendix C deadlines for an appeal, in England's dates, worked out and never typed.

The screen, and anything else that records an appeal, calls `set_deadlines`: the request
deadline counts 20 working days from the decision appealed against (its date in England, not
UTC's: a decision stamped 23:30 UTC on 9 June in summer time was made on 10 June), stage one is
decided within 20 working days of receipt, the stage-two panel is convened within 20-40 working
days and "following the panel meeting, a decision will be notified to you in writing within 5
working days": once the panel date is recorded, that date is the outcome's deadline.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

import rules
from models import Appeal
from models.enums import AppealOutcome, AppealStage
from rules.academic_year import academic_year_of
from services.errors import ServiceError
from services.years import local_date, policy_for


class AppealError(ServiceError):
    """An appeal that cannot be recorded as it stands; the message says why (Appendix C)."""


def _figures(session: Session, day: date) -> rules.PolicyParameters:
    with session.no_autoflush:  # the appeal being saved has no deadlines yet
        return policy_for(academic_year_of(day).label, session)


def set_deadlines(session: Session, appeal: Appeal) -> None:
    """Fill the appeal's Appendix C deadlines from the dates it depends on."""
    decision = appeal.decision
    stage = AppealStage(appeal.stage)
    if stage is AppealStage.REVIEW:
        if appeal.panel_on is not None:
            raise AppealError("Only a stage-two appeal has a panel date (Appendix C).")
        decided = local_date(decision.decided_at)
        appeal.request_deadline = rules.appeal_deadlines(
            decided, _figures(session, decided)
        ).request_review_by
        appeal.decision_due = rules.stage_one_decision_by(
            appeal.received_on, _figures(session, appeal.received_on)
        )
        appeal.panel_not_before = None
        appeal.panel_outcome_due = None
        return
    with session.no_autoflush:
        first = session.scalar(
            select(Appeal).where(
                Appeal.decision_id == decision.id, Appeal.stage == AppealStage.REVIEW
            )
        )
    if first is None or first.decided_on is None:
        raise AppealError(
            "A stage-two appeal follows a decided stage-one review (Appendix C); record "
            "the stage-one outcome first. Nothing was saved."
        )
    if first.outcome is not AppealOutcome.UPHELD:
        raise AppealError(
            "A stage-two appeal is for a stage-one review that upheld the refusal "
            "(Appendix C). Nothing was saved."
        )
    appeal.request_deadline = rules.appeal_deadlines(
        first.decided_on, _figures(session, first.decided_on)
    ).request_review_by
    earliest, latest = rules.stage_two_panel_window(
        appeal.received_on, _figures(session, appeal.received_on)
    )
    appeal.panel_not_before = earliest
    if appeal.panel_on is not None:
        if appeal.panel_on < appeal.received_on:
            raise AppealError("The panel cannot meet before the appeal was received.")
        appeal.panel_outcome_due = rules.panel_outcome_by(
            appeal.panel_on, _figures(session, appeal.panel_on)
        )
        appeal.decision_due = appeal.panel_outcome_due
    else:
        appeal.panel_outcome_due = None
        appeal.decision_due = rules.panel_outcome_by(latest, _figures(session, latest))
