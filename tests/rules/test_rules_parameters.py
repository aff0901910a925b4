"""Dated policy parameters: one row per academic year, the latest at or before a year applies."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from rules import DATED_DEFAULTS, PolicyParameters, RulesError, Stage, parameters_for

FIELDS = (
    "academic_year",
    "primary_walking_distance_m",
    "secondary_walking_distance_m",
    "low_income_upper_m",
    "religion_or_belief_upper_m",
    "low_income_rank_limit",
    "post16_min_age",
    "post16_max_age",
    "send_max_age",
    "full_time_min_hours",
    "pickup_walk_primary_m",
    "pickup_walk_secondary_m",
    "pickup_walk_post16_m",
    "concessionary_withdrawal_notice_days",
    "error_withdrawal_notice_terms",
    "unsuitable_route_notice_days",
    "operational_days_expected",
    "review_request_working_days",
    "stage_one_decision_working_days",
    "stage_two_panel_min_working_days",
    "stage_two_panel_max_working_days",
    "panel_outcome_working_days",
    "decision_target_working_days",
    "busy_period_first_month",
    "busy_period_last_month",
)


def test_field_names_are_the_panel_columns() -> None:
    assert PolicyParameters.field_names() == FIELDS
    assert tuple(f.name for f in dataclasses.fields(PolicyParameters)) == FIELDS


def test_2024_25_defaults_are_the_policy_figures() -> None:
    p = parameters_for("2024/25")
    assert (p.primary_walking_distance_m, p.secondary_walking_distance_m) == (3218, 4827)  # A2
    assert (p.low_income_upper_m, p.religion_or_belief_upper_m) == (9656, 24140)  # A5, A6
    assert p.low_income_rank_limit == 3  # A5a
    assert (p.post16_min_age, p.post16_max_age, p.send_max_age) == (16, 19, 25)  # A7b, A8a
    assert p.full_time_min_hours == Decimal("12.5")  # A7b
    assert (p.pickup_walk_primary_m, p.pickup_walk_secondary_m, p.pickup_walk_post16_m) == (
        1609,
        3218,
        4827,
    )  # B4
    assert p.concessionary_withdrawal_notice_days == 5  # Appendix F, project rule
    assert p.error_withdrawal_notice_terms == 1  # A15
    assert p.unsuitable_route_notice_days == 20  # A12a, project rule
    assert p.operational_days_expected == 190  # Appendix H
    assert p is DATED_DEFAULTS["2024/25"]


def test_B4_A2_figures_by_stage() -> None:
    p = parameters_for("2024/25")
    assert [p.walking_distance_m(s) for s in (Stage.PRIMARY, Stage.SECONDARY, Stage.POST16)] == [
        3218,
        4827,
        4827,
    ]
    assert [p.pickup_walk_m(s) for s in (Stage.PRIMARY, Stage.SECONDARY, Stage.POST16)] == [
        1609,
        3218,
        4827,
    ]


def test_a_later_year_uses_the_latest_dated_values_relabelled() -> None:
    p = parameters_for("2027/28")
    assert p.academic_year == "2027/28"
    assert dataclasses.replace(p, academic_year="2024/25") == parameters_for("2024/25")


def test_a_year_before_every_dated_value_is_refused() -> None:
    with pytest.raises(RulesError) as error:
        parameters_for("2023/24")
    assert error.value.field == "academic_year"


def test_overrides_apply_from_their_year_on() -> None:
    changed = dataclasses.replace(
        parameters_for("2026/27"), academic_year="2026/27", secondary_walking_distance_m=5000
    )
    overrides = {"2026/27": changed}
    assert parameters_for("2025/26", overrides).secondary_walking_distance_m == 4827
    assert parameters_for("2026/27", overrides).secondary_walking_distance_m == 5000
    assert parameters_for("2029/30", overrides).secondary_walking_distance_m == 5000


def test_overrides_keyed_under_another_year_are_refused() -> None:
    with pytest.raises(RulesError):
        parameters_for("2025/26", {"2025/26": parameters_for("2024/25")})


def test_from_mapping_round_trips_a_database_row() -> None:
    row = dataclasses.asdict(parameters_for("2024/25"))
    row["full_time_min_hours"] = "12.5"
    assert PolicyParameters.from_mapping(row) == parameters_for("2024/25")
    with pytest.raises(RulesError, match="unknown field"):
        PolicyParameters.from_mapping({**row, "colour": "red"})
    with pytest.raises(RulesError, match="missing required field"):
        PolicyParameters.from_mapping({k: v for k, v in row.items() if k != "send_max_age"})


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"primary_walking_distance_m": True}, id="bool-is-not-a-number"),
        pytest.param({"primary_walking_distance_m": -1}, id="negative"),
        pytest.param({"primary_walking_distance_m": 5000}, id="primary-beyond-secondary"),
        pytest.param({"post16_max_age": 15}, id="post16-ages-inverted"),
        pytest.param({"busy_period_last_month": 13}, id="month-13"),
        pytest.param({"full_time_min_hours": 12.5}, id="hours-must-be-decimal"),
        pytest.param({"academic_year": "2024/26"}, id="bad-year"),
    ],
)
def test_parameters_are_validated(change: dict[str, object]) -> None:
    with pytest.raises(RulesError):
        dataclasses.replace(parameters_for("2024/25"), **change)
