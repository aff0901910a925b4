"""Contributions, payments, overdue instalments and "awaiting payment" seats (A9, B1j)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from admin_views.payments import InstalmentLoader
from models import ConcessionarySeat, Contribution, Instalment, Payment, db
from models.enums import PaymentPlan
from services import contributions as money
from services import seats, years
from services.letters.kinds import kinds_of
from services.letters.owed import letters_owed
from tests import factories as f
from tests.test_seats import YEAR, entitled

SUMMER = date(2024, 8, 20)


def _allocated_contribution(plan: PaymentPlan = PaymentPlan.THREE) -> tuple[int, int]:
    """One allocated seat (whole year, £456.00) -> (contribution id, seat id)."""
    f.academic_year()
    f.contribution_setting()
    school = f.school()
    route = f.route([school], seats=5)
    entitled(route)
    f.concessionary_application(f.pupil(last_name="Smith"), school, route, payment_plan=plan)
    db.session.commit()
    seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])
    c = db.session.scalar(select(Contribution))
    return c.id, c.concessionary_seat_id


def _instalments(cid: int) -> list[Instalment]:
    return list(
        db.session.scalars(
            select(Instalment).where(Instalment.contribution_id == cid).order_by(Instalment.number)
        )
    )


def test_a_seat_awaits_payment_until_the_first_instalment_is_paid_b1j(app_ctx) -> None:
    cid, seat_id = _allocated_contribution()
    first = _instalments(cid)[0]
    assert money.seat_states(db.session, [seat_id]) == {seat_id: "awaiting payment"}

    half = (first.amount / 2).quantize(Decimal("0.01"))
    money.record_payment(first.id, half, received_on=date(2024, 8, 25), method="card")
    assert money.seat_states(db.session, [seat_id]) == {seat_id: "awaiting payment"}

    money.record_payment(
        first.id, first.amount - half, received_on=date(2024, 8, 26), method="card"
    )
    assert money.seat_states(db.session, [seat_id]) == {seat_id: "active"}


def test_a_payment_more_than_outstanding_or_not_positive_is_refused_and_nothing_saved(
    app_ctx,
) -> None:
    cid, _ = _allocated_contribution()
    first = _instalments(cid)[0]
    with pytest.raises(money.PaymentError, match="more than"):
        money.record_payment(
            first.id, first.amount + Decimal("0.01"), received_on=SUMMER, method="card"
        )
    with pytest.raises(money.PaymentError, match="more than £0.00"):
        money.record_payment(first.id, Decimal("0"), received_on=SUMMER, method="card")
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    with pytest.raises(money.PaymentError):
        money.parse_amount("12.345")
    assert money.parse_amount("£12.50") == Decimal("12.50")


def test_overdue_means_due_date_passed_and_not_fully_paid_b1j(app_ctx) -> None:
    cid, _ = _allocated_contribution()
    first, second, third = _instalments(cid)
    money.record_payment(first.id, first.amount, received_on=date(2024, 9, 1), method="card")
    day_after_second = date.fromordinal(second.due_on.toordinal() + 1)

    found = money.instalment_money(db.session, [first.id, second.id, third.id], day_after_second)
    assert [found[i.id].overdue for i in (first, second, third)] == [False, True, False]
    assert found[second.id].outstanding == second.amount
    assert found[first.id].paid == first.amount

    totals = money.contribution_money(db.session, [cid], day_after_second)[cid]
    assert totals.overdue == second.amount
    assert totals.paid == first.amount
    assert totals.outstanding == second.amount + third.amount
    assert totals.first_instalment_paid

    overdue_ids = set(
        db.session.scalars(select(Instalment.id).where(money.overdue_clause(day_after_second)))
    )
    assert overdue_ids == {second.id}


def test_an_instalment_paid_in_parts_is_not_overdue_nor_reminded_b1j(app_ctx) -> None:
    """£30.09 paid as three payments of £10.03 is paid: SQLite keeps money as floating point,
    where the three add up to 30.089999..., so the comparison is made to the penny."""
    cid, _ = _allocated_contribution()
    first, second, _third = _instalments(cid)
    money.record_payment(first.id, first.amount, received_on=date(2024, 9, 1), method="card")
    second.amount = Decimal("30.09")
    db.session.commit()
    for day in (2, 3, 4):
        money.record_payment(
            second.id, Decimal("10.03"), received_on=date(2024, 9, day), method="card"
        )
    after = date.fromordinal(second.due_on.toordinal() + 1)
    overdue = set(db.session.scalars(select(Instalment.id).where(money.overdue_clause(after))))
    assert second.id not in overdue
    assert not money.instalment_money(db.session, [second.id], after)[second.id].overdue
    owed, _stale = letters_owed(db.session, YEAR, kinds_of("payment"), on=after)
    assert second.id not in {letter.record_id for letter in owed}


def test_a_first_instalment_paid_in_parts_starts_the_seat_b1j(app_ctx) -> None:
    """The first instalment paid as three payments of £10.03 against £30.09 is paid, on every
    screen that asks: the seat is active (B1j: payment before travel), the contribution's first
    instalment counts as paid, nothing is left to cancel, and the payment form no longer offers
    it. The same "not fully paid", to the penny, as the overdue rule (SQLite sums the three to
    30.089999...)."""
    cid, seat_id = _allocated_contribution()
    first = _instalments(cid)[0]
    first.amount = Decimal("30.09")
    db.session.commit()
    for day in (25, 26, 27):
        money.record_payment(
            first.id, Decimal("10.03"), received_on=date(2024, 8, day), method="card"
        )
    assert money.seat_states(db.session, [seat_id]) == {seat_id: "active"}
    assert money.contribution_money(db.session, [cid], SUMMER)[cid].first_instalment_paid
    unpaid = set(db.session.scalars(select(Instalment.id).where(money.unpaid_clause())))
    assert first.id not in unpaid and len(unpaid) == 2
    offered = InstalmentLoader("instalment", {}).get_list("Smith")
    assert {i.id for i in offered} == unpaid


def test_instalments_after_a_withdrawal_takes_effect_are_not_overdue_appendix_f(
    app_ctx, users
) -> None:
    cid, seat_id = _allocated_contribution()
    first, second, third = _instalments(cid)
    money.record_payment(first.id, first.amount, received_on=date(2024, 9, 1), method="card")
    report = seats.withdraw(
        db.session.get(ConcessionarySeat, seat_id).route_id,
        {"am": 4, "pm": 0},  # the 3 spare seats are used first (Appendix F), then this one
        year=YEAR,
        on=date(2024, 10, 1),
        reason="entitled child",
        family_told_of_appeal=True,
        decided_by_id=users["officer"],
    )
    assert report.withdrawn == 1
    late = date(2025, 8, 1)
    found = money.instalment_money(db.session, [second.id, third.id], late)
    assert not found[second.id].overdue and not found[third.id].overdue
    assert money.seat_states(db.session, [seat_id])[seat_id].startswith("withdrawn from")


def _payment_form(instalment_id: int, amount: str) -> dict[str, str]:
    return {
        "instalment": str(instalment_id),
        "received_on": "2024-09-01",
        "amount": amount,
        "method": "card",
        "reference": "",
    }


def test_recording_a_payment_on_the_screen_checks_the_outstanding_amount(client_as, app) -> None:
    with app.app_context():
        cid, _ = _allocated_contribution()
        first = _instalments(cid)[0]
        first_id, amount = first.id, first.amount
    client = client_as("assistant")

    page = client.post(
        "/admin/payment/new/",
        data=_payment_form(first_id, str(amount + 1)),
        follow_redirects=True,
    )
    assert "still outstanding" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 0

    page = client.post("/admin/payment/new/", data=_payment_form(first_id, str(amount)))
    assert page.status_code == 302
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        assert (payment.contribution_id, payment.amount) == (cid, amount)
        assert payment.recorded_by_id is not None

    found = client.get("/admin/payment/ajax/lookup/?name=instalment&query=Smith").get_json()
    assert first_id not in [row[0] for row in found]  # fully paid: no longer offered
    assert len(found) == 2


def test_contributions_list_shows_paid_and_overdue_and_filters_overdue(
    client_as, app, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        cid, _ = _allocated_contribution()
        second_due = _instalments(cid)[1].due_on
    monkeypatch.setattr(years, "today", lambda: date.fromordinal(second_due.toordinal() + 1))
    client = client_as("assistant")
    html = client.get("/admin/contribution/").get_data(as_text=True)
    assert "£456.00" in html  # amount, nothing paid, first two instalments overdue

    from admin_views.contributions import ContributionView

    view = next(v for v in app.extensions["admin"][0]._views if isinstance(v, ContributionView))
    index = next(i for i, flt in enumerate(view._filters) if flt.name == "Overdue")
    arg = view.get_filter_arg(index, view._filters[index])
    rows_yes = client.get(f"/admin/contribution/?flt0_{arg}=1").get_data(as_text=True)
    rows_no = client.get(f"/admin/contribution/?flt0_{arg}=0").get_data(as_text=True)
    assert '<td class="col-paid">' in rows_yes
    assert '<td class="col-paid">' not in rows_no


def test_seats_commands_allocate_and_lapse_with_clear_errors(app) -> None:
    with app.app_context():
        f.academic_year()
        f.contribution_setting()
        school = f.school()
        route = f.route([school], seats=5, code="CLI1")
        f.concessionary_application(f.pupil(), school, route)
        db.session.commit()
    runner = app.test_cli_runner()

    bad = runner.invoke(args=["seats", "allocate", "--year", "1999/00"])
    assert bad.exit_code == 2 and "no academic year" in bad.output
    bad = runner.invoke(args=["seats", "allocate", "--year", YEAR, "--on", "someday"])
    assert bad.exit_code == 2 and "--on" in bad.output

    ok = runner.invoke(args=["seats", "allocate", "--year", YEAR, "--on", "2024-08-20"])
    assert ok.exit_code == 0, ok.output
    assert "1 allocated" in ok.output

    early = runner.invoke(args=["seats", "lapse", "--year", YEAR, "--on", "2025-08-01"])
    assert early.exit_code == 2 and "has not finished" in early.output
    done = runner.invoke(args=["seats", "lapse", "--year", YEAR, "--on", "2025-09-01"])
    assert done.exit_code == 0 and "1 seats and 1 applications lapsed" in done.output

    spare = runner.invoke(args=["seats", "spare", "--year", YEAR, "--on", "2025-09-01"])
    assert "CLI1\tAM 5\tPM 5" in spare.output
