"""Contributions, instalments and the money that moved: payments, overdue, refunds.

B1j: payment comes before travel, so a concessionary seat whose first instalment is not fully
paid is "awaiting payment" rather than active. That state is computed from the payments, never
stored, so recording or correcting a payment can never leave it stale.

Post-16 contributions (A7, A8, A11, A13 "contribution payable"; A15 "travel arrangements are
made only upon payment of the student contribution") are raised here when assessment stores a
decision whose charge is `contribution`, and their unpaid instalments cancelled when that
decision is superseded or ended (`raise_post16_contributions`, `cancel_unpaid`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, delete, func, not_, or_, select, update
from sqlalchemy.orm import Session

import rules
from models import (
    ConcessionaryApplication,
    ConcessionarySeat,
    Contribution,
    ContributionSetting,
    Instalment,
    Payment,
    Refund,
    TransportApplication,
    db,
)
from models.enums import ContributionKind, PaymentPlan, SeatStatus
from services.errors import FieldError

PENNY = Decimal("0.01")


class PaymentError(FieldError):
    """A payment that cannot be recorded; the message names the problem, nothing was saved.

    `field` is the payment's attribute the problem is about (the screen shows it there)."""

    def __init__(self, message: str, field: str = "amount") -> None:
        super().__init__(field, message)


def paid_on_instalment() -> Any:
    """Correlated sum of payments against an instalment (use inside a query on Instalment)."""
    return (
        select(func.coalesce(func.sum(Payment.amount), 0))
        .where(Payment.instalment_id == Instalment.id)
        .correlate(Instalment)
        .scalar_subquery()
    )


def unpaid_clause() -> ColumnElement[bool]:
    """An instalment not fully paid (use inside a query on Instalment), to the penny: SQLite
    keeps money as floating point, where three payments of £10.03 add up to 30.0899...."""
    return func.round(Instalment.amount - paid_on_instalment(), 2) > 0


def overdue_clause(today: date) -> ColumnElement[bool]:
    """An instalment is overdue when its due date has passed and it is not fully paid (B1j).

    Instalments of a seat that has been withdrawn or has lapsed are not overdue from the day
    the seat ended: nothing is owed for days the family could not travel.
    """
    seat_ended = (
        select(ConcessionarySeat.end_date)
        .join(Contribution, Contribution.concessionary_seat_id == ConcessionarySeat.id)
        .where(
            Contribution.id == Instalment.contribution_id,
            ConcessionarySeat.status != SeatStatus.ACTIVE,
        )
        .correlate(Instalment)
        .scalar_subquery()
    )
    return and_(
        Instalment.cancelled_on.is_(None),
        Instalment.due_on < today,
        unpaid_clause(),
        or_(seat_ended.is_(None), Instalment.due_on < seat_ended),
    )


@dataclass(frozen=True)
class InstalmentMoney:
    paid: Decimal
    outstanding: Decimal
    overdue: bool


def instalment_money(
    session: Session, instalment_ids: Iterable[int], today: date
) -> dict[int, InstalmentMoney]:
    """Paid, outstanding and overdue for a page of instalments, in one query."""
    ids = sorted(set(instalment_ids))
    if not ids:
        return {}
    paid = paid_on_instalment()
    rows = session.execute(
        select(Instalment.id, Instalment.amount, paid.label("paid"), overdue_clause(today)).where(
            Instalment.id.in_(ids)
        )
    )
    found = {}
    for iid, amount, paid_, overdue in rows:
        paid_d = Decimal(paid_).quantize(PENNY)
        found[iid] = InstalmentMoney(paid_d, max(amount - paid_d, Decimal("0.00")), bool(overdue))
    return found


@dataclass(frozen=True)
class ContributionMoney:
    paid: Decimal
    refunded: Decimal
    outstanding: Decimal
    overdue: Decimal
    first_instalment_paid: bool


def contribution_money(
    session: Session, contribution_ids: Iterable[int], today: date
) -> dict[int, ContributionMoney]:
    """Per contribution: paid, refunded, outstanding, overdue amount, first instalment paid.

    Three grouped queries for any number of contributions (a list page, never N+1).
    """
    ids = sorted(set(contribution_ids))
    if not ids:
        return {}
    amounts = dict(
        session.execute(
            select(Contribution.id, Contribution.amount).where(Contribution.id.in_(ids))
        ).all()
    )
    paid = dict(
        session.execute(
            select(Payment.contribution_id, func.sum(Payment.amount))
            .where(Payment.contribution_id.in_(ids))
            .group_by(Payment.contribution_id)
        ).all()
    )
    refunded = dict(
        session.execute(
            select(Refund.contribution_id, func.sum(Refund.amount))
            .where(Refund.contribution_id.in_(ids))
            .group_by(Refund.contribution_id)
        ).all()
    )
    inst_paid = paid_on_instalment()
    overdue: dict[int, Decimal] = {}
    first_paid: dict[int, bool] = {}
    # What is still owed: the unpaid part of the instalments not cancelled (RULES.md v2).
    owed: dict[int, Decimal] = {}
    for cid, number, amount, paid_, is_overdue, cancelled in session.execute(
        select(
            Instalment.contribution_id,
            Instalment.number,
            Instalment.amount,
            inst_paid,
            overdue_clause(today),
            Instalment.cancelled_on,
        ).where(Instalment.contribution_id.in_(ids))
    ):
        paid_d = Decimal(paid_)
        if is_overdue:
            overdue[cid] = overdue.get(cid, Decimal("0.00")) + amount - paid_d
        owed.setdefault(cid, Decimal("0.00"))
        if cancelled is None:
            owed[cid] += max(amount - paid_d, Decimal("0.00"))
        if number == 1:
            first_paid[cid] = paid_d >= amount
    result = {}
    for cid in ids:
        p = Decimal(paid.get(cid) or 0).quantize(PENNY)
        r = Decimal(refunded.get(cid) or 0).quantize(PENNY)
        result[cid] = ContributionMoney(
            paid=p,
            refunded=r,
            # Without instalments (keyed by hand), the whole amount less what was paid.
            outstanding=(
                owed[cid].quantize(PENNY) if cid in owed else max(amounts[cid] - p, Decimal("0.00"))
            ),
            overdue=overdue.get(cid, Decimal("0.00")).quantize(PENNY),
            first_instalment_paid=first_paid.get(cid, True),
        )
    return result


def seat_states(session: Session, seat_ids: Iterable[int]) -> dict[int, str]:
    """What each seat is to the family and the operator, in one query.

    "awaiting payment" while the first instalment is not fully paid (B1j: payment before
    travel), else "active"; withdrawn (with its effective date) and lapsed seats say so.
    """
    ids = sorted(set(seat_ids))
    if not ids:
        return {}
    first = (
        select(
            Instalment.contribution_id.label("cid"),
            not_(unpaid_clause()).label("paid"),
        )
        .where(Instalment.number == 1)
        .subquery()
    )
    rows = session.execute(
        select(
            ConcessionarySeat.id, ConcessionarySeat.status, ConcessionarySeat.end_date, first.c.paid
        )
        .outerjoin(Contribution, Contribution.concessionary_seat_id == ConcessionarySeat.id)
        .outerjoin(first, first.c.cid == Contribution.id)
        .where(ConcessionarySeat.id.in_(ids))
    )
    states = {}
    for sid, status, end, paid in rows:
        if status == SeatStatus.ACTIVE:
            states[sid] = "active" if paid in (None, True, 1) else "awaiting payment"
        elif status == SeatStatus.WITHDRAWN:
            states[sid] = f"withdrawn from {end:%d %b %Y}"
        else:
            states[sid] = status.value
    return states


# ---------------------------------------------------------------- cancelling what is not owed


def cancel_unpaid(session: Session, contribution_ids: Sequence[int], on: date, reason: str) -> int:
    """Cancel the instalments of these contributions that are not fully paid (RULES.md v2:
    "instalments not yet paid are cancelled"); what was paid on them stays recorded and counts
    in any settlement. One UPDATE; returns how many instalments were cancelled."""
    if not contribution_ids:
        return 0
    result = session.execute(
        update(Instalment)
        .where(
            Instalment.contribution_id.in_(sorted(set(contribution_ids))),
            Instalment.cancelled_on.is_(None),
            unpaid_clause(),
        )
        .values(cancelled_on=on, cancel_reason=reason[:200])
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount or 0)


# ------------------------------------------------------------------- post-16 contributions


@dataclass
class Post16Report:
    raised: int = 0  # new contributions with their instalments
    kept: int = 0  # already raised for the application: nothing written (idempotent)
    cancelled: int = 0  # instalments cancelled because the decision no longer charges
    notes: list[str] = field(default_factory=list)


def raise_post16_contributions(
    session: Session,
    charged: dict[int, date],
    not_charged: Iterable[int],
    *,
    reason: str,
    today: date,
) -> Post16Report:
    """Post-16 contributions for the applications whose stored decision charges one.

    `charged` maps an application to the date (in England) its `contribution` decision was
    made; `not_charged` are applications whose new decision charges nothing (superseded), whose
    unpaid instalments are cancelled (with `reason`).

    The amount is the year's `post16_contribution` (A7), pro-rata from the start of travel
    (A9 "reduced in proportion to the number of school/college days remaining", on the
    school's own days where it has a term-date variation), paid on the family's B1j plan with
    every instalment due before the days it pays for (`rules.contribution`). Travel starts on
    the later of the decision and the first day of term. A plan the year does not offer, or one
    with more instalments than days left, becomes payment in full, with a note.

    Idempotent: an application that already has a live post-16 contribution keeps it as it is
    (re-assessment never bills twice); one whose instalments were all cancelled and never paid
    is planned again in place.
    """
    from services.years import YearError, school_calendars

    report = Post16Report()
    dropped = sorted(set(not_charged) - set(charged))
    if dropped:
        ids = list(
            session.scalars(
                select(Contribution.id).where(
                    Contribution.kind == ContributionKind.POST16,
                    Contribution.transport_application_id.in_(dropped),
                )
            )
        )
        report.cancelled += cancel_unpaid(session, ids, today, reason)
    if not charged:
        return report
    ta = TransportApplication
    apps = session.execute(
        select(ta.id, ta.reference, ta.pupil_id, ta.academic_year, ta.school_id, ta.payment_plan)
        .where(ta.id.in_(sorted(charged)))
        .order_by(ta.id)
    ).all()
    existing = {
        c.transport_application_id: c
        for c in session.scalars(
            select(Contribution).where(
                Contribution.kind == ContributionKind.POST16,
                Contribution.transport_application_id.in_(sorted(charged)),
            )
        )
    }
    live = _live_instalment_counts(session, [c.id for c in existing.values()])
    paid_any = _paid_contributions(session, [c.id for c in existing.values()])
    years = sorted({row.academic_year for row in apps})
    settings = {
        row.academic_year: row
        for row in session.scalars(
            select(ContributionSetting).where(ContributionSetting.academic_year.in_(years))
        )
    }
    calendars: dict[str, dict[int, Any]] = {}
    for year in years:
        schools = {row.school_id for row in apps if row.academic_year == year}
        try:
            calendars[year] = school_calendars(session, year, schools)
        except YearError as error:
            calendars[year] = {}
            report.notes.append(f"post-16 contributions for {year} not raised: {error}")
    for row in apps:
        old = existing.get(row.id)
        if old is not None and (live.get(old.id, 0) or old.id in paid_any):
            report.kept += 1
            continue
        setting = settings.get(row.academic_year)
        if setting is None:
            report.notes.append(
                f"{row.reference}: no contribution setting for {row.academic_year}, so no "
                "post-16 contribution was raised (A7); a supervisor sets it under Settings"
            )
            continue
        cal = calendars[row.academic_year].get(row.school_id)
        if cal is None:
            continue
        start = max(charged[row.id], cal.days[0])
        if start > cal.days[-1]:
            report.notes.append(
                f"{row.reference}: no school days left in {row.academic_year} after "
                f"{charged[row.id]:%d %b %Y}; no post-16 contribution raised"
            )
            continue
        plan, result, note = _post16_plan(setting, row.payment_plan, start, cal)
        if note:
            report.notes.append(f"{row.reference}: {note}")
        contribution = old or Contribution(
            kind=ContributionKind.POST16,
            pupil_id=row.pupil_id,
            academic_year=row.academic_year,
            transport_application_id=row.id,
        )
        if old is not None:
            session.execute(delete(Instalment).where(Instalment.contribution_id == old.id))
            session.expire(old, ["instalments"])
        contribution.annual_amount = setting.post16_contribution
        contribution.amount = result.amount
        contribution.start_date = start
        contribution.plan = plan
        contribution.instalments = [
            Instalment(number=k, due_on=i.due, amount=i.amount)
            for k, i in enumerate(result.instalments, start=1)
        ]
        session.add(contribution)
        report.raised += 1
    session.flush()
    return report


def _post16_plan(
    setting: ContributionSetting, asked: PaymentPlan, start: date, cal: Any
) -> tuple[PaymentPlan, rules.Contribution, str | None]:
    """B1j: the family's plan where the year offers it and enough days are left, else in full."""
    annual = setting.post16_contribution
    if asked in setting.offered_plans():
        try:
            result = rules.contribution(annual, start, asked.value, cal.terms, cal.closures)
            return asked, result, None
        except rules.ContributionError as error:
            note = f"plan {asked.value} changed to full ({error})"
    else:
        note = f"plan {asked.value} is not offered in {setting.academic_year}; changed to full"
    return (
        PaymentPlan.FULL,
        rules.contribution(annual, start, PaymentPlan.FULL.value, cal.terms, cal.closures),
        note,
    )


def _live_instalment_counts(session: Session, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    return dict(
        session.execute(
            select(Instalment.contribution_id, func.count())
            .where(Instalment.contribution_id.in_(ids), Instalment.cancelled_on.is_(None))
            .group_by(Instalment.contribution_id)
        ).all()
    )


def _paid_contributions(session: Session, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    return set(
        session.scalars(select(Payment.contribution_id).where(Payment.contribution_id.in_(ids)))
    )


def post16_states(session: Session, application_ids: Iterable[int]) -> dict[int, str]:
    """What each application's post-16 contribution is to the family and to Client Operations.

    A15: "travel arrangements are made only upon payment of the student contribution", so it
    is "awaiting payment" until the first instalment is paid in full, then "paid: travel
    arranged"; "ended" once its unpaid instalments were cancelled (the decision superseded,
    ended or withdrawn). Computed, never stored.
    """
    ids = sorted(set(application_ids))
    if not ids:
        return {}
    paid = paid_on_instalment()
    rows = session.execute(
        select(
            Contribution.transport_application_id,
            Instalment.number,
            Instalment.amount,
            paid,
            Instalment.cancelled_on,
        )
        .join(Instalment, Instalment.contribution_id == Contribution.id)
        .where(
            Contribution.kind == ContributionKind.POST16,
            Contribution.transport_application_id.in_(ids),
        )
        .order_by(Contribution.transport_application_id, Instalment.number)
    )
    first: dict[int, bool] = {}
    cancelled_any: dict[int, bool] = {}
    for app_id, number, amount, paid_, cancelled in rows:
        if number == 1:
            first[app_id] = Decimal(paid_) >= amount
        cancelled_any[app_id] = cancelled_any.get(app_id, False) or cancelled is not None
    states = {}
    for app_id in first:
        if cancelled_any[app_id]:
            states[app_id] = "ended: unpaid instalments cancelled"
        else:
            states[app_id] = "paid: travel arranged" if first[app_id] else "awaiting payment"
    return states


def parse_amount(raw: Any) -> Decimal:
    """Money typed by a person: pounds with at most two decimal places, more than zero."""
    try:
        amount = Decimal(str(raw).strip().lstrip("£"))
    except InvalidOperation:
        raise PaymentError(f"{raw!r} is not an amount of money.") from None
    if not amount.is_finite() or amount != amount.quantize(PENNY):
        raise PaymentError("An amount is pounds and pence, at most two decimal places.")
    if amount <= 0:
        raise PaymentError("A payment must be more than £0.00.")
    return amount


def _application_received(s: Session, contribution_id: int) -> date | None:
    """The day the application this contribution charges for was received (the seat's
    concessionary application, else the transport application it was set up for)."""
    row = s.execute(
        select(ConcessionaryApplication.received_on, TransportApplication.received_on)
        .select_from(Contribution)
        .outerjoin(ConcessionarySeat, ConcessionarySeat.id == Contribution.concessionary_seat_id)
        .outerjoin(
            ConcessionaryApplication,
            ConcessionaryApplication.id == ConcessionarySeat.application_id,
        )
        .outerjoin(
            TransportApplication,
            TransportApplication.id == Contribution.transport_application_id,
        )
        .where(Contribution.id == contribution_id)
    ).first()
    if row is None:
        return None
    return row[0] or row[1]


def check_payment(
    s: Session,
    instalment_id: int | None,
    amount: Decimal | None,
    *,
    received_on: date | None,
    today: date,
) -> Instalment:
    """The payment rule (B1j), the one every entry point calls: the screen, the services.

    A payment names its instalment, is more than £0.00 and no more than is still outstanding on
    it; it is received no later than today and not before the application whose contribution
    it pays was received (money cannot arrive for a charge that did not exist yet). The
    instalment row is locked (PostgreSQL) so two people recording the same payment at once
    cannot both succeed past the outstanding amount; the caller's transaction holds the lock.
    """
    if instalment_id is None:
        raise PaymentError("Choose the instalment the payment is for.", "instalment")
    if amount is None or amount <= 0:
        raise PaymentError("A payment must be more than £0.00.")
    with s.no_autoflush:
        stmt = select(Instalment).where(Instalment.id == instalment_id)
        if s.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        instalment = s.scalar(stmt)
        if instalment is None:
            raise PaymentError("Choose the instalment the payment is for.", "instalment")
        if instalment.cancelled_on is not None:
            raise PaymentError(
                f"Instalment {instalment.number} was cancelled on "
                f"{instalment.cancelled_on:%d/%m/%Y} ({instalment.cancel_reason}); nothing is "
                "owed on it, so nothing was recorded.",
                "instalment",
            )
        if received_on is not None:
            if received_on > today:
                raise PaymentError(
                    f"A payment cannot be received on a date in the future "
                    f"({received_on:%d/%m/%Y}).",
                    "received_on",
                )
            applied = _application_received(s, instalment.contribution_id)
            if applied is not None and received_on < applied:
                raise PaymentError(
                    f"A payment received on {received_on:%d/%m/%Y} is before the application "
                    f"it pays for was received ({applied:%d/%m/%Y}); check the date.",
                    "received_on",
                )
        paid = Decimal(
            s.scalar(
                select(func.coalesce(func.sum(Payment.amount), 0)).where(
                    Payment.instalment_id == instalment.id, Payment.id.is_not(None)
                )
            )
            or 0
        )
    outstanding = instalment.amount - paid
    if amount > outstanding:
        raise PaymentError(
            f"£{amount} is more than the £{outstanding.quantize(PENNY)} still outstanding on "
            f"instalment {instalment.number}; nothing was recorded."
        )
    return instalment


def record_payment(
    instalment_id: int,
    amount: Decimal,
    *,
    received_on: date,
    method: str,
    reference: str | None = None,
    recorded_by_id: int | None = None,
    session: Session | None = None,
    commit: bool = True,
    today: date | None = None,
) -> Payment:
    """Record money received against one instalment, under `check_payment`'s rule."""
    from services import years

    s = session or db.session
    instalment = check_payment(
        s, instalment_id, amount, received_on=received_on, today=today or years.today()
    )
    payment = Payment(
        contribution_id=instalment.contribution_id,
        instalment_id=instalment.id,
        received_on=received_on,
        amount=amount,
        method=method,
        reference=reference,
        recorded_by_id=recorded_by_id,
    )
    s.add(payment)
    if commit:
        s.commit()
    return payment
