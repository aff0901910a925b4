"""Appendix F: the six-tier priority register, allocation of spare seats and withdrawal."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from rules import (
    AllocationRequest,
    Applicant,
    RulesError,
    Sessions,
    WithdrawalRequest,
    allocate,
    register,
    withdraw,
)
from rules.register import Refusal

BASE = Applicant(
    id="base",
    lives_in_county=True,
    sessions=Sessions.BOTH,
    attends_designated_or_nearest=True,
    part_way_through_exam_course=False,
    distance_m=5000,
    date_of_birth=date(2011, 1, 1),
    received=date(2024, 6, 1),
)


def applicant(ident: str, **changes: Any) -> Applicant:
    return dataclasses.replace(BASE, id=ident, **changes)


def order(*applicants: Applicant) -> list[str]:
    return [a.id for a in register(applicants)]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param({}, {"lives_in_county": False}, id="AppendixF-1st-living-in-county"),
        pytest.param({}, {"sessions": Sessions.AM}, id="AppendixF-2nd-both-sessions"),
        pytest.param(
            {}, {"attends_designated_or_nearest": False}, id="AppendixF-3rd-designated-or-nearest"
        ),
        pytest.param(
            {"part_way_through_exam_course": True},
            {},
            id="AppendixF-4th-part-way-through-exam-course",
        ),
        pytest.param({"distance_m": 5001}, {}, id="AppendixF-5th-furthest-first"),
        pytest.param({"date_of_birth": date(2011, 1, 2)}, {}, id="AppendixF-6th-youngest-first"),
        pytest.param({"received": date(2024, 5, 31)}, {}, id="project-rule-earlier-received"),
        pytest.param({}, {}, id="project-rule-id-ascending"),
    ],
)
def test_each_tier_decides_alone(first: dict[str, Any], second: dict[str, Any]) -> None:
    a, b = applicant("a", **first), applicant("b", **second)
    assert order(b, a) == ["a", "b"]
    assert order(a, b) == ["a", "b"]


def test_AppendixF_a_higher_tier_outweighs_every_lower_one() -> None:
    in_county = applicant(
        "z",
        sessions=Sessions.PM,
        attends_designated_or_nearest=False,
        distance_m=1,
        date_of_birth=date(2005, 1, 1),
        received=date(2024, 8, 1),
    )
    outside = applicant(
        "a",
        lives_in_county=False,
        part_way_through_exam_course=True,
        distance_m=99999,
        received=date(2024, 1, 1),
    )
    assert order(outside, in_county) == ["z", "a"]


def test_AppendixF_duplicate_ids_are_refused() -> None:
    with pytest.raises(RulesError):
        register([applicant("x"), applicant("x")])


def _request(seats: dict[str, int], *applicants: Applicant, **flags: bool) -> AllocationRequest:
    return AllocationRequest(seats=seats, applicants=list(applicants), **flags)


def test_AppendixF_both_sessions_partial_seats() -> None:
    result = allocate(
        _request(
            {"am": 2, "pm": 1},
            applicant("x", distance_m=9000),
            applicant("y", distance_m=8000),
            applicant("z", sessions=Sessions.AM),
            applicant("w", sessions=Sessions.PM),
        )
    )
    assert result.register == ["x", "y", "w", "z"]  # am-only and pm-only tie: id ascending
    assert result.allocated == ["x", "z"]
    assert result.waitlist == ["y", "w"]
    assert result.refused == []


def test_AppendixF_lower_applicant_takes_seat_higher_could_not_use() -> None:
    result = allocate(
        _request({"am": 0, "pm": 1}, applicant("x"), applicant("y", sessions=Sessions.PM))
    )
    assert (result.allocated, result.waitlist) == (["y"], ["x"])


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        pytest.param(
            {"fare_paying_alternative": True},
            "fare_paying_alternative",
            id="AppendixF-fare-paying-bus",
        ),
        pytest.param({"additional_cost": True}, "additional_cost", id="AppendixF-additional-cost"),
        pytest.param(
            {"fare_paying_alternative": True, "additional_cost": True},
            "fare_paying_alternative",
            id="AppendixF-both-fare-paying-named-first",
        ),
    ],
)
def test_AppendixF_no_concessionary_seats(flags: dict[str, bool], reason: str) -> None:
    result = allocate(
        _request({"am": 9, "pm": 9}, applicant("b", distance_m=1), applicant("a"), **flags)
    )
    assert result.register == ["a", "b"]
    assert result.allocated == [] and result.waitlist == []
    assert result.refused == [Refusal("a", reason), Refusal("b", reason)]


def test_AppendixF_no_seats_everyone_waits_in_register_order() -> None:
    result = allocate(_request({"am": 0, "pm": 0}, applicant("b"), applicant("a")))
    assert result.waitlist == ["a", "b"] and result.allocated == []


def test_allocate_with_no_applicants() -> None:
    assert allocate(_request({"am": 1, "pm": 1})).register == []


def test_allocate_refuses_negative_seats() -> None:
    with pytest.raises(RulesError) as error:
        allocate(_request({"am": -1, "pm": 1}, applicant("a")))
    assert error.value.field == "seats.am"


def _withdraw(needed: dict[str, int], *holders: Applicant):
    return withdraw(WithdrawalRequest(needed=needed, holders=list(holders)))


def test_AppendixF_withdraw_from_the_bottom_of_the_register() -> None:
    result = _withdraw({"am": 1, "pm": 0}, applicant("top", distance_m=9000), applicant("bottom"))
    assert result.withdrawn == ["bottom"]
    assert result.unmet == {"am": 0, "pm": 0}


def test_AppendixF_withdraw_skips_holders_without_a_needed_session() -> None:
    result = _withdraw(
        {"am": 1, "pm": 0},
        applicant("both"),
        applicant("pm-only", sessions=Sessions.PM, lives_in_county=False),
    )
    assert result.withdrawn == ["both"]


def test_AppendixF_withdraw_frees_both_sessions_of_a_both_holder() -> None:
    result = _withdraw({"am": 1, "pm": 1}, applicant("far", distance_m=9000), applicant("near"))
    assert result.withdrawn == ["near"]
    assert result.unmet == {"am": 0, "pm": 0}


def test_AppendixF_withdraw_goes_up_past_single_session_holders() -> None:
    result = _withdraw(
        {"am": 1, "pm": 1},
        applicant("am-only", sessions=Sessions.AM),
        applicant("both"),
    )
    assert result.withdrawn == ["am-only", "both"]  # both-sessions ranks higher (2nd tier)
    assert result.unmet == {"am": 0, "pm": 0}


def test_AppendixF_withdraw_stops_when_needs_are_met() -> None:
    result = _withdraw(
        {"am": 1, "pm": 1},
        applicant("a", distance_m=9000),
        applicant("b", distance_m=8000),
        applicant("c", distance_m=7000),
    )
    assert result.withdrawn == ["c"]


def test_AppendixF_withdraw_unmet_when_holders_cannot_free_enough() -> None:
    result = _withdraw({"am": 3, "pm": 1}, applicant("a"), applicant("b", sessions=Sessions.AM))
    assert result.withdrawn == ["b", "a"]
    assert result.unmet == {"am": 1, "pm": 0}


def test_withdraw_nothing_needed() -> None:
    assert _withdraw({"am": 0, "pm": 0}, applicant("a")).withdrawn == []
