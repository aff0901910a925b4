"""Contributions, instalments and the money that moved: payments, overdue, refunds.

B1j: payment comes before travel, so a concessionary seat whose first instalment is not fully
paid is "awaiting payment" rather than active. That state is computed from the payments, never
stored, so recording or correcting a payment can never leave it stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from models import (
    ConcessionaryApplication,
    ConcessionarySeat,
    Contribution,
    Instalment,
    Payment,
    Refund,
    TransportApplication,
    db,
)
from models.enums import SeatStatus
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
        Instalment.due_on < today,
        Instalment.amount > paid_on_instalment(),
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
    for cid, number, amount, paid_, is_overdue in session.execute(
        select(
            Instalment.contribution_id,
            Instalment.number,
            Instalment.amount,
            inst_paid,
            overdue_clause(today),
        ).where(Instalment.contribution_id.in_(ids))
    ):
        paid_d = Decimal(paid_)
        if is_overdue:
            overdue[cid] = overdue.get(cid, Decimal("0.00")) + amount - paid_d
        if number == 1:
            first_paid[cid] = paid_d >= amount
    result = {}
    for cid in ids:
        p = Decimal(paid.get(cid) or 0).quantize(PENNY)
        r = Decimal(refunded.get(cid) or 0).quantize(PENNY)
        result[cid] = ContributionMoney(
            paid=p,
            refunded=r,
            outstanding=max(amounts[cid] - p, Decimal("0.00")),
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
            (Instalment.amount <= paid_on_instalment()).label("paid"),
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
