"""Officers sign off decisions (DOMAIN.md "Who uses it"; issue 14 "safe bulk work").

An admin assistant runs assessment, but a refusal, or an award that rests on an officer's
judgement (`rules.assess.OFFICER_JUDGEMENT_BASES`), is not the assistant's to send: such a
decision is stored awaiting sign-off (`EligibilityDecision.sign_off`), with who made it, and no
letter is owed for it (services/letters/owed.py) until an eligibility officer or a supervisor
signs it off, one by one on the application or in bulk from the "Awaiting sign-off" queue. The
officer may instead send it back: the decision is superseded and the application waits to be
assessed again. Who signed off or sent back, and when, is kept on the decision, and the audit
trail records the change with its user. A decision made by an officer or supervisor needs none.

An eligibility that an assistant's reassessment refuses stands (still carrying the pupil, as an
award pending a re-check does) and is withdrawn with notice only when the refusal is signed off
(A12a, A15: the notice runs from the sign-off); a refusal sent back has withdrawn nothing, and
the award stands until the application's next final decision. A post-16 award awaiting
sign-off bills nothing: its contribution is raised when it is signed off (A7, A15; a family is
never asked to pay, or reminded to, before it has been told of the award).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from models import EligibilityDecision, TransportApplication, User
from models.enums import ApplicationStatus, Charge, Outcome, Role, SignOff
from rules.assess import rests_on_officer_judgement
from services.contributions import raise_post16_contributions
from services.errors import ServiceError
from services.letters.follow_up import Changed, queue_letters
from services.seats.withdrawal import EligibilityEnd, withdraw_eligibilities
from services.years import local_date

SENT_BACK_REASON = "sent back by an officer to be assessed again"
NOT_AN_OFFICER = (
    "Only a transport eligibility officer or a supervisor can sign off or send back a decision "
    "(officers sign off decisions); nothing was changed."
)


class SignOffError(ServiceError):
    """The sign-off could not be made; nothing was changed."""


def needs_sign_off(outcome: Outcome, basis: str | None, roles: Iterable[Role]) -> bool:
    """Does a decision with this outcome and basis, made by someone holding `roles`, wait for
    an officer? Only an assistant's refusals and awards on an officer's judgement do."""
    held = set(roles)
    if held & {Role.OFFICER, Role.SUPERVISOR}:
        return False
    return outcome == Outcome.NOT_ELIGIBLE or rests_on_officer_judgement(outcome, basis)


def roles_of(session: Session, user_id: int | None) -> set[Role]:
    """The roles of the user acting; none for the system (its runs are an officer's command)."""
    if user_id is None:
        return {Role.OFFICER}
    user = session.get(User, user_id)
    return set(user.roles) if user is not None else set()


def awaiting_sign_off() -> ColumnElement[bool]:
    """Current decisions waiting for an officer (the queue, its count and the letters' rule)."""
    dec = EligibilityDecision
    return and_(dec.superseded_at.is_(None), dec.sign_off == SignOff.AWAITING)


@dataclass
class SignOffSummary:
    done: int = 0
    withdrawn: int = 0  # eligibilities withdrawn with notice on signing off a refusal
    contributions_raised: int = 0  # post-16 awards' contributions, billed from the sign-off
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (reference, why)
    notes: list[str] = field(default_factory=list)  # what raising the contributions noted

    def as_text(self, verb: str) -> str:
        text = f"{self.done} decision{'' if self.done == 1 else 's'} {verb}"
        if self.withdrawn:
            text += f"; {self.withdrawn} eligibilities withdrawn with notice (A12a, A15)"
        if self.contributions_raised:
            n = self.contributions_raised
            text += f"; {n} post-16 contribution{'' if n == 1 else 's'} raised (A7, B1j)"
        if self.skipped:
            shown = "; ".join(f"{ref}: {why}" for ref, why in self.skipped[:5])
            more = f" and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            text += f". Left as they are: {len(self.skipped)} ({shown}{more})"
        return text + "." + "".join(f" {note}" for note in self.notes)


def _officer(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.has_role(Role.OFFICER):
        raise SignOffError(NOT_AN_OFFICER)
    return user


def _awaiting(
    session: Session, decision_ids: Iterable[int], summary: SignOffSummary
) -> list[EligibilityDecision]:
    """The named decisions still awaiting; the others are reported, not an error (another
    officer may have dealt with them a moment ago)."""
    wanted = sorted(set(decision_ids))
    if not wanted:
        raise SignOffError("Choose at least one decision; nothing was changed.")
    rows = session.scalars(
        select(EligibilityDecision)
        .where(EligibilityDecision.id.in_(wanted))
        .order_by(EligibilityDecision.id)
        .with_for_update()
    ).all()
    found = {d.id for d in rows}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise SignOffError(f"There is no decision {missing[0]}; nothing was changed.")
    ready = []
    for decision in rows:
        if decision.superseded_at is not None:
            summary.skipped.append((decision.application.reference, "superseded since"))
        elif decision.sign_off is not SignOff.AWAITING:
            summary.skipped.append((decision.application.reference, "not awaiting sign-off"))
        else:
            ready.append(decision)
    return ready


def sign_off(
    session: Session, decision_ids: Iterable[int], user_id: int, now: datetime | None = None
) -> SignOffSummary:
    """Sign off the named decisions awaiting it: their letters are owed from now."""
    now = now or datetime.now(UTC)
    summary = SignOffSummary()
    try:
        officer = _officer(session, user_id)
        ends: list[EligibilityEnd] = []
        charged: dict[int, date] = {}  # a contribution award is billed once in force (A7, A15)
        changed = Changed()
        for decision in _awaiting(session, decision_ids, summary):
            changed.add(decision.application.academic_year, "decision", [decision.id])
            decision.sign_off = SignOff.SIGNED_OFF
            decision.sign_off_by_id = officer.id
            decision.sign_off_at = now
            end = _eligibility_refused(session, decision)
            if end is not None:
                ends.append(end)
            if decision.outcome is Outcome.ELIGIBLE and decision.charge is Charge.CONTRIBUTION:
                charged[decision.application_id] = local_date(now)
            summary.done += 1
        session.flush()
        if charged:
            raised = raise_post16_contributions(
                session, charged, [], reason="", today=local_date(now)
            )
            summary.contributions_raised = raised.raised
            summary.notes.extend(raised.notes)
        if ends:
            made = withdraw_eligibilities(session, ends, on=local_date(now), decided_by_id=user_id)
            summary.withdrawn = len(made)
            year_of = {end.decision_id: end.academic_year for end in ends}
            for withdrawal in made:
                if withdrawal.decision_id is not None:  # an eligibility's: always
                    changed.add(year_of[withdrawal.decision_id], "withdrawal", [withdrawal.id])
        session.commit()
    except BaseException:
        session.rollback()
        raise
    queue_letters(changed)  # B1i: the family hears once an officer has signed off
    return summary


def _eligibility_refused(session: Session, decision: EligibilityDecision) -> EligibilityEnd | None:
    """The award this refusal left standing (services.assessment), settled now that an officer
    has confirmed the refusal: it is withdrawn with notice (A12a, A15)."""
    if decision.outcome is not Outcome.NOT_ELIGIBLE:
        return None
    dec = EligibilityDecision
    award = session.scalars(
        select(dec).where(
            dec.application_id == decision.application_id,
            dec.is_standing,
        )
    ).first()
    if award is None:
        return None
    award.stands_pending_recheck = False
    application = decision.application
    return EligibilityEnd(
        decision_id=award.id,
        application_id=application.id,
        academic_year=application.academic_year,
        reference=application.reference,
        route_was_unsuitable=award.basis == "A12",
    )


def send_back(
    session: Session,
    decision_ids: Iterable[int],
    user_id: int,
    note: str = "",
    now: datetime | None = None,
) -> SignOffSummary:
    """Send the named decisions back: each is superseded (kept, marked sent back, with who and
    why), no letter is owed for it, and its application waits to be assessed again (B2)."""
    now = now or datetime.now(UTC)
    summary = SignOffSummary()
    try:
        officer = _officer(session, user_id)
        app_ids: list[int] = []
        for decision in _awaiting(session, decision_ids, summary):
            decision.sign_off = SignOff.SENT_BACK
            decision.sign_off_by_id = officer.id
            decision.sign_off_at = now
            decision.sign_off_note = note.strip() or None
            decision.superseded_at = now
            app_ids.append(decision.application_id)
            summary.done += 1
        session.flush()
        if app_ids:
            session.execute(
                update(TransportApplication)
                .where(TransportApplication.id.in_(app_ids))
                .values(status=ApplicationStatus.RECEIVED)
                .execution_options(synchronize_session=False)
            )
            # An award sent back charges nothing: its unpaid post-16 instalments are cancelled.
            raise_post16_contributions(
                session, {}, app_ids, reason=SENT_BACK_REASON, today=local_date(now)
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return summary
