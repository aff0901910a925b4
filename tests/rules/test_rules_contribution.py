"""A9, B1j, Appendix F: the pro-rata contribution, instalments, due dates and refunds."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from rules import ContributionError, RulesError, contribution, operational_days, refund

# Two school weeks, Monday 2 to Friday 13 September 2024: ten operational days.
TERMS = [(date(2024, 9, 2), date(2024, 9, 13))]
DAYS = [date(2024, 9, 2) + timedelta(days=n) for n in (0, 1, 2, 3, 4, 7, 8, 9, 10, 11)]


def money(text: str) -> Decimal:
    return Decimal(text)


def test_operational_days_are_term_weekdays_less_closures() -> None:
    assert operational_days(TERMS, []) == DAYS
    assert operational_days(TERMS, [date(2024, 9, 4), date(2024, 9, 7)]) == [
        d for d in DAYS if d != date(2024, 9, 4)
    ]


def test_operational_days_overlapping_terms_count_once() -> None:
    assert operational_days([*TERMS, (date(2024, 9, 9), date(2024, 9, 20))], []) == [
        *DAYS,
        *[date(2024, 9, 16) + timedelta(days=n) for n in range(5)],
    ]


def test_B1j_full_year_in_full() -> None:
    result = contribution(money("456.00"), date(2024, 8, 1), "full", TERMS)
    assert (result.operational_days, result.remaining_days) == (10, 10)
    assert result.amount == money("456.00")
    assert [(i.due, i.amount) for i in result.instalments] == [(DAYS[0], money("456.00"))]


def test_A9_reduced_in_proportion_to_days_remaining() -> None:
    result = contribution(money("456.00"), date(2024, 9, 9), "full", TERMS)
    assert result.remaining_days == 5
    assert result.amount == money("228.00")


def test_A9_amount_rounded_half_up_to_the_penny() -> None:
    eight_days = [(date(2024, 9, 2), date(2024, 9, 11))]
    result = contribution(money("1.00"), date(2024, 9, 11), "full", eight_days)
    assert (result.operational_days, result.remaining_days) == (8, 1)
    assert result.amount == money("0.13")  # 12.5p: half-up, not to even


def test_A9_amount_rounded_down_below_half() -> None:
    result = contribution(
        money("1.00"), date(2024, 9, 13), "full", [(date(2024, 9, 2), date(2024, 9, 13))], []
    )
    assert result.amount == money("0.10")
    result = contribution(money("0.04"), date(2024, 9, 13), "full", TERMS)
    assert result.amount == money("0.00")  # 0.4p rounds down


def test_B1j_three_instalments_leftover_pennies_on_the_first() -> None:
    result = contribution(money("100.00"), date(2024, 9, 2), "3", TERMS)
    assert [i.amount for i in result.instalments] == [
        money("33.34"),
        money("33.33"),
        money("33.33"),
    ]
    assert [i.due for i in result.instalments] == [DAYS[0], DAYS[3], DAYS[6]]


def test_B1j_instalments_rounded_down_never_up() -> None:
    result = contribution(money("0.05"), date(2024, 9, 2), "3", TERMS)
    assert [i.amount for i in result.instalments] == [money("0.03"), money("0.01"), money("0.01")]


def test_B1j_six_instalments_due_dates_share_the_days_left() -> None:
    result = contribution(money("60.00"), date(2024, 9, 2), "6", TERMS)
    assert [i.due for i in result.instalments] == [DAYS[k * 10 // 6] for k in range(6)]
    assert [i.due for i in result.instalments] == [DAYS[n] for n in (0, 1, 3, 5, 6, 8)]
    assert all(i.amount == money("10.00") for i in result.instalments)


def test_B1j_first_instalment_due_on_first_day_of_travel_after_a_closure() -> None:
    result = contribution(money("90.00"), date(2024, 9, 9), "3", TERMS, [date(2024, 9, 9)])
    assert result.remaining_days == 4
    assert result.instalments[0].due == date(2024, 9, 10)
    assert result.amount == money("40.00")


def test_B1j_as_many_instalments_as_days_left() -> None:
    result = contribution(money("10.00"), date(2024, 9, 6), "6", TERMS)
    assert result.remaining_days == 6
    assert [i.due for i in result.instalments] == DAYS[4:]


@pytest.mark.parametrize(
    ("amount", "start", "plan", "terms", "field"),
    [
        pytest.param(
            "10.00",
            date(2024, 9, 14),
            "full",
            TERMS,
            "start_date",
            id="A9-start-after-last-operational-day",
        ),
        pytest.param(
            "10.00", date(2024, 9, 9), "6", TERMS, "plan", id="B1j-more-instalments-than-days-left"
        ),
        pytest.param("10.00", date(2024, 9, 2), "4", TERMS, "plan", id="B1j-unknown-plan"),
        pytest.param(
            "10.00", date(2024, 9, 2), "full", [], "calendar.terms", id="no-operational-days"
        ),
        pytest.param(
            "-1.00", date(2024, 9, 2), "full", TERMS, "annual_amount", id="negative-amount"
        ),
        pytest.param(
            "1.005", date(2024, 9, 2), "full", TERMS, "annual_amount", id="part-penny-amount"
        ),
        pytest.param(
            "10.00",
            date(2024, 9, 2),
            "full",
            [(date(2024, 9, 13), date(2024, 9, 2))],
            "calendar.terms[0]",
            id="term-ends-before-it-starts",
        ),
    ],
)
def test_contribution_rejections(amount, start, plan, terms, field) -> None:
    with pytest.raises(RulesError) as error:
        contribution(money(amount), start, plan, terms)
    assert error.value.field == field
    assert isinstance(error.value, ValueError)


def test_contribution_error_is_a_rules_error() -> None:
    assert issubclass(ContributionError, RulesError)


def test_project_rule_v2_refund_is_paid_minus_the_days_used() -> None:
    """RULES.md v2: the family pays for the days it could travel (same per-day basis)."""
    got = refund(money("456.00"), money("456.00"), date(2024, 9, 2), date(2024, 9, 9), TERMS)
    assert (got.days_used, got.cost_of_days_used) == (5, money("228.00"))
    assert (got.refund, got.still_owed) == (money("228.00"), money("0.00"))


def test_project_rule_v2_refund_on_instalments_repays_only_what_was_paid_for() -> None:
    """The issue-11 case: 2024/25 (190 days), £456.00 on plan 3, the first £152.00 paid, the
    seat withdrawn after 28 days of travel: £84.80 back (v1 refunded £152.00, days never paid)."""
    from demo.calendar_2024_25 import CLOSURES
    from demo.calendar_2024_25 import TERMS as YEAR_TERMS

    terms = [(s, e) for _, s, e in YEAR_TERMS]
    closures = [d for d, _ in CLOSURES]
    days = operational_days(terms, closures)
    assert len(days) == 190
    got = refund(money("456.00"), money("152.00"), days[0], days[28], terms, closures)
    assert got.days_used == 28 and got.cost_of_days_used == money("67.20")
    assert got.refund == money("84.80") and got.still_owed == money("0.00")


def test_project_rule_v2_underpaid_days_fall_due_as_one_final_instalment() -> None:
    got = refund(money("456.00"), money("100.00"), date(2024, 9, 2), date(2024, 9, 9), TERMS)
    assert got.refund == money("0.00") and got.still_owed == money("128.00")
    nothing = refund(money("456.00"), money("0.00"), date(2024, 9, 2), date(2024, 9, 2), TERMS)
    assert (nothing.days_used, nothing.refund, nothing.still_owed) == (0, 0, 0)


def test_project_rule_v2_days_used_start_at_the_seat_start_not_the_year_start() -> None:
    got = refund(money("10.00"), money("10.00"), date(2024, 9, 9), date(2024, 9, 13), TERMS)
    assert got.days_used == 4 and got.refund == money("6.00")


def test_project_rule_v2_effective_before_the_start_is_refused() -> None:
    with pytest.raises(ContributionError) as error:
        refund(money("10.00"), money("10.00"), date(2024, 9, 9), date(2024, 9, 6), TERMS)
    assert error.value.field == "effective_date"
