"""Concessionary seats: the Appendix F priority register, allocation and withdrawal.

Spare seats on contracted vehicles go to children without an eligibility (A9). When there are
more applicants than seats, Appendix F's six-tier register decides who gets one; the project
breaks the remaining ties by date received and then id, so the same applicants always give the
same register whatever order they arrive in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from rules.errors import RulesError
from rules.vocab import Sessions

__all__ = [
    "Allocation",
    "AllocationRequest",
    "Applicant",
    "Refusal",
    "Withdrawal",
    "WithdrawalRequest",
    "allocate",
    "priority_key",
    "register",
    "withdraw",
]

# The session keys of a seat count; "both" asks for one of each.
SESSION_KEYS = ("am", "pm")
_WANTS = {Sessions.AM: ("am",), Sessions.PM: ("pm",), Sessions.BOTH: ("am", "pm")}


@dataclass(frozen=True, slots=True, kw_only=True)
class Applicant:
    """A concessionary-seat applicant (or, for `withdraw`, a holder and the sessions it holds)."""

    id: str
    lives_in_county: bool
    sessions: Sessions
    attends_designated_or_nearest: bool
    part_way_through_exam_course: bool
    distance_m: int
    date_of_birth: date
    received: date


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocationRequest:
    seats: Mapping[str, int]  # spare seats per session: {"am": n, "pm": n}
    applicants: Sequence[Applicant]
    fare_paying_alternative: bool = False
    additional_cost: bool = False


@dataclass(frozen=True, slots=True)
class Refusal:
    id: str
    reason: str  # "fare_paying_alternative" or "additional_cost"


@dataclass(frozen=True, slots=True)
class Allocation:
    register: list[str]
    allocated: list[str]
    waitlist: list[str]
    refused: list[Refusal]


@dataclass(frozen=True, slots=True, kw_only=True)
class WithdrawalRequest:
    needed: Mapping[str, int]  # seats needed for entitled children: {"am": n, "pm": n}
    holders: Sequence[Applicant]


@dataclass(frozen=True, slots=True)
class Withdrawal:
    withdrawn: list[str]
    unmet: dict[str, int]


def priority_key(a: Applicant) -> tuple[bool, bool, bool, bool, int, int, int, str]:
    """Appendix F's six tiers, then the project's tie-breaks; smaller sorts first.

    1st living in the county, 2nd both sessions, 3rd the designated or nearest school, 4th
    part way through an exam course, 5th furthest first, 6th youngest (later birth) first;
    then earlier `received`, then `id` ascending. With unique ids this is a total order.
    """
    return (
        not a.lives_in_county,
        a.sessions != Sessions.BOTH,
        not a.attends_designated_or_nearest,
        not a.part_way_through_exam_course,
        -a.distance_m,
        -a.date_of_birth.toordinal(),
        a.received.toordinal(),
        a.id,
    )


def register(applicants: Iterable[Applicant], field: str = "applicants") -> list[Applicant]:
    """The applicants in priority order; ids must be unique for the order to be total."""
    ordered = sorted(applicants, key=priority_key)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.id == after.id:
            raise RulesError(field, f"duplicate id {after.id!r}")
    return ordered


def allocate(request: AllocationRequest) -> Allocation:
    """Walk the register: a seat for each applicant whose every session still has one.

    A lower applicant may take a seat a higher one could not use (a morning seat left over
    when a higher applicant needs both). A fare-paying bus on the route, or any extra cost to
    the council, means no concessionary seats at all (Appendix F).
    """
    ordered = register(request.applicants)
    ids = [a.id for a in ordered]
    for reason, applies in (
        ("fare_paying_alternative", request.fare_paying_alternative),
        ("additional_cost", request.additional_cost),
    ):
        if applies:
            return Allocation(ids, [], [], [Refusal(i, reason) for i in ids])
    free = _counts(request.seats, "seats")
    allocated: list[str] = []
    waitlist: list[str] = []
    for applicant in ordered:
        wanted = _WANTS[Sessions(applicant.sessions)]
        if all(free[s] > 0 for s in wanted):
            for s in wanted:
                free[s] -= 1
            allocated.append(applicant.id)
        else:
            waitlist.append(applicant.id)
    return Allocation(ids, allocated, waitlist, [])


def withdraw(request: WithdrawalRequest) -> Withdrawal:
    """Free seats for entitled children, lowest in the register first (project rule).

    A holder goes when it holds a session still needed; its other session is freed with it.
    `unmet` is what the holders could not free.
    """
    need = _counts(request.needed, "needed")
    withdrawn: list[str] = []
    for holder in reversed(register(request.holders, "holders")):
        if not any(need.values()):
            break
        held = _WANTS[Sessions(holder.sessions)]
        if any(need[s] > 0 for s in held):
            withdrawn.append(holder.id)
            for s in held:
                need[s] = max(need[s] - 1, 0)
    return Withdrawal(withdrawn, need)


def _counts(counts: Mapping[str, int], field: str) -> dict[str, int]:
    found = {}
    for key in SESSION_KEYS:
        value = counts.get(key)
        if type(value) is not int or value < 0:
            raise RulesError(f"{field}.{key}", f"expected a whole number >= 0, got {value!r}")
        found[key] = value
    return found
