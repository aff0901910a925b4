"""Withdrawing concessionary seats that entitled children need, lowest in the register first,
with notice and a pro-rata refund (Appendix F, A9; `rules.withdraw`, `rules.refund`).
"""

from __future__ import annotations

import hashlib
from datetime import date
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
    Payment,
    Refund,
    Route,
    Withdrawal,
    db,
)
from models.enums import (
    ConcessionaryStatus,
    SeatStatus,
    WithdrawalKind,
)
from services.seats.allocation import RouteReport, SeatReport, with_sessions
from services.seats.capacity import lock_routes, spare_seats
from services.seats.common import CA, CS, SESSION_KEYS, SeatError
from services.seats.register_facts import gather_candidates
from services.transaction import transaction
from services.years import calendar_for, policy_for


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

    Holders go lowest in the register first (project rule, `rules.withdraw`). Notice is given
    today; the seat becomes free after the notice period from the dated policy parameters
    (`concessionary_withdrawal_notice_days` working days). The family is refunded, per day,
    for the operational days from the effective date (project rule, `rules.refund`).

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
        result = rules.withdraw(rules.WithdrawalRequest(needed=needed, holders=applicants))
        rr = RouteReport(route.code, spare_seats(s, year, on, [route_id]).get(route_id, {}))
        rr.spare_before = {k: rr.spare_before.get(k, 0) for k in SESSION_KEYS}
        cal = calendar_for(s, year) if result.withdrawn else None
        contributions = _contributions_by_seat(
            s, [seats[by_ref[r].application_id].id for r in result.withdrawn]
        )
        for ref in result.withdrawn:
            seat = seats[by_ref[ref].application_id]
            contrib = contributions.get(seat.id)
            refund_due = Decimal("0.00")
            if contrib is not None and cal is not None:
                paid = _paid_net(s, contrib.id)
                refund_due = rules.refund(
                    contrib.annual_amount, paid, effective, cal.terms, cal.closures
                )
            withdrawal = Withdrawal(
                kind=WithdrawalKind.CONCESSIONARY_SEAT,
                concessionary_seat_id=seat.id,
                clause="Appendix F",
                reason=reason,
                notice_on=on,
                effective_on=effective,
                refund_amount=refund_due,
                family_told_of_appeal=family_told_of_appeal,
                decided_by_id=decided_by_id,
                request_token=request_token,
            )
            s.add(withdrawal)
            s.flush()  # the refund names the withdrawal it comes from
            if refund_due > 0 and contrib is not None:
                s.add(
                    Refund(
                        contribution_id=contrib.id,
                        withdrawal_id=withdrawal.id,
                        amount=refund_due,
                        reason=(
                            f"Appendix F: seat withdrawn from {effective:%d %B %Y} for an "
                            "entitled child; refund for the days not travelled"
                        ),
                        due_on=effective,
                    )
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

    return transaction(s, work)


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
    return Decimal(paid) - Decimal(refunded)
