"""What a family pays: the pro-rata annual contribution, its instalments, and refunds.

Used for concessionary seats (A9, Appendix F: "calculated on a per day basis") and post-16
contributions (A7c, A8e). Money is kept in whole pennies internally so every rounding is exact:
the amount is rounded half-up once, instalments are rounded down and the leftover pennies go on
the first, so the instalments always add up to the amount.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rules.calendar import operational_days
from rules.errors import RulesError
from rules.vocab import Plan

__all__ = [
    "Contribution",
    "ContributionError",
    "Instalment",
    "Settlement",
    "contribution",
    "refund",
]

_INSTALMENTS = {Plan.FULL: 1, Plan.THREE: 3, Plan.SIX: 6}  # B1j
_MAX_EXPONENT = 30  # a sanity bound: no contribution is 10**30 pounds


class ContributionError(RulesError):
    """Nothing to charge for, or a plan that cannot be honoured."""


@dataclass(frozen=True, slots=True)
class Instalment:
    due: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Contribution:
    operational_days: int
    remaining_days: int
    amount: Decimal
    instalments: list[Instalment]


def contribution(
    annual_amount: Decimal,
    start_date: date,
    plan: str,
    terms: Iterable[tuple[date, date]],
    closures: Iterable[date] = (),
) -> Contribution:
    """The contribution from `start_date`, and when each instalment is due.

    A9: the annual amount "is reduced in proportion to the number of school/college days
    remaining". B1j: payment comes before travel, so instalment k of n pays in advance for an
    equal share of the remaining days D and is due on D[k * R // n].
    """
    pennies = _pennies(annual_amount, "annual_amount")
    try:
        count = _INSTALMENTS[Plan(plan)]
    except ValueError:
        raise ContributionError("plan", f"unknown value {plan!r} (expected full, 3, 6)") from None
    days = _days(terms, closures)
    remaining = days[bisect_left(days, start_date) :]
    if not remaining:
        raise ContributionError(
            "start_date", f"{start_date} is after the last operational day {days[-1]}"
        )
    if count > len(remaining):
        raise ContributionError(
            "plan",
            f"{count} instalments but only {len(remaining)} operational days left from "
            f"{start_date}",
        )
    amount = _pro_rata(pennies, len(remaining), len(days))
    share, leftover = divmod(amount, count)
    instalments = [
        Instalment(
            remaining[k * len(remaining) // count], _money(share + (leftover if k == 0 else 0))
        )
        for k in range(count)
    ]
    return Contribution(len(days), len(remaining), _money(amount), instalments)


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a withdrawn seat leaves between the family and the council (RULES.md v2)."""

    days_used: int  # operational days from the start of travel to the day before the effective
    cost_of_days_used: Decimal
    refund: Decimal  # paid minus the cost of the days used, never below zero
    still_owed: Decimal  # one final instalment due on the effective date, 0.00 if none


def refund(
    annual_amount: Decimal,
    paid: Decimal,
    start_date: date,
    effective_date: date,
    terms: Iterable[tuple[date, date]],
    closures: Iterable[date] = (),
) -> Settlement:
    """Project rule, version 2: the family pays for the days it could travel and no more.

    The days used are the operational days from `start_date` (the seat's first day) to the day
    before `effective_date`, costed on the same per-day basis as the contribution
    (`annual_amount / operational days`, A9, Appendix F "calculated on a per day basis"),
    rounded half-up. The refund is what was paid minus that cost, never below zero; if less was
    paid than the days used cost, the difference is still owed (one final instalment due on the
    effective date; the unpaid instalments are cancelled by the caller). Version 1 refunded the
    days after the effective date whatever had been paid, which repaid a family on instalments
    for days it never paid for (£152.00 where £84.80 is right).
    """
    pennies = _pennies(annual_amount, "annual_amount")
    paid_pennies = _pennies(paid, "paid")
    if effective_date < start_date:
        raise ContributionError(
            "effective_date", f"{effective_date} is before the seat started on {start_date}"
        )
    days = _days(terms, closures)
    used = bisect_left(days, effective_date) - bisect_left(days, start_date)
    cost = _pro_rata(pennies, used, len(days))
    return Settlement(
        days_used=used,
        cost_of_days_used=_money(cost),
        refund=_money(max(paid_pennies - cost, 0)),
        still_owed=_money(max(cost - paid_pennies, 0)),
    )


def _days(terms: Iterable[tuple[date, date]], closures: Iterable[date]) -> list[date]:
    """The year's operational days; a year without any has no per-day basis at all."""
    days = operational_days(terms, closures)
    if not days:
        raise ContributionError("calendar.terms", "the calendar has no operational days")
    return days


def _pro_rata(pennies: int, part: int, whole: int) -> int:
    """pennies * part / whole, rounded half-up to the penny, exactly."""
    quotient, remainder = divmod(pennies * part, whole)
    return quotient + (2 * remainder >= whole)


def _pennies(amount: Decimal, field: str) -> int:
    """A non-negative Decimal as whole pennies, exactly (no context rounding)."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
        raise ContributionError(field, f"expected a Decimal amount >= 0, got {amount!r}")
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    if exponent > _MAX_EXPONENT:
        raise ContributionError(field, f"{amount} is too large")
    coefficient = int("".join(map(str, digits)))
    shift = exponent + 2
    if shift >= 0:
        scale: int = 10**shift
        return coefficient * scale
    divisor: int = 10**-shift
    pennies, fraction = divmod(coefficient, divisor)
    if fraction:
        raise ContributionError(field, f"{amount} is not a whole number of pennies")
    return pennies


def _money(pennies: int) -> Decimal:
    return Decimal(f"{pennies // 100}.{pennies % 100:02d}")
