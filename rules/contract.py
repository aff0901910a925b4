"""The JSON contract of RULES.md: strict parsers from JSON values to the rules' dataclasses, and
renderers back.

Strict because a silently mis-read fact becomes a wrong decision about a child: an unknown
field is probably a misspelt one, `true` is not the number 1, and "2025-02-30" is not a date.
Every refusal is a `ContractError` naming the path of the offending value
(``applicants[2].sessions``), so the command line and the panel can both point at it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from rules.academic_year import parse_academic_year, stage_of, year_group
from rules.assess import Care, Case, Decision, ExceptionalCircumstances, Medical, Post16
from rules.contribution import Contribution
from rules.errors import RulesError
from rules.parameters import parameters_for
from rules.register import (
    SESSION_KEYS,
    Allocation,
    AllocationRequest,
    Applicant,
    Withdrawal,
    WithdrawalRequest,
)
from rules.vocab import (
    CareBy,
    MedicalWho,
    Placement,
    Plan,
    SchoolType,
    Sessions,
    Stage,
    expected_values,
)

__all__ = [
    "ContractError",
    "ContributionRequest",
    "allocation_to_json",
    "contribution_to_json",
    "decision_to_json",
    "load_json",
    "parse_allocation_request",
    "parse_case",
    "parse_cases",
    "parse_contribution_request",
    "parse_date",
    "parse_money",
    "parse_withdrawal_request",
    "withdrawal_to_json",
]

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONEY = re.compile(r"\d+(\.\d{1,2})?")


class ContractError(RulesError):
    """Input that does not fit the contract; `field` is the path of the offending value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ContributionRequest:
    annual_amount: Decimal
    start_date: date
    plan: Plan
    terms: list[tuple[date, date]]
    closures: list[date]


# --- JSON text -----------------------------------------------------------------------------------


def load_json(text: str) -> Any:
    """Standard JSON only: no NaN or Infinity, no repeated keys; fractions read as Decimal."""
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as error:
        raise ContractError(
            "", f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except (ValueError, RecursionError) as error:
        raise ContractError(
            "", f"invalid JSON: {_one_line(str(error)) or 'nested too deeply'}"
        ) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- paths and values --------------------------------------------------------------------------


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _wrong(path: str, expected: str, value: Any) -> ContractError:
    return ContractError(path, f"expected {expected}, got {_kind(value)}")


def _object(
    value: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...]
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _wrong(path or "input", "an object", value)
    for key in value:
        if key not in allowed:
            raise ContractError(_at(path, key), "unknown field")
    for key in required:
        if key not in value:
            raise ContractError(_at(path, key), "missing required field")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _wrong(path, "a list", value)
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _wrong(path, "true or false", value)
    return value


def _optional_bool(value: Any, path: str) -> bool | None:
    return None if value is None else _bool(value, path)


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _wrong(path, "a string", value)
    return value


def _whole(value: Any, path: str, minimum: int | None = None) -> int:
    """A whole number; 5012.0 is accepted as 5012, 5012.5 is not."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _wrong(path, "a whole number", value)
    if isinstance(value, Decimal) and (value != value.to_integral_value() or value.adjusted() > 18):
        raise ContractError(path, f"expected a whole number, got {value}")
    number = int(value)
    if minimum is not None and number < minimum:
        qualifier = "must not be negative" if minimum == 0 else f"must be at least {minimum}"
        raise ContractError(path, f"{qualifier}, got {number}")
    return number


def _optional_whole(value: Any, path: str, minimum: int | None = None) -> int | None:
    return None if value is None else _whole(value, path, minimum)


def _distance(value: Any, path: str) -> int | None:
    """Distances are whole metres, as the measuring system (A3b) and every policy figure are."""
    return _optional_whole(value, path, 0)


def _number(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _wrong(path, "a number", value)
    number = Decimal(value)
    if number < 0:
        raise ContractError(path, f"must not be negative, got {value}")
    return number


def _enum(value: Any, path: str, enum_cls: type[E]) -> E:
    if not isinstance(value, str):
        raise _wrong(path, f"one of {expected_values(enum_cls)}", value)
    try:
        return enum_cls(value)
    except ValueError:
        raise ContractError(
            path, f"unknown value {_show(value)} (expected {expected_values(enum_cls)})"
        ) from None


def parse_date(value: Any, path: str) -> date:
    """An ISO ``YYYY-MM-DD`` string that names a real day."""
    if not isinstance(value, str):
        raise _wrong(path, "a date (YYYY-MM-DD)", value)
    if not _DATE.fullmatch(value):
        raise ContractError(path, f"expected a date as YYYY-MM-DD, got {_show(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ContractError(path, f"impossible date {_show(value)}") from None


def _optional_date(value: Any, path: str) -> date | None:
    return None if value is None else parse_date(value, path)


def parse_money(value: Any, path: str) -> Decimal:
    """Money is a decimal string, non-negative, at most two places: ``"456.00"``."""
    if not isinstance(value, str):
        raise _wrong(path, "an amount as a string like '456.00'", value)
    if not _MONEY.fullmatch(value):
        raise ContractError(
            path, f"expected an amount like '456.00' (non-negative, pennies), got {_show(value)}"
        )
    return Decimal(value)


def _nested(value: Any, path: str, parse: Callable[[dict[str, Any], str], T]) -> T | None:
    return None if value is None else parse(value, path)


# --- assess --------------------------------------------------------------------------------------

_CASE_REQUIRED = ("academic_year", "date_of_birth", "lives_in_county")
_CASE_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "academic_year": _string,
    "date_of_birth": parse_date,
    "year_group": _optional_whole,
    "lives_in_county": _bool,
    "school_type": lambda v, p: _enum(v, p, SchoolType),
    "distance_m": _distance,
    "straight_line_m": _distance,
    "is_dta_school": _bool,
    "is_nearest_suitable": _optional_bool,  # null: unknown (A1c)
    "nearer_than_dta_school": _optional_bool,
    "nearest_suitable_rank": lambda v, p: _optional_whole(v, p, 1),
    "low_income": _bool,
    "religion_or_belief": _bool,
    "route_unsuitable": _bool,
    "ehcp": _bool,
    "exceptional_transport_need": _bool,
    "medical": lambda v, p: _nested(v, p, _medical),
    "care": lambda v, p: _nested(v, p, _care),
    "care_leaver": _bool,
    "school_named_in_ehcp": _bool,
    "exceptional_circumstances": lambda v, p: _nested(v, p, _exceptional),
    "post16": lambda v, p: _nested(v, p, _post16),
}
_CASE_ALLOWED = tuple(_CASE_FIELDS)


def parse_case(value: Any, path: str = "") -> Case:
    """One assess input object -> `Case` (RULES.md "The assess contract")."""
    raw = _object(value, path, _CASE_ALLOWED, _CASE_REQUIRED)
    fields = {key: _CASE_FIELDS[key](item, _at(path, key)) for key, item in raw.items()}
    try:
        year = parse_academic_year(fields["academic_year"])
        parameters_for(year.label)
    except RulesError as error:
        raise ContractError(_at(path, "academic_year"), error.message) from None
    group = fields.get("year_group")
    if group is None:
        group = year_group(fields["date_of_birth"], year)
    if stage_of(group) is Stage.POST16 and fields.get("post16") is None:
        raise ContractError(
            _at(path, "post16"),
            f"required for a post-16 learner (year group {group}): the decision turns on the "
            "course",
        )
    return Case(**fields)


def parse_cases(value: Any) -> Case | list[Case]:
    """One case object, or a list of them (a list in gives a list out)."""
    if isinstance(value, list):
        return [parse_case(item, f"[{index}]") for index, item in enumerate(value)]
    return parse_case(value)


def _medical(value: Any, path: str) -> Medical:
    raw = _object(value, path, ("who", "accepted", "until"), ("who", "accepted", "until"))
    return Medical(
        who=_enum(raw["who"], _at(path, "who"), MedicalWho),
        accepted=_optional_bool(raw["accepted"], _at(path, "accepted")),
        until=_optional_date(raw["until"], _at(path, "until")),
    )


def _care(value: Any, path: str) -> Care:
    keys = ("by", "placement", "purchase_order")
    raw = _object(value, path, keys, keys)
    order = raw["purchase_order"]
    return Care(
        by=_enum(raw["by"], _at(path, "by"), CareBy),
        placement=_enum(raw["placement"], _at(path, "placement"), Placement),
        purchase_order=None if order is None else _string(order, _at(path, "purchase_order")),
    )


def _exceptional(value: Any, path: str) -> ExceptionalCircumstances:
    raw = _object(value, path, ("accepted",), ("accepted",))
    return ExceptionalCircumstances(accepted=_optional_bool(raw["accepted"], _at(path, "accepted")))


_POST16_FLAGS = (
    "higher_education",
    "apprenticeship",
    "repeat_or_non_progression",
    "programme_started_before_19",
    "post19_need_determined",
)


def _post16(value: Any, path: str) -> Post16:
    keys = ("full_time_hours", *_POST16_FLAGS)
    raw = _object(value, path, keys, keys)
    flags = {key: _bool(raw[key], _at(path, key)) for key in _POST16_FLAGS}
    return Post16(
        full_time_hours=_number(raw["full_time_hours"], _at(path, "full_time_hours")), **flags
    )


def decision_to_json(decision: Decision) -> dict[str, Any]:
    return {
        "outcome": str(decision.outcome),
        "basis": decision.basis,
        "clauses": list(decision.clauses),
        "charge": None if decision.charge is None else str(decision.charge),
        "valid_until": _iso(decision.valid_until),
        "review_date": _iso(decision.review_date),
        "reasons": list(decision.reasons),
    }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


# --- allocate and withdraw -----------------------------------------------------------------------

_APPLICANT_KEYS = (
    "id",
    "lives_in_county",
    "sessions",
    "attends_designated_or_nearest",
    "part_way_through_exam_course",
    "distance_m",
    "date_of_birth",
    "received",
)


def _applicant(value: Any, path: str) -> Applicant:
    raw = _object(value, path, _APPLICANT_KEYS, _APPLICANT_KEYS)
    ident = _string(raw["id"], _at(path, "id"))
    if not ident:
        raise ContractError(_at(path, "id"), "must not be empty")
    return Applicant(
        id=ident,
        lives_in_county=_bool(raw["lives_in_county"], _at(path, "lives_in_county")),
        sessions=_enum(raw["sessions"], _at(path, "sessions"), Sessions),
        attends_designated_or_nearest=_bool(
            raw["attends_designated_or_nearest"], _at(path, "attends_designated_or_nearest")
        ),
        part_way_through_exam_course=_bool(
            raw["part_way_through_exam_course"], _at(path, "part_way_through_exam_course")
        ),
        distance_m=_whole(raw["distance_m"], _at(path, "distance_m"), 0),
        date_of_birth=parse_date(raw["date_of_birth"], _at(path, "date_of_birth")),
        received=parse_date(raw["received"], _at(path, "received")),
    )


def _applicants(value: Any, path: str) -> list[Applicant]:
    """A list of applicants with unique ids (the register's last tie-break)."""
    applicants = []
    seen: set[str] = set()
    for index, item in enumerate(_list(value, path)):
        applicant = _applicant(item, f"{path}[{index}]")
        if applicant.id in seen:
            raise ContractError(f"{path}[{index}].id", f"duplicate id {_show(applicant.id)}")
        seen.add(applicant.id)
        applicants.append(applicant)
    return applicants


def _session_counts(value: Any, path: str) -> dict[str, int]:
    raw = _object(value, path, SESSION_KEYS, SESSION_KEYS)
    return {key: _whole(raw[key], _at(path, key), 0) for key in SESSION_KEYS}


def parse_allocation_request(value: Any) -> AllocationRequest:
    keys = ("seats", "fare_paying_alternative", "additional_cost", "applicants")
    raw = _object(value, "", keys, keys)
    return AllocationRequest(
        seats=_session_counts(raw["seats"], "seats"),
        fare_paying_alternative=_bool(raw["fare_paying_alternative"], "fare_paying_alternative"),
        additional_cost=_bool(raw["additional_cost"], "additional_cost"),
        applicants=_applicants(raw["applicants"], "applicants"),
    )


def parse_withdrawal_request(value: Any) -> WithdrawalRequest:
    keys = ("needed", "holders")
    raw = _object(value, "", keys, keys)
    return WithdrawalRequest(
        needed=_session_counts(raw["needed"], "needed"),
        holders=_applicants(raw["holders"], "holders"),
    )


def allocation_to_json(allocation: Allocation) -> dict[str, Any]:
    return {
        "register": list(allocation.register),
        "allocated": list(allocation.allocated),
        "waitlist": list(allocation.waitlist),
        "refused": [{"id": r.id, "reason": r.reason} for r in allocation.refused],
    }


def withdrawal_to_json(withdrawal: Withdrawal) -> dict[str, Any]:
    return {"withdrawn": list(withdrawal.withdrawn), "unmet": dict(withdrawal.unmet)}


# --- contribution --------------------------------------------------------------------------------


def parse_contribution_request(value: Any) -> ContributionRequest:
    keys = ("annual_amount", "start_date", "plan", "calendar")
    raw = _object(value, "", keys, keys)
    annual_amount = parse_money(raw["annual_amount"], "annual_amount")
    start_date = parse_date(raw["start_date"], "start_date")
    plan = _enum(raw["plan"], "plan", Plan)
    calendar = _object(raw["calendar"], "calendar", ("terms", "closures"), ("terms", "closures"))
    terms = []
    for index, term in enumerate(_list(calendar["terms"], "calendar.terms")):
        path = f"calendar.terms[{index}]"
        if not isinstance(term, list) or len(term) != 2:
            raise ContractError(path, "expected a [first day, last day] pair of dates")
        # A term that ends before it starts is refused by `operational_days`, for every caller.
        terms.append((parse_date(term[0], f"{path}[0]"), parse_date(term[1], f"{path}[1]")))
    closures = [
        parse_date(day, f"calendar.closures[{index}]")
        for index, day in enumerate(_list(calendar["closures"], "calendar.closures"))
    ]
    return ContributionRequest(
        annual_amount=annual_amount,
        start_date=start_date,
        plan=plan,
        terms=terms,
        closures=closures,
    )


def contribution_to_json(result: Contribution) -> dict[str, Any]:
    return {
        "operational_days": result.operational_days,
        "remaining_days": result.remaining_days,
        "amount": _money(result.amount),
        "instalments": [
            {"due": i.due.isoformat(), "amount": _money(i.amount)} for i in result.instalments
        ],
    }


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"
