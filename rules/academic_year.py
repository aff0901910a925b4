"""Academic years, year groups and stages (RULES.md "Stages and ages").

A decision is made for an academic year, and every age test in the policy is taken on a fixed
date of that year (A7b: "on 1 September in the year the course starts"), so a child's year
group and ages come from the year label, never from today's date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from rules.errors import RulesError
from rules.vocab import Stage

# The English school system, not council policy: a child joins Reception in the September
# after turning 4, primary ends with Year 6, compulsory secondary with Year 11.
RECEPTION_AGE = 4
LAST_PRIMARY_YEAR = 6
LAST_SECONDARY_YEAR = 11

_LABEL = re.compile(r"(\d{4})/(\d{2})")
# Far enough either way for history and planning, near enough that every date the rules
# derive (up to seven years on, for a Reception pupil's Year 6) stays a valid `date`.
_FIRST_YEAR, _LAST_YEAR = 1900, 9980


@dataclass(frozen=True, slots=True)
class AcademicYear:
    """One academic year, with the dates the rules measure ages on."""

    label: str
    start_year: int
    start: date  # 1 September: post-16 age test (A7b, A15, A8e)
    end: date  # 31 August
    cohort_date: date  # 31 August before the year starts: fixes the year group


def label_for(start_year: int) -> str:
    """``2024`` -> ``"2024/25"``."""
    return f"{start_year:04d}/{(start_year + 1) % 100:02d}"


@lru_cache(maxsize=256)
def parse_academic_year(label: str) -> AcademicYear:
    """Parse ``"2024/25"`` strictly: the second part must be the year after the first."""
    match = _LABEL.fullmatch(label) if isinstance(label, str) else None
    if match is None:
        raise RulesError("academic_year", f"expected a year like '2024/25', got {label!r}")
    first = int(match.group(1))
    if int(match.group(2)) != (first + 1) % 100:
        raise RulesError(
            "academic_year", f"{label!r} is not an academic year (expected '{label_for(first)}')"
        )
    if not _FIRST_YEAR <= first <= _LAST_YEAR:
        raise RulesError("academic_year", f"{label!r} is out of range")
    return AcademicYear(
        label=label,
        start_year=first,
        start=date(first, 9, 1),
        end=date(first + 1, 8, 31),
        cohort_date=date(first, 8, 31),
    )


def academic_year_of(day: date) -> AcademicYear:
    """The academic year a date falls in (September to August)."""
    return parse_academic_year(label_for(day.year if day.month >= 9 else day.year - 1))


def age_on(date_of_birth: date, on: date) -> int:
    """Completed years on a date; a 29 February birthday counts from 1 March in other years."""
    return (
        on.year
        - date_of_birth.year
        - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    )


def year_group(date_of_birth: date, year: AcademicYear) -> int:
    """RULES.md: age on 31 August before the year starts, minus 4 (0 = Reception)."""
    return age_on(date_of_birth, year.cohort_date) - RECEPTION_AGE


def stage_of(group: int) -> Stage:
    if group < 0:
        return Stage.BELOW_SCHOOL_AGE
    if group <= LAST_PRIMARY_YEAR:
        return Stage.PRIMARY
    if group <= LAST_SECONDARY_YEAR:
        return Stage.SECONDARY
    return Stage.POST16


def end_of_stage(year: AcademicYear, group: int) -> date:
    """A15: the last day of the academic year in which the pupil is in Year 6 or Year 11."""
    last = LAST_PRIMARY_YEAR if group <= LAST_PRIMARY_YEAR else LAST_SECONDARY_YEAR
    return date(year.start_year + max(last - group, 0) + 1, 8, 31)


def describe_year_group(group: int) -> str:
    return "Reception" if group == 0 else f"Year {group}"
