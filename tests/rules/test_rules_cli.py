"""The command line's contract: JSON in and out, and exit 2 with one line naming the field for
anything that does not fit (RULES.md)."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from rules.cli import main

EXAMPLES = Path(__file__).resolve().parents[3] / "shared/spec/examples"

CASE: dict[str, Any] = {
    "academic_year": "2024/25",
    "date_of_birth": "2014-03-02",
    "lives_in_county": True,
    "distance_m": 5012,
    "is_nearest_suitable": True,
}
POST16 = {
    "full_time_hours": 15,
    "higher_education": False,
    "apprenticeship": False,
    "repeat_or_non_progression": False,
    "programme_started_before_19": True,
    "post19_need_determined": False,
}
APPLICANT = {
    "id": "C-1",
    "lives_in_county": True,
    "sessions": "both",
    "attends_designated_or_nearest": True,
    "part_way_through_exam_course": False,
    "distance_m": 6100,
    "date_of_birth": "2011-02-03",
    "received": "2024-06-01",
}
ALLOCATE = {
    "seats": {"am": 1, "pm": 1},
    "fare_paying_alternative": False,
    "additional_cost": False,
    "applicants": [APPLICANT, {**APPLICANT, "id": "C-2"}, {**APPLICANT, "id": "C-3"}],
}
WITHDRAW = {"needed": {"am": 1, "pm": 0}, "holders": [APPLICANT]}
CONTRIBUTION = {
    "annual_amount": "456.00",
    "start_date": "2025-01-13",
    "plan": "3",
    "calendar": {"terms": [["2024-09-04", "2025-07-18"]], "closures": ["2024-11-04"]},
}
BASE = {"assess": CASE, "allocate": ALLOCATE, "withdraw": WITHDRAW, "contribution": CONTRIBUTION}


def with_change(verb: str, path: str, value: Any) -> Any:
    """The valid input for `verb` with one value set (or removed, for `...`) at a dotted path."""
    data = copy.deepcopy(BASE[verb])
    *parents, last = path.replace("[", ".").replace("]", "").split(".")
    target = data
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if isinstance(target, list):
        target[int(last)] = value
    elif value is ...:
        del target[last]
    else:
        target[last] = value
    return data


ERRORS = [
    # (verb, path changed, new value, field named in the message)
    ("assess", "lives_in_county", ..., "lives_in_county"),
    ("assess", "date_of_birth", ..., "date_of_birth"),
    ("assess", "academic_year", ..., "academic_year"),
    ("assess", "colour", "blue", "colour"),
    ("assess", "distance_m", True, "distance_m"),
    ("assess", "distance_m", "5012", "distance_m"),
    ("assess", "distance_m", -1, "distance_m"),
    ("assess", "distance_m", 5012.5, "distance_m"),
    ("assess", "straight_line_m", -5, "straight_line_m"),
    ("assess", "lives_in_county", 1, "lives_in_county"),
    ("assess", "lives_in_county", "true", "lives_in_county"),
    ("assess", "is_dta_school", None, "is_dta_school"),
    ("assess", "date_of_birth", "2025-02-30", "date_of_birth"),
    ("assess", "date_of_birth", "2014-3-2", "date_of_birth"),
    ("assess", "date_of_birth", 20140302, "date_of_birth"),
    ("assess", "academic_year", "2024/26", "academic_year"),
    ("assess", "academic_year", "2024-25", "academic_year"),
    ("assess", "academic_year", "2019/20", "academic_year"),
    ("assess", "school_type", "grammar", "school_type"),
    ("assess", "nearest_suitable_rank", 0, "nearest_suitable_rank"),
    ("assess", "year_group", 6.5, "year_group"),
    ("assess", "medical", {"who": "aunt", "accepted": True, "until": None}, "medical.who"),
    ("assess", "medical", {"who": "child", "accepted": "yes", "until": None}, "medical.accepted"),
    ("assess", "medical", {"who": "child", "accepted": True}, "medical.until"),
    (
        "assess",
        "medical",
        {"who": "child", "accepted": True, "until": "2025-13-01"},
        "medical.until",
    ),
    (
        "assess",
        "care",
        {"by": "council", "placement": "foster", "purchase_order": None},
        "care.placement",
    ),
    (
        "assess",
        "care",
        {"by": "council", "placement": "temporary", "purchase_order": 7},
        "care.purchase_order",
    ),
    ("assess", "exceptional_circumstances", {"accepted": 0}, "exceptional_circumstances.accepted"),
    ("assess", "exceptional_circumstances", True, "exceptional_circumstances"),
    ("assess", "date_of_birth", "2008-04-14", "post16"),
    ("assess", "post16", {**POST16, "full_time_hours": True}, "post16.full_time_hours"),
    ("assess", "post16", {**POST16, "full_time_hours": -1}, "post16.full_time_hours"),
    ("assess", "post16", {**POST16, "apprenticeship": 0}, "post16.apprenticeship"),
    ("assess", "post16", {**POST16, "extra": 1}, "post16.extra"),
    ("allocate", "applicants[1].sessions", "noon", "applicants[1].sessions"),
    ("allocate", "applicants[2].id", "C-1", "applicants[2].id"),
    ("allocate", "applicants[0].distance_m", -3, "applicants[0].distance_m"),
    ("allocate", "applicants[0].received", "yesterday", "applicants[0].received"),
    ("allocate", "applicants[0].lives_in_county", ..., "applicants[0].lives_in_county"),
    ("allocate", "applicants[0].date_of_birth", "2011-02-29", "applicants[0].date_of_birth"),
    ("allocate", "seats.pm", ..., "seats.pm"),
    ("allocate", "seats.am", -1, "seats.am"),
    ("allocate", "seats.am", 1.5, "seats.am"),
    ("allocate", "seats.noon", 1, "seats.noon"),
    ("allocate", "fare_paying_alternative", "no", "fare_paying_alternative"),
    ("allocate", "applicants", {}, "applicants"),
    ("withdraw", "needed.am", False, "needed.am"),
    ("withdraw", "holders[0].sessions", "evening", "holders[0].sessions"),
    ("withdraw", "holders", ..., "holders"),
    ("contribution", "annual_amount", 456.00, "annual_amount"),
    ("contribution", "annual_amount", "-1.00", "annual_amount"),
    ("contribution", "annual_amount", "456.001", "annual_amount"),
    ("contribution", "annual_amount", "1e3", "annual_amount"),
    ("contribution", "annual_amount", "£456", "annual_amount"),
    ("contribution", "annual_amount", "NaN", "annual_amount"),
    ("contribution", "plan", 3, "plan"),
    ("contribution", "plan", "12", "plan"),
    ("contribution", "start_date", "2025-07-19", "start_date"),
    ("contribution", "start_date", "2025-07-17", "plan"),
    ("contribution", "calendar.terms[0]", ["2024-09-04"], "calendar.terms[0]"),
    ("contribution", "calendar.terms[0]", ["2025-07-18", "2024-09-04"], "calendar.terms[0]"),
    ("contribution", "calendar.closures[0]", "2024-11-31", "calendar.closures[0]"),
    ("contribution", "calendar.closures", ..., "calendar.closures"),
]


def _check_refused(result, field: str | None = None) -> str:
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    if field is not None:
        assert lines[0].startswith(f"{field}: "), lines[0]
    return lines[0]


class _Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run_in_process(capsys, verb: str, payload: Any) -> _Result:
    """`rules.cli.main` without a new interpreter: the same code path, a hundred times faster."""
    stdin = io.TextIOWrapper(io.BytesIO(json.dumps(payload).encode()))
    code = main([verb, "-"], stdin=stdin)
    captured = capsys.readouterr()
    return _Result(code, captured.out, captured.err)


@pytest.mark.parametrize(
    ("verb", "path", "value", "field"),
    [pytest.param(*row, id=f"{row[0]}-{row[1]}-{row[2]!r}"[:80]) for row in ERRORS],
)
def test_bad_input_exits_2_naming_the_field(capsys, verb: str, path: str, value: Any, field: str):
    _check_refused(run_in_process(capsys, verb, with_change(verb, path, value)), field)


@pytest.mark.parametrize(
    ("verb", "path", "value", "field"),
    [pytest.param(*row, id=row[0]) for row in (ERRORS[4], ERRORS[34], ERRORS[46], ERRORS[50])],
)
def test_bad_input_through_the_real_command_line(cli, verb: str, path: str, value: Any, field: str):
    _check_refused(cli(verb, with_change(verb, path, value)), field)


def test_valid_base_inputs_are_accepted(cli) -> None:
    for verb, data in BASE.items():
        result = cli(verb, data)
        assert result.returncode == 0, (verb, result.stderr)


def test_message_names_the_unknown_value_and_the_choices(cli) -> None:
    line = _check_refused(
        cli("allocate", with_change("allocate", "applicants[2].sessions", "noon"))
    )
    assert line == "applicants[2].sessions: unknown value 'noon' (expected am, pm, both)"


def test_list_input_names_the_item(cli) -> None:
    bad = {**CASE, "distance_m": -1}
    _check_refused(cli("assess", [CASE, bad]), "[1].distance_m")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{", id="truncated"),
        pytest.param("", id="empty"),
        pytest.param('{"a": NaN}', id="NaN"),
        pytest.param('{"academic_year": "2024/25", "academic_year": "2024/25"}', id="repeated-key"),
        pytest.param("[" * 100000 + "]" * 100000, id="nested-too-deeply"),
        pytest.param('"just a string"', id="not-an-object"),
        pytest.param("42", id="a-number"),
    ],
)
def test_invalid_json_exits_2(cli, text: str) -> None:
    _check_refused(cli("assess", text=text))


def test_unknown_verb_exits_2(cli) -> None:
    assert "unknown command 'judge'" in _check_refused(cli("judge", CASE))


def test_no_verb_exits_2(cli) -> None:
    _check_refused(cli("", CASE, args=()))


def test_too_many_arguments_exit_2(cli) -> None:
    _check_refused(cli("assess", CASE, args=("-", "-")))


def test_unreadable_file_exits_2(cli, tmp_path: Path) -> None:
    assert "cannot read" in _check_refused(cli("assess", args=(str(tmp_path / "missing.json"),)))
    not_utf8 = tmp_path / "latin1.json"
    not_utf8.write_bytes(b'{"a": "\xe9"}')
    _check_refused(cli("assess", args=(str(not_utf8),)))


def test_file_argument_and_stdin_give_the_same_answer(cli, tmp_path: Path) -> None:
    source = tmp_path / "case.json"
    source.write_text(json.dumps(CASE))
    from_file = cli("assess", args=(str(source),))
    from_dash = cli("assess", CASE)
    from_stdin = cli("assess", CASE, args=())
    assert from_file.returncode == from_dash.returncode == from_stdin.returncode == 0
    assert from_file.stdout == from_dash.stdout == from_stdin.stdout


def test_output_formats(capsys) -> None:
    decision = json.loads(run_in_process(capsys, "assess", CASE).stdout)
    assert list(decision) == [
        "outcome",
        "basis",
        "clauses",
        "charge",
        "valid_until",
        "review_date",
        "reasons",
    ]
    assert decision["valid_until"] == "2025-08-31"
    contribution = json.loads(run_in_process(capsys, "contribution", CONTRIBUTION).stdout)
    assert list(contribution) == ["operational_days", "remaining_days", "amount", "instalments"]
    assert contribution["amount"].count(".") == 1 and len(contribution["amount"].split(".")[1]) == 2
    assert all(len(i["amount"].split(".")[1]) == 2 for i in contribution["instalments"])
    allocation = json.loads(run_in_process(capsys, "allocate", ALLOCATE).stdout)
    assert list(allocation) == ["register", "allocated", "waitlist", "refused"]
    assert allocation["allocated"] == ["C-1"] and allocation["waitlist"] == ["C-2", "C-3"]
    assert json.loads(run_in_process(capsys, "withdraw", WITHDRAW).stdout) == {
        "withdrawn": ["C-1"],
        "unmet": {"am": 0, "pm": 0},
    }


def test_help_goes_to_stdout(cli) -> None:
    result = cli("--help", args=())
    assert result.returncode == 0 and "usage" in result.stdout


def test_fractional_distance_with_whole_value_is_accepted(cli) -> None:
    result = cli("assess", {**CASE, "distance_m": 5012.0})
    assert result.returncode == 0, result.stderr
