"""Assess eligibility for a set of transport applications, in one transaction, set-based.

The bulk action on the applications list, the button on one application and
`flask assess run` all call `assess_applications`, so they decide the same way and store the
same trail. What must hold (issue 3, DOMAIN.md workflow 1):

* the decision is the rules module's, made with the year's dated parameters
  (`services.policy`), and stored with every clause, the reasons, the charge, the validity, the
  facts the rules were given, who decided and when;
* re-assessing an unchanged application writes nothing (the facts hash matches);
* a changed one supersedes the old decision, which is kept (history is never overwritten);
* A2: "A new application for transport will override any current transport eligibility and this
  will be cancelled": the pupil's newest application decided eligible ends the others.
* a decision charging a post-16 contribution raises it (A7, A15 "travel arrangements are made
  only upon payment", B1j plan; `services.contributions.raise_post16_contributions`), once;
  a decision superseded or ended by one that charges nothing cancels its unpaid instalments;
* an eligible decision that reassessment turns into a refusal is withdrawn with notice, not on
  the spot (A12a "removed with reasonable notice", A15 "at one term's notice"): a withdrawal
  record with its effective date and the right of appeal, and the pupil is carried until then
  (`services.seats.withdrawal.withdraw_eligibilities`);
* an eligible decision superseded by a re-check that is not decided yet (`refer`, `measure`)
  is not ended at all: the award stands (`stands_pending_recheck`), still carrying the pupil
  with its seat and contribution, until a final decision. A refusal then withdraws that award
  with notice as above; an eligible decision replaces it and nothing is withdrawn (A12a, A15:
  an award never ends silently).
* officers sign off decisions (DOMAIN.md): an assistant's refusal, or award on an officer's
  judgement, is stored awaiting sign-off; an award it refuses stands like one pending a
  re-check, and is withdrawn with notice only once an officer signs the refusal off
  (`services.sign_off`).

Everything is a handful of statements for the whole batch (no query per application) and all of
it commits or none of it does.

A pupil already recorded on a route and then assessed eligible is carried whatever the spare
seats: the decision is the pupil's legal right (A1), so it is never refused for want of a seat.
Instead the summary names the routes of the assessed years now carrying more passengers than
seats (one grouped query after the run), so the officer can withdraw concessionary seats with
notice (Appendix F) or move pupils.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import EligibilityDecision, TransportApplication, Withdrawal, db
from models.base import table_of
from models.enums import ApplicationStatus, Charge, Outcome, SignOff
from rules.assess import Care, Case, ExceptionalCircumstances, Medical, Post16, assess
from rules.errors import RulesError
from rules.vocab import CareBy, MedicalWho, Placement, SchoolType
from services.contributions import raise_post16_contributions
from services.eligibility_facts import GatheredCase, gather_facts
from services.id_lists import in_ids
from services.letters.follow_up import Changed, queue_letters
from services.policy import PolicyUnavailable, parameters_as_json, parameters_for_years
from services.seats import Overfull, over_capacity
from services.seats.withdrawal import EligibilityEnd, withdraw_eligibilities
from services.sign_off import needs_sign_off, roles_of
from services.years import YearError, local_date

ID_CHUNK = 5_000  # ids per IN (...) list: well under SQLite's and PostgreSQL's bind limits
A2_REASON = (
    "A2: transport from one address only; a new application overrides any current eligibility "
    "(superseded by application {reference})"
)
# An eligible or refused application is decided; refer/measure wait for an officer (B2).
_FINAL = frozenset({Outcome.ELIGIBLE, Outcome.NOT_ELIGIBLE})
_STATUS_BY_OUTCOME = {
    Outcome.ELIGIBLE: ApplicationStatus.DECIDED,
    Outcome.NOT_ELIGIBLE: ApplicationStatus.DECIDED,
    Outcome.REFER: ApplicationStatus.RECEIVED,
    Outcome.MEASURE: ApplicationStatus.RECEIVED,
}


class AssessmentError(Exception):
    """The run could not be made; nothing was changed. The message is for the user."""


@dataclass
class AssessmentSummary:
    assessed: int = 0  # new decisions written (first decisions and supersessions)
    unchanged: int = 0  # same facts and parameters as the current decision: nothing written
    superseded: int = 0  # earlier decisions replaced (kept, with superseded_at)
    ended: int = 0  # other eligibilities ended under A2
    withdrawn: int = 0  # eligibilities ended with notice (A12a, A15)
    standing: int = 0  # awards kept in force pending a re-check (A12a, A15)
    contributions_raised: int = 0  # post-16 contributions raised (A7, B1j)
    instalments_cancelled: int = 0  # unpaid, of decisions superseded or ended
    awaiting_sign_off: int = 0  # an assistant's refusals and awards on judgement (sign_off)
    notes: list[str] = field(default_factory=list)
    by_outcome: Counter[str] = field(default_factory=Counter)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (reference, why)
    over_capacity: list[Overfull] = field(default_factory=list)  # after the run, by route
    changed: Changed = field(default_factory=Changed)  # new decisions and withdrawals: letters

    def as_text(self) -> str:
        outcomes = ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in sorted(self.by_outcome.items())
        )
        text = (
            f"{self.assessed} assessed ({outcomes or 'no new decisions'}), "
            f"{self.unchanged} unchanged, {self.superseded} earlier decisions superseded"
        )
        if self.ended:
            text += f", {self.ended} other eligibilities ended (A2)"
        if self.withdrawn:
            text += f", {self.withdrawn} eligibilities withdrawn with notice (A12a, A15)"
        if self.standing:
            text += (
                f", {self.standing} awards kept in force pending a re-check (refer or measure: "
                "not ended until a final decision, A12a, A15)"
            )
        if self.contributions_raised:
            text += f", {self.contributions_raised} post-16 contributions raised (A7, B1j)"
        if self.instalments_cancelled:
            text += f", {self.instalments_cancelled} unpaid instalments cancelled"
        if self.awaiting_sign_off:
            text += (
                f", {self.awaiting_sign_off} await an officer's sign-off before their letters go"
            )
        if self.notes:
            shown = "; ".join(self.notes[:5])
            more = f" and {len(self.notes) - 5} more" if len(self.notes) > 5 else ""
            text += f". Contributions: {shown}{more}"
        if self.skipped:
            shown = "; ".join(f"{ref}: {why}" for ref, why in self.skipped[:5])
            more = f" and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            text += f". Not assessed: {len(self.skipped)} ({shown}{more})"
        return text + "." + self._over_capacity_text()

    def _over_capacity_text(self) -> str:
        """A1 / Appendix F: which vehicles now carry more passengers than seats, and what to do."""
        first: dict[int, Overfull] = {}
        for found in self.over_capacity:
            first.setdefault(found.route_id, found)
        if not first:
            return ""
        routes = list(first.values())
        shown = "; ".join(o.words() for o in routes[:5])
        more = f"; and {len(routes) - 5} more" if len(routes) > 5 else ""
        noun = "route is" if len(routes) == 1 else "routes are"
        return (
            f" {len(routes)} {noun} now over capacity: {shown}{more}. Entitled pupils are "
            "carried whatever the spare seats (A1); to make room, withdraw concessionary seats "
            "with notice (Routes: filter 'Over capacity', then 'Withdraw seats for entitled "
            "children'; Appendix F) or move pupils to another route."
        )


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def facts_hash(facts: dict[str, Any], parameters: dict[str, Any]) -> str:
    """Same facts and same figures -> same hash -> the same decision; nothing to write."""
    return _hash_with(facts, canonical_json(parameters))


def _hash_with(facts: dict[str, Any], parameters_json: str) -> str:
    """`facts_hash` with the year's parameters already rendered (once per run, not per row)."""
    payload = '{"facts":' + canonical_json(facts) + ',"parameters":' + parameters_json + "}"
    return hashlib.sha256(payload.encode()).hexdigest()


def case_from_facts(facts: dict[str, Any]) -> Case:
    """The stored JSON facts as the rules' `Case`.

    The facts were built by `services.eligibility_facts` from typed columns, so they already
    fit the contract; building the dataclasses directly is several times quicker than the
    strict JSON parser, which `tests/test_assessment.py` checks gives the same `Case`.
    """
    values = dict(facts)
    values["date_of_birth"] = date.fromisoformat(facts["date_of_birth"])
    values["school_type"] = SchoolType(facts["school_type"])
    medical = facts["medical"]
    if medical is not None:
        until = medical["until"]
        values["medical"] = Medical(
            who=MedicalWho(medical["who"]),
            accepted=medical["accepted"],
            until=date.fromisoformat(until) if until else None,
        )
    care = facts["care"]
    if care is not None:
        values["care"] = Care(
            by=CareBy(care["by"]),
            placement=Placement(care["placement"]),
            purchase_order=care["purchase_order"],
        )
    exceptional = facts["exceptional_circumstances"]
    if exceptional is not None:
        values["exceptional_circumstances"] = ExceptionalCircumstances(
            accepted=exceptional["accepted"]
        )
    post16 = facts["post16"]
    if post16 is not None:
        values["post16"] = Post16(
            **{**post16, "full_time_hours": Decimal(str(post16["full_time_hours"]))}
        )
    return Case(**values)


def _update_many(sess: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """One executemany UPDATE by primary key (a Core statement, so the session's audit hook
    sees an ordinary cursor result with its row count)."""
    table = model.__table__  # type: ignore[attr-defined]
    names = [key for key in rows[0] if key != "id"]
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in names})
    )
    params = [{"row_id": row["id"], **{f"new_{n}": row[n] for n in names}} for row in rows]
    sess.execute(statement, params)


def _set_statuses(sess: Session, rows: list[dict[str, Any]]) -> None:
    """Set each application's status: one UPDATE per status and chunk of ids, not per row."""
    by_status: dict[ApplicationStatus, list[int]] = defaultdict(list)
    for row in rows:
        by_status[row["status"]].append(row["id"])
    ta = TransportApplication
    for status, ids in by_status.items():
        for chunk in _chunks(ids):
            sess.execute(
                update(ta)
                .where(in_ids(ta.id, chunk), ta.status != status)
                .values(status=status)
                .execution_options(synchronize_session=False)
            )


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), ID_CHUNK):
        yield ids[start : start + ID_CHUNK]


def assess_applications(
    *,
    ids: Iterable[int] | None = None,
    where: ColumnElement[bool] | None = None,
    user_id: int | None,
    session: Session | None = None,
    now: datetime | None = None,
) -> AssessmentSummary:
    """Assess the applications named by `ids` or matching `where`; commit, or change nothing."""
    sess = session if session is not None else db.session
    if (ids is None) == (where is None):
        raise ValueError("give ids or where")
    try:
        summary = _assess(sess, ids, where, user_id, now or datetime.now(UTC))
        sess.commit()
    except IntegrityError:
        sess.rollback()
        raise AssessmentError(
            "Another assessment of the same applications finished first; nothing was saved. "
            "Run it again."
        ) from None
    except (PolicyUnavailable, RulesError, YearError) as error:
        sess.rollback()
        raise AssessmentError(f"Nothing was assessed: {error}.") from None
    except BaseException:
        sess.rollback()
        raise
    queue_letters(summary.changed)  # B1i: the decisions (and A12a/A15 notices), now
    return summary


def preview_assessment(
    ids: Iterable[int],
    *,
    user_id: int | None,
    session: Session | None = None,
    now: datetime | None = None,
) -> AssessmentSummary:
    """What `assess_applications(ids=...)` would decide, by the same code, worked out in a
    savepoint that is then rolled back: a confirmation page's trial run that cannot drift from
    what the button does, and leaves nothing behind. Raises what the run would meet."""
    sess = session if session is not None else db.session
    savepoint = sess.begin_nested()
    try:
        return _assess(sess, ids, None, user_id, now or datetime.now(UTC))
    finally:
        savepoint.rollback()
        sess.expire_all()


def _gather(
    sess: Session, ids: Iterable[int] | None, where: ColumnElement[bool] | None
) -> list[GatheredCase]:
    if where is not None:
        return gather_facts(sess, where)
    wanted = sorted(set(ids or ()))
    gathered: list[GatheredCase] = []
    for chunk in _chunks(wanted):
        gathered.extend(gather_facts(sess, TransportApplication.id.in_(chunk)))
    return gathered


def _assess(
    sess: Session,
    ids: Iterable[int] | None,
    where: ColumnElement[bool] | None,
    user_id: int | None,
    now: datetime,
) -> AssessmentSummary:
    summary = AssessmentSummary()
    gathered = _gather(sess, ids, where)
    params = parameters_for_years({g.academic_year for g in gathered if g.problem is None}, sess)
    params_json = {year: canonical_json(parameters_as_json(p)) for year, p in params.items()}
    roles = roles_of(sess, user_id)

    # The current decision of each application: one query per chunk of ids.
    app_ids = [g.application_id for g in gathered]
    current: dict[int, tuple[int, str]] = {}
    # What the current decision granted: (outcome, basis, ended_on), for notice and charges.
    granted: dict[int, tuple[Outcome, str | None, date | None]] = {}
    for chunk in _chunks(app_ids):
        for dec_id, app_id, digest, outcome_, basis, ended_on in sess.execute(
            select(
                EligibilityDecision.id,
                EligibilityDecision.application_id,
                EligibilityDecision.facts_hash,
                EligibilityDecision.outcome,
                EligibilityDecision.basis,
                EligibilityDecision.ended_on,
            ).where(
                in_ids(EligibilityDecision.application_id, chunk),
                EligibilityDecision.superseded_at.is_(None),
            )
        ):
            current[app_id] = (dec_id, digest)
            granted[app_id] = (outcome_, basis, ended_on)
    standing = _standing_awards(sess, app_ids)

    new_rows: list[dict[str, Any]] = []
    status_rows: list[dict[str, Any]] = []
    to_supersede: list[int] = []
    eligible_pupils: set[int] = set()
    today = local_date(now)
    charged: dict[int, date] = {}  # application -> date its contribution decision was made
    not_charged: list[int] = []  # superseded by a decision that charges nothing
    ends: list[EligibilityEnd] = []  # eligible before, refused now: withdrawn with notice
    restored: list[int] = []  # refused before, eligible again: a pending withdrawal ends
    to_stand: list[int] = []  # eligible decisions that stand pending a re-check (A12a, A15)
    settled: list[int] = []  # standing awards a final decision has now settled
    for g in gathered:
        if g.problem is not None or g.facts is None:
            summary.skipped.append((g.reference, g.problem or "no facts"))
            continue
        year_params = params[g.academic_year]
        digest = _hash_with(g.facts, params_json[g.academic_year])
        previous = current.get(g.application_id)
        if previous is not None and previous[1] == digest:
            summary.unchanged += 1
            continue
        try:
            decision = assess(case_from_facts(g.facts), year_params)
        except RulesError as error:
            summary.skipped.append((g.reference, f"{error.field}: {error.message}"))
            continue
        outcome = Outcome(str(decision.outcome))
        charge = Charge(str(decision.charge)) if decision.charge else None
        awaits = needs_sign_off(outcome, decision.basis, roles)
        # The award in force before this decision: the current one, or one standing (also
        # after an officer sent a refusal back, when no decision is current).
        was, was_basis, was_ended = granted.get(g.application_id, (None, None, None))
        award = (
            (previous[0], was_basis)
            if previous is not None and was is Outcome.ELIGIBLE and was_ended is None
            else standing.get(g.application_id)
        )
        # A re-check (refer, measure) is not decided yet, nor is a refusal awaiting an
        # officer's sign-off: until then the award, its seat and contribution stay (A12a, A15).
        decided = outcome in _FINAL and not (awaits and outcome is Outcome.NOT_ELIGIBLE)
        if previous is not None:
            to_supersede.append(previous[0])
        if award is not None and not decided:
            if previous is not None and award[0] == previous[0]:
                to_stand.append(award[0])
        elif previous is not None or award is not None:
            if award is not None and (previous is None or award[0] != previous[0]):
                settled.append(award[0])  # the final decision the award stood for
            if award is not None and outcome is Outcome.NOT_ELIGIBLE:
                ends.append(
                    EligibilityEnd(
                        decision_id=award[0],
                        application_id=g.application_id,
                        academic_year=g.academic_year,
                        reference=g.reference,
                        route_was_unsuitable=award[1] == "A12",
                    )
                )
            elif charge is not Charge.CONTRIBUTION:
                not_charged.append(g.application_id)
        if previous is not None and was is not Outcome.ELIGIBLE and outcome is Outcome.ELIGIBLE:
            restored.append(g.application_id)
        if outcome is Outcome.ELIGIBLE and charge is Charge.CONTRIBUTION and not awaits:
            charged[g.application_id] = today  # an award awaiting sign-off bills on it
        new_rows.append(
            {
                "application_id": g.application_id,
                "outcome": outcome,
                "basis": decision.basis,
                "clauses": list(decision.clauses),
                "charge": charge,
                "valid_until": decision.valid_until,
                "review_date": decision.review_date,
                "reasons": list(decision.reasons),
                "facts": g.facts,
                "facts_hash": digest,
                "parameters_year": year_params.academic_year,
                "decided_by_id": user_id,
                "decided_at": now,
                "sign_off": SignOff.AWAITING if awaits else None,
            }
        )
        status_rows.append({"id": g.application_id, "status": _STATUS_BY_OUTCOME[outcome]})
        summary.by_outcome[outcome.value] += 1
        summary.awaiting_sign_off += awaits
        if outcome is Outcome.ELIGIBLE:
            eligible_pupils.add(g.pupil_id)

    # Supersede first: the partial unique index allows one current decision per application.
    for chunk in _chunks(to_supersede):
        sess.execute(
            update(EligibilityDecision)
            .where(
                in_ids(EligibilityDecision.id, chunk), EligibilityDecision.superseded_at.is_(None)
            )
            .values(superseded_at=now)
            .execution_options(synchronize_session=False)
        )
    _set_standing(sess, to_stand, True)
    _set_standing(sess, settled, False)
    summary.standing = len(to_stand)
    if new_rows:
        # Core executemany: one statement for every row (the ORM's bulk insert would split
        # the batch wherever a row's NULL columns differ).
        sess.execute(insert(table_of(EligibilityDecision)), new_rows)
        _set_statuses(sess, status_rows)
        written = {r["application_id"] for r in new_rows}
        _note_new_decisions(sess, gathered, written, now, summary)
    summary.assessed = len(new_rows)
    summary.superseded = len(to_supersede)
    ended_apps = _end_other_eligibilities(sess, sorted(eligible_pupils), now)
    summary.ended = len(ended_apps)
    if restored:
        _lift_pending_withdrawals(sess, restored, today)
    if ends:
        withdrawn = withdraw_eligibilities(sess, ends, on=today, decided_by_id=user_id)
        summary.withdrawn = len(withdrawn)
        year_of = {e.decision_id: e.academic_year for e in ends}
        for notice in withdrawn:  # each names the decision it ends
            summary.changed.add(year_of[notice.decision_id or 0], "withdrawal", [notice.id])
    if charged or not_charged or ended_apps:
        post16 = raise_post16_contributions(
            sess,
            {k: v for k, v in charged.items() if k not in ended_apps},
            [*not_charged, *ended_apps],
            reason="the decision that raised it was superseded or ended (A2)",
            today=today,
        )
        summary.contributions_raised = post16.raised
        summary.instalments_cancelled = post16.cancelled
        summary.notes.extend(post16.notes)
    if new_rows:
        years = sorted({g.academic_year for g in gathered if g.problem is None})
        summary.over_capacity = over_capacity(sess, years, today)
    return summary


def _standing_awards(sess: Session, app_ids: Sequence[int]) -> dict[int, tuple[int, str | None]]:
    """{application: (decision id, basis)} of the awards standing pending a re-check."""
    dec = EligibilityDecision
    found: dict[int, tuple[int, str | None]] = {}
    for chunk in _chunks(app_ids):
        for dec_id, app_id, basis in sess.execute(
            select(dec.id, dec.application_id, dec.basis).where(
                in_ids(dec.application_id, chunk),
                dec.is_standing,
            )
        ):
            found[app_id] = (dec_id, basis)
    return found


def _set_standing(sess: Session, decision_ids: Sequence[int], value: bool) -> None:
    """Mark awards as standing pending a re-check, or settled by a final decision."""
    dec = EligibilityDecision
    for chunk in _chunks(decision_ids):
        sess.execute(
            update(dec)
            .where(in_ids(dec.id, chunk))
            .values(stands_pending_recheck=value)
            .execution_options(synchronize_session=False)
        )


def _note_new_decisions(
    sess: Session,
    gathered: list[GatheredCase],
    written: set[int],
    now: datetime,
    summary: AssessmentSummary,
) -> None:
    """The decisions just written (for the applications `written`), by year, in
    `summary.changed` (each owes a letter, B1i).

    Found by the run's own timestamp (indexed) rather than by lists of the applications' ids:
    the current decision of an application written now, decided at `now`, is this run's."""
    year_of = {g.application_id: g.academic_year for g in gathered if g.application_id in written}
    dec = EligibilityDecision
    for dec_id, app_id in sess.execute(
        select(dec.id, dec.application_id).where(dec.decided_at == now, dec.superseded_at.is_(None))
    ):
        if app_id in year_of:
            summary.changed.add(year_of[app_id], "decision", [dec_id])


def _lift_pending_withdrawals(sess: Session, app_ids: Sequence[int], today: date) -> None:
    """An application eligible again stops being carried on its withdrawn decision from today
    (so the pupil is counted once, on the new decision); the withdrawal record stays."""
    dec = EligibilityDecision
    for chunk in _chunks(sorted(set(app_ids))):
        sess.execute(
            update(dec)
            .where(
                dec.application_id.in_(chunk),
                dec.superseded_at.is_not(None),
                dec.ended_on > today,
                dec.id.in_(
                    select(Withdrawal.decision_id).where(Withdrawal.decision_id.is_not(None))
                ),
            )
            .values(ended_on=today)
            .execution_options(synchronize_session=False)
        )


def _end_other_eligibilities(sess: Session, pupil_ids: Sequence[int], now: datetime) -> set[int]:
    """A2: the pupil's newest application with a current eligibility keeps it; others end.

    "Newest" is by academic year, then date received, then id: a later application is the new
    one A2 speaks of, whichever was assessed last. Only the pupils given a new eligible decision
    in this run are looked at (one query per chunk of pupils).
    """
    if not pupil_ids:
        return set()
    ta, dec = TransportApplication, EligibilityDecision
    by_pupil: dict[int, list[tuple[tuple[str, date, int], int, str]]] = defaultdict(list)
    for chunk in _chunks(pupil_ids):
        rows = sess.execute(
            select(dec.id, ta.pupil_id, ta.academic_year, ta.received_on, ta.id, ta.reference)
            .join(ta, ta.id == dec.application_id)
            .where(
                in_ids(ta.pupil_id, chunk),
                # A standing award (pending a re-check) is a current eligibility too.
                or_(dec.superseded_at.is_(None), dec.stands_pending_recheck.is_(True)),
                dec.ended_on.is_(None),
                dec.outcome == Outcome.ELIGIBLE,
            )
        )
        for dec_id, pupil_id, year, received, app_id, reference in rows:
            by_pupil[pupil_id].append(((year, received, app_id), dec_id, reference))
    ends: list[dict[str, Any]] = []
    ended_apps: set[int] = set()
    today = local_date(now)
    for entries in by_pupil.values():
        if len(entries) < 2:
            continue
        entries.sort()
        newest_reference = entries[-1][2]
        for key, dec_id, _reference in entries[:-1]:
            ended_apps.add(key[2])
            ends.append(
                {
                    "id": dec_id,
                    "ended_on": today,
                    "end_reason": A2_REASON.format(reference=newest_reference),
                }
            )
    if ends:
        _update_many(sess, EligibilityDecision, ends)
    return ended_apps
