"""Dated policy parameters: every figure the policy sets, per academic year.

The council may change a distance, an age or a notice period from one year to the next, and a
decision must always be remade with the figures in force for its own year (DOMAIN.md: changing
next year's figure never rewrites a past decision). So no rule carries a figure of its own: it
reads one from a `PolicyParameters`, which the panel stores as one row per academic year (field
names map 1:1 to columns) and which otherwise comes from the dated defaults below, read from the
figures' one definition, rules/figures.toml (label, unit, clause and values of each).
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
from rules.figures import FIGURES, value_in, years_dated
from rules.vocab import Stage


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyParameters:
    """The figures in force for one academic year (clause numbers are the policy's)."""

    academic_year: str
    # Each figure's label, unit, clause and dated values: rules/figures.toml.
    primary_walking_distance_m: int
    secondary_walking_distance_m: int
    low_income_upper_m: int
    religion_or_belief_upper_m: int
    low_income_rank_limit: int
    post16_min_age: int
    post16_max_age: int
    send_max_age: int
    full_time_min_hours: Decimal
    pickup_walk_primary_m: int
    pickup_walk_secondary_m: int
    pickup_walk_post16_m: int
    concessionary_withdrawal_notice_days: int
    error_withdrawal_notice_terms: int
    unsuitable_route_notice_days: int
    operational_days_expected: int
    review_request_working_days: int
    stage_one_decision_working_days: int
    stage_two_panel_min_working_days: int
    stage_two_panel_max_working_days: int
    panel_outcome_working_days: int
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
        """A2/A3: the primary figure at the primary stage, the secondary one otherwise."""
        if stage is Stage.PRIMARY:
            return self.primary_walking_distance_m
        return self.secondary_walking_distance_m

    def pickup_walk_m(self, stage: Stage) -> int:
        """B4: how far a pupil at this stage may be expected to walk to a pick-up point."""
        if stage is Stage.PRIMARY:
            return self.pickup_walk_primary_m
        if stage is Stage.SECONDARY:
            return self.pickup_walk_secondary_m
        return self.pickup_walk_post16_m


def _dated_defaults() -> Mapping[str, PolicyParameters]:
    """The built-in dated values, read from rules/figures.toml (School and College Transport
    Policy 2024/25): one `PolicyParameters` per year in which some figure changes, each figure
    at its value in force that year."""
    names = [name for name in PolicyParameters.field_names() if name != "academic_year"]
    unknown = sorted(set(FIGURES) - set(names))
    missing = sorted(set(names) - set(FIGURES))
    if unknown or missing:
        raise RulesError(
            "figures", f"figures.toml and PolicyParameters differ: {unknown or missing}"
        )
    table: dict[str, PolicyParameters] = {}
    for year in years_dated():
        values: dict[str, Any] = {name: value_in(FIGURES[name], year) for name in names}
        table[year] = PolicyParameters.from_mapping({"academic_year": year, **values})
    return MappingProxyType(table)


# A year with no entry of its own uses the latest entry dated at or before it.
DATED_DEFAULTS: Mapping[str, PolicyParameters] = _dated_defaults()


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
