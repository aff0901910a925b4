"""Withdrawing concessionary seats that entitled children need, lowest in the register first,
with notice and the settlement of RULES.md v2 (Appendix F, A9; `rules.withdraw`,
`rules.refund`); and withdrawing an eligibility with notice when reassessment ends it (A12a
"removed with reasonable notice", A15 "at one term's notice"), with the right of appeal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import (
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

import rules
from models import (
    Contribution,
    EligibilityDecision,
    Instalment,
    Payment,
    Refund,
    Route,
    TransportApplication,
    Withdrawal,
    db,
)
from models.enums import (
    ConcessionaryStatus,
    ContributionKind,
    SeatStatus,
    WithdrawalKind,
)
from services.contributions import cancel_unpaid
from services.letters.follow_up import Changed, queue_letters
from services.seats.allocation import RouteReport, SeatReport, with_sessions
from services.seats.capacity import lock_routes, spare_seats
from services.seats.common import CA, CS, SESSION_KEYS, SeatError
from services.seats.register_facts import gather_candidates
from services.transaction import transaction
from services.years import Calendar, YearError, policy_for, school_calendars


def withdraw(
    route_id: int,
    needed: dict[str, int],
    *,
    year: str,
    on: date,
    reason: str,
    family_told_of_appeal: bool,
    decided_by_id: int | None,
    session: Session | None = None,
    request_token: str | None = None,
    seats_seen: str | None = None,
) -> SeatReport:
    """Free seats for entitled children (Appendix F: concessionary seats "can be withdrawn at
    short notice if a seat is needed for an entitled child").

    Spare seats are used first: only the shortfall (`needed` less the route's spare seats in
    each session) is withdrawn, so with 1 seat spare and 3 needed, 2 families lose theirs.
    Holders go lowest in the register first (Appendix F, `rules.withdraw`). Notice is given
    `on`; the seat becomes free after the notice period from the dated policy parameters
    (`concessionary_withdrawal_notice_days` working days). The family pays for the days it
    could travel and no more (RULES.md v2, `rules.refund`): unpaid instalments are cancelled,
    what was paid beyond the cost of the days used is refunded, and a shortfall falls due as
    one final instalment on the effective date.

    Idempotent against a double submit (issue 18): under the route's lock, a request whose
    `request_token` already made withdrawals is refused (AlreadyDone), and one made from a
    page that showed other seats than the route has now (`seats_seen`, from `seats_state`)
    is refused too, so two identical requests free one set of seats, never two.
    """
    s = session or db.session
    for key in SESSION_KEYS:
        if type(needed.get(key)) is not int or needed[key] < 0:
            raise SeatError(f"Seats needed ({key.upper()}) must be a whole number, 0 or more.")
    if not any(needed.values()):
        raise SeatError("Say how many morning or afternoon seats entitled children need.")
    changed = Changed()

    def work() -> SeatReport:
        lock_routes(s, [route_id])
        route = s.get(Route, route_id)
        if route is None:
            raise SeatError("That route no longer exists.")
        if request_token and s.scalar(
            select(Withdrawal.id).where(Withdrawal.request_token == request_token).limit(1)
        ):
            raise AlreadyDone(
                "These seats were already withdrawn: the same request was sent twice. "
                "Nothing more was withdrawn."
            )
        if seats_seen is not None and seats_seen != seats_state(s, route_id):
            raise SeatError(
                "The seats on this route changed after you opened this page (another "
                "withdrawal or allocation was made). Nothing was withdrawn; check the spare "
                "seats shown now and send the request again if it is still needed."
            )
        params = policy_for(year, s)
        effective = rules.add_working_days(on, params.concessionary_withdrawal_notice_days)
        rr = RouteReport(route.code, spare_seats(s, year, on, [route_id]).get(route_id, {}))
        rr.spare_before = {k: rr.spare_before.get(k, 0) for k in SESSION_KEYS}
        shortfall = {k: max(needed.get(k, 0) - max(rr.spare_before[k], 0), 0) for k in SESSION_KEYS}
        used = {k: needed.get(k, 0) - shortfall[k] for k in SESSION_KEYS}
        if any(used.values()):
            rr.notes.append(
                "spare seats used first (Appendix F: withdraw only what entitled children "
                "need): " + ", ".join(f"{k.upper()} {v}" for k, v in used.items() if v)
            )
        if not any(shortfall.values()):
            return SeatReport(routes=[rr])
        seats = {
            seat.application_id: seat
            for seat in s.scalars(
                select(CS)
                .join(CA, CA.id == CS.application_id)
                .where(
                    CS.route_id == route_id,
                    CS.status == SeatStatus.ACTIVE,
                    CA.academic_year == year,
                )
            )
        }
        holders = gather_candidates(s, [CA.id.in_(sorted(seats))], year) if seats else []
        # A holder holds the sessions of its seat (which may differ from what it asked for).
        by_ref = {c.applicant.id: c for c in holders}
        applicants = [with_sessions(c.applicant, seats[c.application_id].sessions) for c in holders]
        result = rules.withdraw(rules.WithdrawalRequest(needed=shortfall, holders=applicants))
        # A9: each family's days are its school's (own term dates where it has a variation).
        school_of = dict(
            s.execute(
                select(CA.id, CA.school_id).where(
                    CA.id.in_([by_ref[r].application_id for r in result.withdrawn])
                )
            ).all()
        )
        cals = school_calendars(s, year, set(school_of.values())) if result.withdrawn else {}
        contributions = _contributions_by_seat(
            s, [seats[by_ref[r].application_id].id for r in result.withdrawn]
        )
        for ref in result.withdrawn:
            seat = seats[by_ref[ref].application_id]
            contrib = contributions.get(seat.id)
            withdrawal = Withdrawal(
                kind=WithdrawalKind.CONCESSIONARY_SEAT,
                concessionary_seat_id=seat.id,
                clause="Appendix F",
                reason=reason,
                notice_on=on,
                effective_on=effective,
                refund_amount=Decimal("0.00"),
                family_told_of_appeal=family_told_of_appeal,
                decided_by_id=decided_by_id,
                request_token=request_token,
            )
            s.add(withdrawal)
            s.flush()  # the refund names the withdrawal it comes from
            changed.add(year, "withdrawal", [withdrawal.id])
            refund_due = Decimal("0.00")
            cal = cals.get(school_of[seat.application_id])
            if contrib is not None and cal is not None:
                refund_due = settle(
                    s,
                    contrib,
                    withdrawal,
                    cal,
                    start=seat.start_date,
                    effective=max(effective, seat.start_date),
                    on=on,
                    why=(
                        f"Appendix F: seat withdrawn from {effective:%d %B %Y} for an entitled "
                        "child"
                    ),
                )
            seat.status = SeatStatus.WITHDRAWN
            # The seat is held until the effective date, then free (never before it started).
            seat.end_date = max(effective, seat.start_date)
            rr.withdrawn.append(ref)
            rr.notes.append(
                f"{ref}: notice {on:%d %b %Y}, effective {effective:%d %b %Y}, refund £{refund_due}"
            )
        s.flush()
        if result.withdrawn:
            s.execute(
                update(CA)
                .where(CA.id.in_([by_ref[r].application_id for r in result.withdrawn]))
                .values(status=ConcessionaryStatus.WITHDRAWN, waitlist_position=None)
            )
        unmet = {k: v for k, v in result.unmet.items() if v}
        if unmet:
            rr.notes.append(
                "not enough concessionary seats to free: still needed "
                + ", ".join(f"{k.upper()} {v}" for k, v in unmet.items())
            )
        return SeatReport(routes=[rr])

    report = transaction(s, work)
    queue_letters(changed)  # Appendix F: each family's notice, now the seats are withdrawn
    return report


def settle(
    s: Session,
    contrib: Contribution,
    withdrawal: Withdrawal,
    cal: Calendar,
    *,
    start: date,
    effective: date,
    on: date,
    why: str,
) -> Decimal:
    """RULES.md v2 for one contribution: cancel its unpaid instalments; refund what was paid
    beyond the cost of the days used (recorded on the withdrawal and as a Refund due on the
    effective date), or raise one final instalment for the shortfall due on that date.
    Returns the refund."""
    paid = _paid_net(s, contrib.id)
    got = rules.refund(contrib.annual_amount, paid, start, effective, cal.terms, cal.closures)
    cancel_unpaid(s, [contrib.id], on, f"{why}; not owed after the withdrawal"[:200])
    withdrawal.refund_amount = got.refund
    if got.refund > 0:
        s.add(
            Refund(
                contribution_id=contrib.id,
                withdrawal_id=withdrawal.id,
                amount=got.refund,
                reason=f"{why}; refund of what was paid beyond the {got.days_used} days used"[:200],
                due_on=effective,
            )
        )
    if got.still_owed > 0:
        number = s.scalar(
            select(func.coalesce(func.max(Instalment.number), 0)).where(
                Instalment.contribution_id == contrib.id
            )
        )
        s.add(
            Instalment(
                contribution_id=contrib.id,
                number=int(number or 0) + 1,
                due_on=effective,
                amount=got.still_owed,
            )
        )
    return got.refund


# ------------------------------------------------------------- eligibility withdrawals


@dataclass(frozen=True)
class EligibilityEnd:
    """An eligible decision that reassessment has turned into a refusal."""

    decision_id: int
    application_id: int
    academic_year: str
    reference: str
    route_was_unsuitable: bool  # the award rested on A12 (route unsuitable), now found suitable


# Project rule: the calendar stores half-terms; a school term (autumn, spring, summer) is a run
# of them separated by breaks shorter than this (half-term weeks), not by the Christmas, Easter
# or summer holidays.
TERM_BREAK_DAYS = 14


def school_terms(cal: Calendar) -> list[tuple[date, date]]:
    """The calendar's half-terms joined into school terms (see TERM_BREAK_DAYS)."""
    joined: list[tuple[date, date]] = []
    for first, last in sorted(cal.terms):
        if joined and (first - joined[-1][1]).days < TERM_BREAK_DAYS:
            joined[-1] = (joined[-1][0], max(last, joined[-1][1]))
        else:
            joined.append((first, last))
    return joined


def notice_effective(
    clause: str, on: date, params: rules.PolicyParameters, cal: Calendar | None
) -> date:
    """When an eligibility ended with notice stops (the dated notice parameters).

    A12a "removed with reasonable notice": `unsuitable_route_notice_days` working days. A15
    "at one term's notice" (project rule): the next `error_withdrawal_notice_terms` school
    terms to begin after the notice run in full, and transport stops on the first day of the
    term after them; with too few terms left in the year, the day after the last term ends
    (or the notice date itself, once the year is over).
    """
    if clause == "A12a" or cal is None:
        return rules.add_working_days(on, params.unsuitable_route_notice_days)
    terms = school_terms(cal)
    starts = [first for first, _ in terms if first > on]
    count = params.error_withdrawal_notice_terms
    if len(starts) > count:
        return starts[count]
    # The year ends first: transport runs to its end (never before the notice itself).
    return max(terms[-1][1] + timedelta(days=1), on)


def withdraw_eligibilities(
    s: Session,
    ends: Sequence[EligibilityEnd],
    *,
    on: date,
    decided_by_id: int | None,
) -> list[Withdrawal]:
    """A withdrawal record, with notice, for each eligibility reassessment has ended.

    A12a: a route "reassessed ... and if found to be suitable transport provision will be
    removed with reasonable notice"; A15: "If transport eligibility is awarded in error, LCC
    reserves the right to remove the transport eligibility at one term's notice". The ended
    decision keeps carrying the pupil until the effective date (`ended_on`), so the seat and
    any post-16 contribution run to then (the contribution settled per RULES.md v2); the
    family is told of its right of appeal (Appendix C: within 20 working days of the decision).
    """
    made: list[Withdrawal] = []
    if not ends:
        return made
    by_year: dict[str, list[EligibilityEnd]] = {}
    for end in ends:
        by_year.setdefault(end.academic_year, []).append(end)
    contributions = {
        c.transport_application_id: c
        for c in s.scalars(
            select(Contribution).where(
                Contribution.kind == ContributionKind.POST16,
                Contribution.transport_application_id.in_([e.application_id for e in ends]),
            )
        )
    }
    school_of = dict(
        s.execute(
            select(TransportApplication.id, TransportApplication.school_id).where(
                TransportApplication.id.in_([e.application_id for e in ends])
            )
        ).all()
    )
    for year, year_ends in sorted(by_year.items()):
        params = policy_for(year, s)
        try:
            cals: dict[int, Calendar] = school_calendars(
                s, year, {school_of[e.application_id] for e in year_ends}
            )
        except YearError:
            cals = {}
        appeal_by = rules.appeal_deadlines(on, params).request_review_by
        for end in year_ends:
            cal = cals.get(school_of[end.application_id])
            clause = "A12a" if end.route_was_unsuitable else "A15"
            effective = notice_effective(clause, on, params, cal)
            why = (
                "A12a: the walking route has been reassessed and found suitable; transport is "
                "removed with reasonable notice"
                if clause == "A12a"
                else "A15: the transport eligibility was awarded in error and is removed at "
                "one term's notice"
            )
            withdrawal = Withdrawal(
                kind=WithdrawalKind.ELIGIBILITY,
                decision_id=end.decision_id,
                clause=clause,
                reason=(
                    f"{why}. Transport continues until {effective:%d %B %Y}. The family may "
                    f"appeal within 20 working days, by {appeal_by:%d %B %Y} (Appendix C)."
                ),
                notice_on=on,
                effective_on=effective,
                refund_amount=Decimal("0.00"),
                family_told_of_appeal=True,
                decided_by_id=decided_by_id,
            )
            s.add(withdrawal)
            s.flush()
            s.execute(
                update(EligibilityDecision)
                .where(EligibilityDecision.id == end.decision_id)
                .values(
                    ended_on=effective,
                    end_reason=f"{clause}: withdrawn with notice given "
                    f"{on:%d %b %Y}, effective {effective:%d %b %Y}",
                )
                .execution_options(synchronize_session=False)
            )
            contrib = contributions.get(end.application_id)
            if contrib is not None and cal is not None:
                settle(
                    s,
                    contrib,
                    withdrawal,
                    cal,
                    start=contrib.start_date,
                    effective=max(effective, contrib.start_date),
                    on=on,
                    why=f"{clause}: eligibility withdrawn from {effective:%d %B %Y}",
                )
            made.append(withdrawal)
    s.flush()
    return made


class AlreadyDone(SeatError):
    """The same request was carried out before (a double submit); nothing more was done."""


def seats_state(s: Session, route_id: int) -> str:
    """A digest of the route's active seats (all years): what a withdraw page was shown.

    Any withdrawal or allocation on the route changes it, so a request made from an older
    page is refused rather than applied to seats its sender never saw.
    """
    ids = s.scalars(
        select(CS.id).where(CS.route_id == route_id, CS.status == SeatStatus.ACTIVE).order_by(CS.id)
    ).all()
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:32]


def _contributions_by_seat(s: Session, seat_ids: list[int]) -> dict[int, Contribution]:
    if not seat_ids:
        return {}
    return {
        c.concessionary_seat_id: c
        for c in s.scalars(
            select(Contribution).where(Contribution.concessionary_seat_id.in_(seat_ids))
        )
        if c.concessionary_seat_id is not None
    }


def _paid_net(s: Session, contribution_id: int) -> Decimal:
    paid = s.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.contribution_id == contribution_id
        )
    )
    refunded = s.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.contribution_id == contribution_id
        )
    )
    return Decimal(paid or 0) - Decimal(refunded or 0)
