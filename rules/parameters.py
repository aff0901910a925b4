"""Dated policy parameters: every figure the policy sets, per academic year.

The council may change a distance, an age or a notice period from one year to the next, and a
decision must always be remade with the figures in force for its own year (DOMAIN.md: changing
next year's figure never rewrites a past decision). So no rule carries a figure of its own: it
reads one from a `PolicyParameters`, which the panel stores as one row per academic year (field
names map 1:1 to columns) and which otherwise comes from the dated defaults below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from rules.academic_year import parse_academic_year
from rules.errors import RulesError
from rules.vocab import Stage


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyParameters:
    """The figures in force for one academic year (clause numbers are the policy's)."""

    academic_year: str
    # A2, A3, Appendix D: eligible when the route is more than this.
    primary_walking_distance_m: int  # 2 miles, Reception to Year 6
    secondary_walking_distance_m: int  # 3 miles, Years 7-11 and post-16 (A7a)
    # A5: low income, between 2 and 6 miles; A6: religion or belief, between 2 and 15 miles.
    low_income_upper_m: int
    religion_or_belief_upper_m: int
    low_income_rank_limit: int  # A5a: one of the nearest three suitable schools
    # A7b, A15: at least 16 and under 19 on 1 September; A8a: learners with SEND to 25.
    post16_min_age: int
    post16_max_age: int
    send_max_age: int
    full_time_min_hours: Decimal  # A7b: 12 1/2 hours of taught study
    # B4, Appendix D: how far a pupil may be expected to walk to a pick-up point.
    pickup_walk_primary_m: int
    pickup_walk_secondary_m: int
    pickup_walk_post16_m: int
    # Notice periods: Appendix F "short notice" (project rule: working days), A15 "one
    # term's notice", A12a "reasonable notice" (project rule: working days).
    concessionary_withdrawal_notice_days: int
    error_withdrawal_notice_terms: int
    unsuitable_route_notice_days: int
    operational_days_expected: int  # Appendix H, glossary "School year"
    # Appendix C: working days to ask for a review (either stage), for the stage-one
    # decision, for convening the stage-two panel, and for the panel's written outcome.
    review_request_working_days: int
    stage_one_decision_working_days: int
    stage_two_panel_min_working_days: int
    stage_two_panel_max_working_days: int
    panel_outcome_working_days: int
    # B2: decision on a valid application within 5 working days, dis-applied July-September.
    decision_target_working_days: int
    busy_period_first_month: int
    busy_period_last_month: int

    def __post_init__(self) -> None:
        parse_academic_year(self.academic_year)
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type == "int" and (type(value) is not int or value < 0):
                raise RulesError(field.name, f"expected a whole number >= 0, got {value!r}")
        hours = self.full_time_min_hours
        if type(hours) is not Decimal or not hours.is_finite() or hours < 0:
            raise RulesError("full_time_min_hours", f"expected a Decimal >= 0, got {hours!r}")
        for lower, upper in (
            ("primary_walking_distance_m", "secondary_walking_distance_m"),
            ("primary_walking_distance_m", "low_income_upper_m"),
            ("primary_walking_distance_m", "religion_or_belief_upper_m"),
            ("post16_min_age", "post16_max_age"),
            ("post16_max_age", "send_max_age"),
            ("stage_two_panel_min_working_days", "stage_two_panel_max_working_days"),
            ("busy_period_first_month", "busy_period_last_month"),
        ):
            if getattr(self, lower) > getattr(self, upper):
                raise RulesError(upper, f"must not be less than {lower}")
        for name in ("busy_period_first_month", "busy_period_last_month"):
            if not 1 <= getattr(self, name) <= 12:
                raise RulesError(name, "expected a month number 1-12")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The column names the panel stores, in declaration order."""
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PolicyParameters:
        """Build from a database row or form: every field, no others (hours may be a string)."""
        names = cls.field_names()
        for key in values:
            if key not in names:
                raise RulesError(key, "unknown field")
        missing = [name for name in names if name not in values]
        if missing:
            raise RulesError(missing[0], "missing required field")
        given = dict(values)
        hours = given["full_time_min_hours"]
        if isinstance(hours, str | int) and not isinstance(hours, bool):
            try:
                given["full_time_min_hours"] = Decimal(hours)
            except ArithmeticError as error:
                raise RulesError("full_time_min_hours", f"not a number: {hours!r}") from error
        return cls(**given)

    def walking_distance_m(self, stage: Stage) -> int:
        """A2/A3: 2 miles at the primary stage, 3 miles at the secondary stage and post-16."""
        if stage is Stage.PRIMARY:
            return self.primary_walking_distance_m
        return self.secondary_walking_distance_m

    def pickup_walk_m(self, stage: Stage) -> int:
        """B4: 1 mile primary, 2 miles secondary, 3 miles post-16 to a pick-up point."""
        if stage is Stage.PRIMARY:
            return self.pickup_walk_primary_m
        if stage is Stage.SECONDARY:
            return self.pickup_walk_secondary_m
        return self.pickup_walk_post16_m


# The built-in dated values, from the School and College Transport Policy 2024/25. A year with
# no entry of its own uses the latest entry dated at or before it.
DATED_DEFAULTS: Mapping[str, PolicyParameters] = MappingProxyType(
    {
        "2024/25": PolicyParameters(
            academic_year="2024/25",
            primary_walking_distance_m=3218,
            secondary_walking_distance_m=4827,
            low_income_upper_m=9656,
            religion_or_belief_upper_m=24140,
            low_income_rank_limit=3,
            post16_min_age=16,
            post16_max_age=19,
            send_max_age=25,
            full_time_min_hours=Decimal("12.5"),
            pickup_walk_primary_m=1609,
            pickup_walk_secondary_m=3218,
            pickup_walk_post16_m=4827,
            concessionary_withdrawal_notice_days=5,
            error_withdrawal_notice_terms=1,
            unsuitable_route_notice_days=20,
            operational_days_expected=190,
            review_request_working_days=20,
            stage_one_decision_working_days=20,
            stage_two_panel_min_working_days=20,
            stage_two_panel_max_working_days=40,
            panel_outcome_working_days=5,
            decision_target_working_days=5,
            busy_period_first_month=7,
            busy_period_last_month=9,
        ),
    }
)


def parameters_for(
    academic_year: str, overrides: Mapping[str, PolicyParameters] | None = None
) -> PolicyParameters:
    """The figures in force for `academic_year`, re-labelled to that year.

    `overrides` (the panel's stored rows, keyed by academic year) take precedence over the
    built-in defaults for the years they name. A year before every dated entry is refused
    rather than guessed.
    """
    if not overrides:
        return _default_parameters_for(academic_year)
    wanted = parse_academic_year(academic_year).start_year
    table = dict(DATED_DEFAULTS)
    for label, params in overrides.items():
        parse_academic_year(label)
        if params.academic_year != label:
            raise RulesError(
                "academic_year", f"parameters keyed {label!r} are labelled {params.academic_year!r}"
            )
        table[label] = params
    return _latest_at_or_before(table, wanted, academic_year)


@lru_cache(maxsize=64)
def _default_parameters_for(academic_year: str) -> PolicyParameters:
    wanted = parse_academic_year(academic_year).start_year
    return _latest_at_or_before(DATED_DEFAULTS, wanted, academic_year)


def _latest_at_or_before(
    table: Mapping[str, PolicyParameters], wanted: int, academic_year: str
) -> PolicyParameters:
    in_force = [
        (parse_academic_year(label).start_year, params)
        for label, params in table.items()
        if parse_academic_year(label).start_year <= wanted
    ]
    if not in_force:
        earliest = min(table, key=lambda label: parse_academic_year(label).start_year)
        raise RulesError(
            "academic_year",
            f"no policy parameters in force for {academic_year} (the earliest are {earliest})",
        )
    params = max(in_force, key=lambda pair: pair[0])[1]
    if params.academic_year == academic_year:
        return params
    return dataclasses.replace(params, academic_year=academic_year)
