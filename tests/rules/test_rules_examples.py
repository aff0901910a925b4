"""Every worked case in shared/spec/examples, through the Python API and the command line.

Every key of `expected` must match exactly; ``{"error": true}`` means the input is refused
(exit 2, one line on standard error, nothing on standard output).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rules import allocate, assess, contribution, withdraw
from rules.contract import (
    allocation_to_json,
    contribution_to_json,
    decision_to_json,
    parse_allocation_request,
    parse_cases,
    parse_contribution_request,
    parse_withdrawal_request,
    withdrawal_to_json,
)
from rules.errors import RulesError

EXAMPLES = Path(__file__).resolve().parents[3] / "shared/spec/examples"
VERBS = ("assess", "allocate", "withdraw", "contribution")


def _examples() -> list[Any]:
    params = []
    for verb in VERBS:
        for example in json.loads((EXAMPLES / f"{verb}.json").read_text()):
            params.append(pytest.param(verb, example, id=f"{verb}: {example['name']}"))
    return params


def _api(verb: str, data: Any) -> Any:
    if verb == "assess":
        cases = parse_cases(data)
        if isinstance(cases, list):
            return [decision_to_json(assess(case)) for case in cases]
        return decision_to_json(assess(cases))
    if verb == "allocate":
        return allocation_to_json(allocate(parse_allocation_request(data)))
    if verb == "withdraw":
        return withdrawal_to_json(withdraw(parse_withdrawal_request(data)))
    request = parse_contribution_request(data)
    return contribution_to_json(
        contribution(
            request.annual_amount, request.start_date, request.plan, request.terms, request.closures
        )
    )


def _matches(output: Any, expected: dict[str, Any]) -> None:
    assert {key: output[key] for key in expected} == expected


def test_examples_are_there() -> None:
    assert all((EXAMPLES / f"{verb}.json").is_file() for verb in VERBS)


@pytest.mark.parametrize(("verb", "example"), _examples())
def test_example_through_the_api(verb: str, example: dict[str, Any]) -> None:
    if example["expected"] == {"error": True}:
        with pytest.raises(RulesError):
            _api(verb, example["input"])
        return
    _matches(_api(verb, example["input"]), example["expected"])


@pytest.mark.parametrize(("verb", "example"), _examples())
def test_example_through_the_command_line(cli, verb: str, example: dict[str, Any]) -> None:
    result = cli(verb, example["input"])
    if example["expected"] == {"error": True}:
        assert result.returncode == 2
        assert result.stdout == ""
        assert len(result.stderr.splitlines()) == 1
        return
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    _matches(json.loads(result.stdout), example["expected"])


def test_assess_examples_as_one_list_give_a_list(cli) -> None:
    examples = json.loads((EXAMPLES / "assess.json").read_text())
    result = cli("assess", [example["input"] for example in examples])
    assert result.returncode == 0, result.stderr
    outputs = json.loads(result.stdout)
    assert len(outputs) == len(examples)
    for output, example in zip(outputs, examples, strict=True):
        _matches(output, example["expected"])
