"""Withdrawals (Appendix F, A12a, A15) and the settlement of RULES.md version 2.

Spare seats are used before anyone loses a seat; only the shortfall is withdrawn, lowest in
the register first; unpaid instalments are cancelled; the family pays for the days it could
travel and no more (the £84.80, not £152.00, case of issue 11).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import rules
from models import (
    ConcessionarySeat,
    Contribution,
    Instalment,
    Refund,
    Withdrawal,
    db,
)
from models.enums import PaymentPlan, SeatStatus, Sessions
from services import seats, years
from services.contributions import contribution_money, record_payment
from tests import factories as f

YEAR = "2024/25"
SUMMER = date(2024, 8, 20)


@pytest.fixture
def year(app_ctx):  # type: ignore[no-untyped-def]
    f.academic_year()
    f.contribution_setting()
    db.session.commit()


def _route_with_holders(vehicle_seats: int, holders: int):  # type: ignore[no-untyped-def]
    """A route whose concessionary holders are ranked by distance (Appendix F tier 5): the
    first is furthest, so the last is lowest in the register."""
    school = f.school(easting=497000, northing=371000)
    route = f.route([school], seats=vehicle_seats)
    apps = []
    for k in range(holders):
        pupil = f.pupil(easting=497000 + 2000 * (holders - k), northing=371000)
        apps.append(
            f.concessionary_application(
                pupil, school, route, sessions=Sessions.BOTH, payment_plan=PaymentPlan.THREE
            )
        )
    db.session.commit()
    report = seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])
    assert report.allocated == holders
    return route, apps


def _withdraw(route, needed, on=date(2024, 10, 1)):  # type: ignore[no-untyped-def]
    return seats.withdraw(
        route.id,
        needed,
        year=YEAR,
        on=on,
        reason="Seats needed for entitled children",
        family_told_of_appeal=True,
        decided_by_id=None,
    )


def test_spare_seats_are_used_before_anyone_is_withdrawn_appendix_f(year) -> None:
    """1 seat spare and 3 needed: 2 families lose their seat, not 3, lowest first."""
    route, apps = _route_with_holders(vehicle_seats=4, holders=3)
    assert seats.spare_seats(db.session, YEAR, date(2024, 10, 1))[route.id]["am"] == 1

    report = _withdraw(route, {"am": 3, "pm": 0})

    assert report.routes[0].withdrawn == [apps[2].reference, apps[1].reference]
    assert db.session.scalar(select(func.count()).select_from(Withdrawal)) == 2
    assert "spare seats used first" in report.routes[0].line()


def test_spare_seats_covering_the_need_withdraw_nobody(year) -> None:
    route, _ = _route_with_holders(vehicle_seats=5, holders=3)
    report = _withdraw(route, {"am": 2, "pm": 1})
    assert report.withdrawn == 0
    assert db.session.scalar(select(func.count()).select_from(Withdrawal)) == 0
    assert set(db.session.scalars(select(ConcessionarySeat.status))) == {SeatStatus.ACTIVE}


def test_refund_is_what_was_paid_less_the_days_used_rules_v2(year) -> None:
    """£456.00 on three instalments, the first £152.00 paid; the seat is withdrawn after 28
    days of travel: £84.80 back (version 1 refunded £152.00) and the unpaid two cancelled."""
    route, apps = _route_with_holders(vehicle_seats=1, holders=1)
    contribution = db.session.scalar(select(Contribution))
    first = contribution.instalments[0]
    assert first.amount == Decimal("152.00")
    record_payment(first.id, first.amount, received_on=date(2024, 9, 2), method="card")
    cal = years.calendar_for(db.session, YEAR)
    params = years.policy_for(YEAR)
    # Notice given so that the seat's 29th day of travel is the effective date.
    effective = cal.days[28]
    notice = rules.add_working_days(effective, -params.concessionary_withdrawal_notice_days)

    _withdraw(route, {"am": 1, "pm": 0}, on=notice)

    w = db.session.scalar(select(Withdrawal))
    assert w.effective_on == effective
    assert w.refund_amount == Decimal("84.80")
    refund = db.session.scalar(select(Refund))
    assert refund.amount == Decimal("84.80") and refund.due_on == effective
    rows = db.session.scalars(
        select(Instalment)
        .where(Instalment.contribution_id == contribution.id)
        .order_by(Instalment.number)
    ).all()
    assert [i.cancelled_on for i in rows] == [None, notice, notice]
    money = contribution_money(db.session, [contribution.id], date(2025, 7, 1))[contribution.id]
    assert money.outstanding == 0 and money.overdue == 0
    assert (money.paid, money.refunded) == (Decimal("152.00"), Decimal("84.80"))


def test_days_used_beyond_what_was_paid_fall_due_once_on_the_effective_date(year) -> None:
    """Nothing paid, 28 days travelled: the unpaid instalments are cancelled and one final
    instalment of 28 x £2.40 = £67.20 is due on the effective date (RULES.md v2)."""
    route, _ = _route_with_holders(vehicle_seats=1, holders=1)
    contribution = db.session.scalar(select(Contribution))
    cal = years.calendar_for(db.session, YEAR)
    effective = cal.days[28]
    notice = rules.add_working_days(
        effective, -years.policy_for(YEAR).concessionary_withdrawal_notice_days
    )

    _withdraw(route, {"am": 1, "pm": 0}, on=notice)

    live = db.session.scalars(
        select(Instalment).where(
            Instalment.contribution_id == contribution.id, Instalment.cancelled_on.is_(None)
        )
    ).all()
    assert [(i.number, i.due_on, i.amount) for i in live] == [(4, effective, Decimal("67.20"))]
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0
    money = contribution_money(db.session, [contribution.id], effective)[contribution.id]
    assert money.outstanding == Decimal("67.20") and money.overdue == 0


def test_cancelled_instalments_are_never_reminded_b1j(year) -> None:
    from models.enums import LetterKind
    from services.letters.owed import called_for

    route, _ = _route_with_holders(vehicle_seats=1, holders=1)
    contribution = db.session.scalar(select(Contribution))
    later = [i.id for i in contribution.instalments[1:]]
    _withdraw(route, {"am": 1, "pm": 0}, on=date(2024, 10, 1))
    reminders = called_for(db.session, YEAR, [LetterKind.PAYMENT_REMINDER], date(2025, 8, 1))
    dues = {d.subject_key for d in reminders}
    assert not dues & {f"instalment:{i}" for i in later}


def test_a9_a23_a_seat_to_a_school_with_its_own_dates_is_priced_on_its_days(year) -> None:
    """A9 "school/college days remaining": the school starts on 9 September and ends on
    11 July, so a seat allocated on 13 January pays for its share of the school's days."""
    from models import TermDateVariation
    from models.enums import VariationStatus

    own, council = f.school(), f.school()
    db.session.add(
        TermDateVariation(
            school_id=own.id,
            academic_year=YEAR,
            notice_on=date(2023, 6, 1),
            first_day=date(2024, 9, 9),
            last_day=date(2025, 7, 11),
            details="own year",
            status=VariationStatus.ACCEPTED,
        )
    )
    route = f.route([own, council], seats=2)
    apps = {
        school.id: f.concessionary_application(
            f.pupil(), school, route, payment_plan=PaymentPlan.FULL
        )
        for school in (own, council)
    }
    db.session.commit()
    seats.allocate(YEAR, on=date(2025, 1, 13), route_ids=[route.id])
    amounts = {
        c.concessionary_seat.application_id: c.amount
        for c in db.session.scalars(select(Contribution))
    }
    own_cal = years.calendar_for(db.session, YEAR, own.id)
    council_cal = years.calendar_for(db.session, YEAR)
    expect_own = rules.contribution(
        Decimal("456.00"), date(2025, 1, 13), "full", own_cal.terms, own_cal.closures
    ).amount
    expect_council = rules.contribution(
        Decimal("456.00"), date(2025, 1, 13), "full", council_cal.terms, council_cal.closures
    ).amount
    assert amounts == {apps[own.id].id: expect_own, apps[council.id].id: expect_council}
    assert expect_own != expect_council


def test_a15_school_terms_join_half_terms_across_half_term_breaks(year) -> None:
    from services.seats.withdrawal import notice_effective, school_terms

    cal = years.calendar_for(db.session, YEAR)
    assert school_terms(cal) == [
        (date(2024, 9, 2), date(2024, 12, 20)),
        (date(2025, 1, 6), date(2025, 4, 4)),
        (date(2025, 4, 22), date(2025, 7, 22)),
    ]
    params = years.policy_for(YEAR)
    assert notice_effective("A15", date(2024, 12, 23), params, cal) == date(2025, 4, 22)
    # Notice in the summer term: too few terms left, transport runs to the end of the year.
    assert notice_effective("A15", date(2025, 5, 1), params, cal) == date(2025, 7, 23)
    assert notice_effective("A15", date(2025, 9, 10), params, cal) == date(2025, 9, 10)


def test_no_payment_is_taken_on_a_cancelled_instalment(year) -> None:
    from services.contributions import PaymentError

    route, _ = _route_with_holders(vehicle_seats=1, holders=1)
    contribution = db.session.scalar(select(Contribution))
    last = contribution.instalments[-1]
    _withdraw(route, {"am": 1, "pm": 0}, on=date(2024, 10, 1))
    with pytest.raises(PaymentError, match="cancelled"):
        record_payment(
            last.id,
            last.amount,
            received_on=date(2024, 10, 2),
            method="card",
            today=date(2024, 10, 3),
        )
