"""Properties that must hold for every input, not just the ones we thought of (Hypothesis)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import Phase, assume, given, settings
from hypothesis import strategies as st

from rules import (
    AllocationRequest,
    Applicant,
    Care,
    Case,
    ContributionError,
    ExceptionalCircumstances,
    Medical,
    Post16,
    WithdrawalRequest,
    allocate,
    assess,
    contribution,
    operational_days,
    refund,
    register,
    withdraw,
)
from rules.vocab import CareBy, MedicalWho, Placement, Plan, SchoolType, Sessions

# Per test, not a global profile: other suites in the same run keep their own settings.
checked = settings(
    max_examples=100,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
)

distances = st.one_of(st.none(), st.integers(0, 40000))
maybe_accepted = st.one_of(st.none(), st.booleans())


@st.composite
def cases(draw: st.DrawFn) -> Case:
    year = draw(st.sampled_from(["2024/25", "2025/26"]))
    start = int(year[:4])
    return Case(
        academic_year=year,
        date_of_birth=draw(st.dates(date(start - 27, 1, 1), date(start - 3, 12, 31))),
        year_group=draw(st.one_of(st.none(), st.integers(-1, 15))),
        lives_in_county=draw(st.booleans()),
        school_type=draw(st.sampled_from(SchoolType)),
        distance_m=draw(distances),
        straight_line_m=draw(distances),
        is_dta_school=draw(st.booleans()),
        is_nearest_suitable=draw(st.booleans()),
        nearer_than_dta_school=draw(st.booleans()),
        nearest_suitable_rank=draw(st.one_of(st.none(), st.integers(1, 6))),
        low_income=draw(st.booleans()),
        religion_or_belief=draw(st.booleans()),
        route_unsuitable=draw(st.booleans()),
        ehcp=draw(st.booleans()),
        exceptional_transport_need=draw(st.booleans()),
        medical=draw(
            st.one_of(
                st.none(),
                st.builds(
                    Medical,
                    who=st.sampled_from(MedicalWho),
                    accepted=maybe_accepted,
                    until=st.one_of(
                        st.none(), st.dates(date(start - 1, 1, 1), date(start + 2, 1, 1))
                    ),
                ),
            )
        ),
        care=draw(
            st.one_of(
                st.none(),
                st.builds(
                    Care,
                    by=st.sampled_from(CareBy),
                    placement=st.sampled_from(Placement),
                    purchase_order=st.one_of(st.none(), st.just("PO-1")),
                ),
            )
        ),
        exceptional_circumstances=draw(
            st.one_of(st.none(), st.builds(ExceptionalCircumstances, accepted=maybe_accepted))
        ),
        post16=draw(
            st.builds(
                Post16,
                full_time_hours=st.decimals(0, 40, places=1),
                higher_education=st.booleans(),
                apprenticeship=st.booleans(),
                repeat_or_non_progression=st.booleans(),
                programme_started_before_19=st.booleans(),
                post19_need_determined=st.booleans(),
            )
        ),
    )


@checked
@given(cases())
def test_assess_is_deterministic(case: Case) -> None:
    assert assess(case) == assess(dataclasses.replace(case))


@checked
@given(cases())
def test_decision_is_consistent(case: Case) -> None:
    d = assess(case)
    assert d.reasons
    if d.outcome == "eligible":
        assert d.charge is not None
        assert d.basis is not None and d.clauses[0] == d.basis
        assert len(set(d.clauses)) == len(d.clauses)
        assert d.valid_until is not None
        assert d.valid_until >= date(int(case.academic_year[:4]), 9, 1)
        assert d.review_date == (d.valid_until if d.basis in ("A13", "A21") else None)
        if case.care is not None and case.care.by == CareBy.COUNCIL:
            assert d.charge != "contribution", "A21: post-16 in care pays nothing"
    elif d.outcome == "not_eligible":
        assert d.clauses == [d.basis] and d.basis is not None
        assert (d.charge, d.valid_until, d.review_date) == (None, None, None)
    else:
        assert (d.basis, d.clauses, d.charge, d.valid_until) == (None, [], None, None)


@checked
@given(cases(), st.integers(0, 11), st.integers(0, 40000), st.integers(1, 50000))
def test_A3_moving_further_away_never_refuses(case: Case, group: int, over: int, further: int):
    award = dataclasses.replace(
        case,
        year_group=group,
        lives_in_county=True,
        school_type=SchoolType.MAINTAINED,
        is_dta_school=True,
        distance_m=4828 + over,
        ehcp=case.ehcp and not (case.care is not None and case.care.by == CareBy.OTHER_LA),
    )
    assert assess(award).basis == "A3"
    after = assess(dataclasses.replace(award, distance_m=award.distance_m + further))
    assert after.outcome == "eligible" and after.basis == "A3"


@checked
@given(cases(), st.integers(0, 40000), st.integers(0, 40000))
def test_A3b_a_measured_route_makes_the_straight_line_irrelevant(case: Case, route: int, line: int):
    measured = dataclasses.replace(case, distance_m=route)
    assert assess(measured) == assess(dataclasses.replace(measured, straight_line_m=line))


@checked
@given(cases(), st.integers(0, 40000))
def test_measuring_settles_every_measure(case: Case, measured: int) -> None:
    unmeasured = dataclasses.replace(case, distance_m=None)
    if assess(unmeasured).outcome == "measure":
        assert assess(dataclasses.replace(unmeasured, distance_m=measured)).outcome != "measure"


# --- the register ------------------------------------------------------------------------------


@st.composite
def applicant_lists(draw: st.DrawFn, max_size: int = 12) -> list[Applicant]:
    ids = draw(
        st.lists(st.text("abcXYZ-1", min_size=1, max_size=4), unique=True, max_size=max_size)
    )
    return [
        Applicant(
            id=ident,
            lives_in_county=draw(st.booleans()),
            sessions=draw(st.sampled_from(Sessions)),
            attends_designated_or_nearest=draw(st.booleans()),
            part_way_through_exam_course=draw(st.booleans()),
            distance_m=draw(st.integers(0, 3)) * 1000,
            date_of_birth=draw(st.sampled_from([date(2010, 1, 1), date(2011, 1, 1)])),
            received=draw(st.sampled_from([date(2024, 6, 1), date(2024, 6, 2)])),
        )
        for ident in ids
    ]


WANTS = {Sessions.AM: {"am"}, Sessions.PM: {"pm"}, Sessions.BOTH: {"am", "pm"}}


@checked
@given(applicant_lists(), st.randoms(use_true_random=False))
def test_AppendixF_register_is_a_total_order_independent_of_input_order(applicants, rnd) -> None:
    shuffled = list(applicants)
    rnd.shuffle(shuffled)
    assert register(shuffled) == register(applicants)
    assert register(reversed(applicants)) == register(applicants)


@checked
@given(applicant_lists(), st.integers(0, 5), st.integers(0, 5))
def test_AppendixF_never_more_seats_than_free(applicants, am: int, pm: int) -> None:
    result = allocate(AllocationRequest(seats={"am": am, "pm": pm}, applicants=applicants))
    by_id = {a.id: a for a in applicants}
    used = Counter(s for i in result.allocated for s in WANTS[by_id[i].sessions])
    assert used["am"] <= am and used["pm"] <= pm
    assert sorted(result.allocated + result.waitlist) == sorted(by_id)
    left = {"am": am - used["am"], "pm": pm - used["pm"]}
    for i in result.waitlist:  # a seat it could use would have been given
        assert any(left[s] == 0 for s in WANTS[by_id[i].sessions])
    assert result.register == [a.id for a in register(applicants)]


@checked
@given(applicant_lists(), st.booleans(), st.booleans())
def test_AppendixF_fare_paying_or_cost_refuses_all(applicants, fare: bool, cost: bool) -> None:
    assume(fare or cost)
    result = allocate(
        AllocationRequest(
            seats={"am": 9, "pm": 9},
            applicants=applicants,
            fare_paying_alternative=fare,
            additional_cost=cost,
        )
    )
    assert result.allocated == [] and [r.id for r in result.refused] == result.register


@checked
@given(applicant_lists(), st.integers(0, 5), st.integers(0, 5))
def test_AppendixF_withdraw_frees_what_it_can_from_the_bottom(holders, am: int, pm: int) -> None:
    result = withdraw(WithdrawalRequest(needed={"am": am, "pm": pm}, holders=holders))
    by_id = {h.id: h for h in holders}
    freed = Counter(s for i in result.withdrawn for s in WANTS[by_id[i].sessions])
    assert result.unmet == {"am": max(am - freed["am"], 0), "pm": max(pm - freed["pm"], 0)}
    for session, unmet in result.unmet.items():
        if unmet:
            assert all(h.id in result.withdrawn for h in holders if session in WANTS[h.sessions])
    bottom_up = [a.id for a in reversed(register(holders))]
    assert result.withdrawn == [i for i in bottom_up if i in result.withdrawn]


# --- contribution ------------------------------------------------------------------------------


@st.composite
def calendars(draw: st.DrawFn) -> tuple[list[tuple[date, date]], list[date]]:
    first = date(2024, 9, 2)
    terms = []
    for _ in range(draw(st.integers(1, 6))):
        start = first + timedelta(days=draw(st.integers(0, 300)))
        terms.append((start, start + timedelta(days=draw(st.integers(0, 60)))))
    closures = draw(st.lists(st.dates(date(2024, 9, 1), date(2025, 8, 31)), max_size=10))
    return terms, closures


money = st.decimals(0, 2000, places=2)


@checked
@given(money, st.dates(date(2024, 8, 1), date(2025, 9, 30)), st.sampled_from(Plan), calendars())
def test_B1j_instalments_add_up_and_amount_never_exceeds_the_charge(annual, start, plan, cal):
    terms, closures = cal
    days = operational_days(terms, closures)
    left = [d for d in days if d >= start]
    try:
        result = contribution(annual, start, plan, terms, closures)
    except ContributionError:
        assert not days or len(left) < {"full": 1, "3": 3, "6": 6}[plan]
        return
    assert result.amount <= annual
    assert sum(i.amount for i in result.instalments) == result.amount
    assert all(
        i.amount >= 0 and i.amount == i.amount.quantize(Decimal("0.01")) for i in result.instalments
    )
    assert all(i.amount == result.instalments[1].amount for i in result.instalments[1:])
    assert result.instalments[0].amount >= result.instalments[-1].amount
    assert result.instalments[0].amount - result.instalments[-1].amount < Decimal("0.01") * len(
        result.instalments
    )
    dues = [i.due for i in result.instalments]
    assert dues == sorted(dues) and dues[0] == left[0] and all(d in left for d in dues)
    assert (result.operational_days, result.remaining_days) == (len(days), len(left))


@checked
@given(
    money,
    money,
    st.dates(date(2024, 8, 1), date(2025, 9, 30)),
    st.dates(date(2024, 8, 1), date(2025, 9, 30)),
    calendars(),
)
def test_project_rule_refund_never_exceeds_what_was_paid(annual, paid, start, effective, cal):
    """RULES.md v2: paid = cost of the days used + refund - still owed, never negative."""
    terms, closures = cal
    assume(operational_days(terms, closures) and start <= effective)
    got = refund(annual, paid, start, effective, terms, closures)
    assert Decimal(0) <= got.refund <= paid
    assert Decimal(0) <= got.cost_of_days_used <= annual
    assert got.refund == 0 or got.still_owed == 0
    assert paid - got.refund + got.still_owed == got.cost_of_days_used
