"""Academic years and ages (RULES.md "Stages and ages"), working days (Appendix C, B2) and the
purity of the rules package."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from rules import (
    RulesError,
    Stage,
    academic_year_of,
    add_working_days,
    age_on,
    appeal_deadlines,
    decision_target,
    end_of_stage,
    england_bank_holidays,
    is_working_day,
    panel_outcome_by,
    parse_academic_year,
    stage_of,
    stage_one_decision_by,
    stage_two_panel_window,
    year_group,
)
from rules.parameters import parameters_for

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("label", ["2024/25", "1999/00", "2025/26"])
def test_academic_year_parses(label: str) -> None:
    year = parse_academic_year(label)
    assert year.start == date(int(label[:4]), 9, 1)
    assert year.end == date(int(label[:4]) + 1, 8, 31)


@pytest.mark.parametrize(
    "label", ["2024/26", "2024/24", "2024-25", "24/25", " 2024/25", "2024/2025", 2024]
)
def test_academic_year_strict(label: object) -> None:
    with pytest.raises(RulesError) as error:
        parse_academic_year(label)  # type: ignore[arg-type]
    assert error.value.field == "academic_year"


def test_academic_year_of_a_date() -> None:
    assert academic_year_of(date(2025, 8, 31)).label == "2024/25"
    assert academic_year_of(date(2025, 9, 1)).label == "2025/26"


@pytest.mark.parametrize(
    ("born", "group"),
    [
        pytest.param(date(2013, 8, 31), 7, id="31-August-oldest-in-year-7"),
        pytest.param(date(2013, 9, 1), 6, id="1-September-youngest-in-year-6"),
        pytest.param(date(2020, 8, 31), 0, id="reception"),
        pytest.param(date(2020, 9, 1), -1, id="below-school-age"),
        pytest.param(date(2008, 8, 31), 12, id="year-12"),
    ],
)
def test_year_group_from_age_on_31_august_minus_4(born: date, group: int) -> None:
    assert year_group(born, parse_academic_year("2024/25")) == group


def test_age_on_29_february_birthday() -> None:
    assert age_on(date(2008, 2, 29), date(2025, 2, 28)) == 16
    assert age_on(date(2008, 2, 29), date(2025, 3, 1)) == 17
    assert age_on(date(2008, 2, 29), date(2024, 2, 29)) == 16


@pytest.mark.parametrize(
    ("group", "stage"),
    [
        (-1, Stage.BELOW_SCHOOL_AGE),
        (0, Stage.PRIMARY),
        (6, Stage.PRIMARY),
        (7, Stage.SECONDARY),
        (11, Stage.SECONDARY),
        (12, Stage.POST16),
        (14, Stage.POST16),
    ],
)
def test_stage_of(group: int, stage: Stage) -> None:
    assert stage_of(group) is stage


def test_A15_end_of_stage() -> None:
    year = parse_academic_year("2024/25")
    assert end_of_stage(year, 0) == date(2031, 8, 31)
    assert end_of_stage(year, 6) == date(2025, 8, 31)
    assert end_of_stage(year, 7) == date(2029, 8, 31)
    assert end_of_stage(year, 11) == date(2025, 8, 31)


# --- working days ------------------------------------------------------------------------------


def test_working_days_skip_weekends_and_england_bank_holidays() -> None:
    assert add_working_days(date(2025, 4, 17), 1) == date(2025, 4, 22)  # Good Friday, Easter Monday
    assert add_working_days(date(2024, 9, 6), 1) == date(2024, 9, 9)  # a weekend
    assert add_working_days(date(2024, 9, 7), 0) == date(2024, 9, 7)
    assert add_working_days(date(2025, 4, 22), -1) == date(2025, 4, 17)
    assert not is_working_day(date(2025, 12, 25))
    assert not is_working_day(date(2025, 8, 25))  # late summer bank holiday (England)
    assert is_working_day(date(2025, 8, 4))  # Scotland's August holiday is not England's


def test_england_bank_holidays_for_an_academic_year() -> None:
    found = england_bank_holidays(date(2024, 9, 1), date(2025, 8, 31))
    assert list(found) == [
        date(2024, 12, 25),
        date(2024, 12, 26),
        date(2025, 1, 1),
        date(2025, 4, 18),
        date(2025, 4, 21),
        date(2025, 5, 5),
        date(2025, 5, 26),
        date(2025, 8, 25),
    ]
    assert all(isinstance(name, str) and name for name in found.values())


def test_AppendixC_20_working_days_to_ask_for_a_review_over_christmas() -> None:
    assert appeal_deadlines(date(2024, 12, 20)).request_review_by == date(2025, 1, 22)


def test_AppendixC_stage_one_decided_within_20_working_days() -> None:
    assert stage_one_decision_by(date(2025, 3, 3)) == date(2025, 3, 31)


def test_AppendixC_stage_two_panel_within_20_to_40_working_days() -> None:
    assert stage_two_panel_window(date(2025, 3, 3)) == (date(2025, 3, 31), date(2025, 4, 30))


def test_AppendixC_panel_outcome_within_5_working_days() -> None:
    assert panel_outcome_by(date(2025, 4, 17)) == date(2025, 4, 28)


@pytest.mark.parametrize(
    ("received", "due", "busy"),
    [
        pytest.param(date(2024, 10, 1), date(2024, 10, 8), False, id="B2a-October"),
        pytest.param(date(2025, 6, 30), date(2025, 7, 7), False, id="B2a-30-June"),
        pytest.param(date(2025, 7, 1), date(2025, 7, 8), True, id="B2a-1-July-busy"),
        pytest.param(date(2024, 9, 30), date(2024, 10, 7), True, id="B2a-30-September-busy"),
    ],
)
def test_B2_decision_target(received: date, due: date, busy: bool) -> None:
    target = decision_target(received)
    assert (target.due, target.busy_period) == (due, busy)


def test_deadlines_use_the_parameters_given() -> None:
    import dataclasses

    params = dataclasses.replace(parameters_for("2024/25"), review_request_working_days=10)
    assert appeal_deadlines(date(2025, 3, 3), params).request_review_by == date(2025, 3, 17)


# --- purity ------------------------------------------------------------------------------------


def test_rules_import_neither_flask_nor_sqlalchemy_nor_the_app() -> None:
    script = (
        "import sys, datetime, rules, rules.cli, rules.contract\n"
        "rules.assess(rules.Case(academic_year='2024/25', date_of_birth=datetime.date(2014, 3, 2),"
        " lives_in_county=True, distance_m=5012, is_nearest_suitable=True))\n"
        "top = {m.split('.')[0] for m in sys.modules}\n"
        "bad = top & {'flask', 'sqlalchemy', 'flask_sqlalchemy', 'models', 'admin_views', 'app',"
        " 'services', 'holidays'}\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
