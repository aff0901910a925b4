"""``python -m rules VERB [FILE|-]``: the rules on JSON, for tests, batch jobs and other systems.

Exit 0 with JSON on standard output; exit 2 with one line on standard error, naming the field,
for anything that does not fit the contract. Nothing is printed to standard output unless the
whole answer is ready, so a caller never has to tell half an answer from a whole one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from rules.assess import assess
from rules.contract import (
    allocation_to_json,
    contribution_to_json,
    decision_to_json,
    load_json,
    parse_allocation_request,
    parse_cases,
    parse_contribution_request,
    parse_withdrawal_request,
    withdrawal_to_json,
)
from rules.contribution import contribution
from rules.errors import RulesError
from rules.register import allocate, withdraw

USAGE = "usage: python -m rules assess|allocate|withdraw|contribution [FILE|-]"


def _assess(data: Any) -> Any:
    cases = parse_cases(data)
    if isinstance(cases, list):
        return [decision_to_json(assess(case)) for case in cases]
    return decision_to_json(assess(cases))


def _allocate(data: Any) -> Any:
    return allocation_to_json(allocate(parse_allocation_request(data)))


def _withdraw(data: Any) -> Any:
    return withdrawal_to_json(withdraw(parse_withdrawal_request(data)))


def _contribution(data: Any) -> Any:
    request = parse_contribution_request(data)
    return contribution_to_json(
        contribution(
            request.annual_amount, request.start_date, request.plan, request.terms, request.closures
        )
    )


VERBS: dict[str, Callable[[Any], Any]] = {
    "assess": _assess,
    "allocate": _allocate,
    "withdraw": _withdraw,
    "contribution": _contribution,
}


def _read(source: str, stdin: TextIO) -> str:
    try:
        if source == "-":
            raw = getattr(stdin, "buffer", None)  # a StringIO (in tests) has no bytes layer
            return raw.read().decode("utf-8") if raw is not None else stdin.read()
        return Path(source).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        name = "standard input" if source == "-" else source
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise RulesError("", f"cannot read {name}: {reason}") from None


def main(
    argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = stdout or sys.stdout
    if args and args[0] in ("-h", "--help"):
        print(USAGE, file=out)
        return 0
    try:
        if not args:
            raise RulesError("", USAGE)
        verb, rest = args[0], args[1:]
        if verb not in VERBS:
            raise RulesError("", f"unknown command {verb!r} (expected {', '.join(VERBS)})")
        if len(rest) > 1:
            raise RulesError("", f"too many arguments; {USAGE}")
        data = load_json(_read(rest[0] if rest else "-", stdin or sys.stdin))
        text = json.dumps(VERBS[verb](data), indent=2, ensure_ascii=False)
    except RulesError as error:
        print(" ".join(str(error).split()), file=sys.stderr)
        return 2
    print(text, file=out)
    return 0
