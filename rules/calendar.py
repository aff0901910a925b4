"""Operational days and working days.

Two different day counts, on purpose: a contribution is shared over the days transport runs
(A9, Appendix H: term-time weekdays less closures), while every deadline the policy gives in
"working days" (Appendix C, B2, notice periods) skips weekends and England's bank holidays.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from rules.academic_year import academic_year_of
from rules.errors import RulesError
from rules.parameters import PolicyParameters, parameters_for

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5


def operational_days(
    terms: Iterable[tuple[date, date]], closures: Iterable[date] = ()
) -> list[date]:
    """Monday-Friday dates inside a term (both ends included), less closures, in date order."""
    closed = set(closures)
    days: set[date] = set()
    for index, (first, last) in enumerate(terms):
        if first > last:
            raise RulesError(f"calendar.terms[{index}]", f"starts {first} after it ends {last}")
        day = first
        while day <= last:
            if day.weekday() < _SATURDAY and day not in closed:
                days.add(day)
            day += _ONE_DAY
    return sorted(days)


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> dict[date, str]:
    import holidays  # only deadlines need it; keeps `python -m rules` quick to start

    return dict(holidays.country_holidays("GB", subdiv="ENG", years=year).items())


def england_bank_holidays(year_start: date, year_end: date) -> dict[date, str]:
    """England's bank holidays between two dates inclusive, for the panel to offer as closures."""
    found: dict[date, str] = {}
    for year in range(year_start.year, year_end.year + 1):
        for day, name in _bank_holidays(year).items():
            if year_start <= day <= year_end:
                found[day] = name
    return dict(sorted(found.items()))


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a bank holiday in England."""
    return day.weekday() < _SATURDAY and day not in _bank_holidays(day.year)


def add_working_days(start: date, n: int) -> date:
    """The date `n` working days after `start` (before it when `n` is negative).

    `start` itself is not counted, so a deadline "within 20 working days" of a decision
    falls on ``add_working_days(decision, 20)``; ``n == 0`` returns `start` unchanged.
    """
    step = _ONE_DAY if n >= 0 else -_ONE_DAY
    day = start
    for _ in range(abs(n)):
        day += step
        while not is_working_day(day):
            day += step
    return day


def _params_for(day: date, params: PolicyParameters | None) -> PolicyParameters:
    return params if params is not None else parameters_for(academic_year_of(day).label)


@dataclass(frozen=True, slots=True)
class AppealDeadlines:
    """Appendix C, counted from the decision being appealed."""

    request_review_by: date  # 20 working days to ask for a review of a refusal


def appeal_deadlines(
    decision_date: date, params: PolicyParameters | None = None
) -> AppealDeadlines:
    """Appendix C: a refusal may be appealed within 20 working days.

    The same period applies to a stage-one refusal (the "further and final appeal within 20
    working days"), so pass the stage-one decision date for the stage-two deadline.
    """
    p = _params_for(decision_date, params)
    return AppealDeadlines(add_working_days(decision_date, p.review_request_working_days))


def stage_one_decision_by(received: date, params: PolicyParameters | None = None) -> date:
    """Appendix C: a stage-one review is normally decided within 20 working days."""
    p = _params_for(received, params)
    return add_working_days(received, p.stage_one_decision_working_days)


def stage_two_panel_window(
    received: date, params: PolicyParameters | None = None
) -> tuple[date, date]:
    """Appendix C: the panel is convened within 20-40 working days of the stage-two appeal."""
    p = _params_for(received, params)
    return (
        add_working_days(received, p.stage_two_panel_min_working_days),
        add_working_days(received, p.stage_two_panel_max_working_days),
    )


def panel_outcome_by(panel_date: date, params: PolicyParameters | None = None) -> date:
    """Appendix C: the panel's decision is notified within 5 working days of the meeting."""
    p = _params_for(panel_date, params)
    return add_working_days(panel_date, p.panel_outcome_working_days)


@dataclass(frozen=True, slots=True)
class DecisionTarget:
    due: date
    busy_period: bool  # B2a: July-September, the guideline is dis-applied if it cannot be met


def decision_target(received: date, params: PolicyParameters | None = None) -> DecisionTarget:
    """B2a: decide a valid application within 5 working days, except at busy periods.

    The date is always given (B2a still asks for quick processing at busy periods); the flag
    tells the panel not to treat missing it as a breach.
    """
    p = _params_for(received, params)
    busy = p.busy_period_first_month <= received.month <= p.busy_period_last_month
    return DecisionTarget(add_working_days(received, p.decision_target_working_days), busy)
