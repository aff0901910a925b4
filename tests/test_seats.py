"""Concessionary seats from the database: spare seats, allocation, offers, withdrawal, lapse.

Clause references: A9 and Appendix F (spare seats, register, withdrawal), B1j (instalments).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import rules
from models import (
    ConcessionaryApplication,
    ConcessionarySeat,
    Contribution,
    EligibilityDecision,
    Instalment,
    Refund,
    Withdrawal,
    db,
)
from models.enums import (
    ApplicationStatus,
    ConcessionaryStatus,
    Outcome,
    PaymentPlan,
    SeatStatus,
    Sessions,
    SixthForm,
)
from services import seats, years
from services.contributions import record_payment
from tests import factories as f

YEAR = "2024/25"
SUMMER = date(2024, 8, 20)  # allocation before the year: seats start on the first day of travel


def entitled(route, sessions=Sessions.BOTH, outcome=Outcome.ELIGIBLE, superseded=False):  # type: ignore[no-untyped-def]
    """An entitled pupil carried on `route` (a current eligible decision); route None: one not
    on a route yet."""
    school = f.school()
    app = f.transport_application(
        f.pupil(),
        school,
        route_id=route.id if route is not None else None,
        route_sessions=sessions if route is not None else None,
        distance_m=6000,
    )
    now = datetime(2024, 7, 1, tzinfo=UTC)
    f.decision(app, outcome=outcome, decided_at=now, superseded_at=now if superseded else None)
    return app


def held_seat(route, school, sessions, status=SeatStatus.ACTIVE, end=date(2025, 8, 31)):  # type: ignore[no-untyped-def]
    app = f.concessionary_application(
        f.pupil(), school, route, sessions=sessions, status=ConcessionaryStatus.ALLOCATED
    )
    seat = ConcessionarySeat(
        application_id=app.id,
        route_id=route.id,
        sessions=sessions,
        start_date=date(2024, 9, 4),
        end_date=end,
        status=status,
    )
    db.session.add(seat)
    db.session.flush()
    return seat


@pytest.fixture
def year(app_ctx):  # type: ignore[no-untyped-def]
    f.academic_year()
    f.contribution_setting()
    db.session.commit()


def test_spare_seats_subtract_entitled_concessionary_and_withdrawn_not_yet_effective_appendix_f(
    year,
) -> None:
    school = f.school()
    route = f.route([school], seats=10)
    entitled(route, Sessions.BOTH)
    entitled(route, Sessions.AM)
    entitled(route, Sessions.BOTH, outcome=Outcome.NOT_ELIGIBLE)  # not carried
    entitled(route, Sessions.BOTH, superseded=True)  # an old decision does not count
    held_seat(route, school, Sessions.AM)
    held_seat(route, school, Sessions.PM)
    # Withdrawn with effective date 10 Oct: still held before it, free from it.
    held_seat(route, school, Sessions.BOTH, SeatStatus.WITHDRAWN, end=date(2024, 10, 10))
    held_seat(route, school, Sessions.BOTH, SeatStatus.LAPSED)
    other = f.route([school], seats=5, runs_pm=False)
    db.session.commit()

    before = seats.spare_seats(db.session, YEAR, date(2024, 10, 9))
    assert before[route.id] == {"am": 10 - 2 - 1 - 1, "pm": 10 - 1 - 1 - 1}
    assert before[other.id] == {"am": 5, "pm": 0}  # no afternoon run, no afternoon seats
    on_effective = seats.spare_seats(db.session, YEAR, date(2024, 10, 10))
    assert on_effective[route.id] == {"am": 7, "pm": 8}


def _register_scenario(seat_count: int = 4):  # type: ignore[no-untyped-def]
    """Six applicants, one per tier that separates them (Appendix F), one entitled pupil."""
    school = f.school(easting=497000, northing=371000)
    f.school(easting=500100, northing=375000)  # nearer to the default home than `school`
    dta_parish = f.parish()
    f.dta(school, parishes=[dta_parish])
    route = f.route([school], seats=seat_count)
    entitled(route)
    near = {"parish_id": dta_parish.id, "easting": 498000, "northing": 372000}
    far = {"parish_id": dta_parish.id, "easting": 510000, "northing": 390000}
    people = {
        "out_of_county": f.pupil(lives_in_county=False, **far),
        "am_only": f.pupil(**far),
        "not_designated": f.pupil(),  # home nearer another school, not in the DTA
        "exam_year11": f.pupil(date_of_birth=date(2009, 3, 1), **near),
        "far": f.pupil(**far),
        "near": f.pupil(**near),
    }
    apps = {}
    for name, pupil in people.items():
        apps[name] = f.concessionary_application(
            pupil,
            school,
            route,
            sessions=Sessions.AM if name == "am_only" else Sessions.BOTH,
            payment_plan=PaymentPlan.THREE,
        )
    db.session.commit()
    return route, apps


def _status(app_id: int) -> tuple[ConcessionaryStatus, int | None]:
    row = db.session.get(ConcessionaryApplication, app_id)
    db.session.refresh(row)
    return row.status, row.waitlist_position


def test_allocate_honours_the_six_tier_register_and_ranks_the_waiting_list_appendix_f(
    year,
) -> None:
    route, apps = _register_scenario(seat_count=4)  # 1 entitled + 3 spare

    report = seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])

    assert report.allocated == 3
    assert [ref for ref, _ in report.routes[0].waiting] == [
        apps["not_designated"].reference,
        apps["am_only"].reference,
        apps["out_of_county"].reference,
    ]
    assert _status(apps["exam_year11"].id) == (ConcessionaryStatus.ALLOCATED, None)
    assert _status(apps["far"].id) == (ConcessionaryStatus.ALLOCATED, None)
    assert _status(apps["near"].id) == (ConcessionaryStatus.ALLOCATED, None)
    assert _status(apps["not_designated"].id) == (ConcessionaryStatus.WAITING, 1)
    assert _status(apps["am_only"].id) == (ConcessionaryStatus.WAITING, 2)
    assert _status(apps["out_of_county"].id) == (ConcessionaryStatus.WAITING, 3)
    # The vehicle is now full in both sessions.
    assert seats.spare_seats(db.session, YEAR, SUMMER)[route.id] == {"am": 0, "pm": 0}
    seat_rows = db.session.scalars(select(ConcessionarySeat)).all()
    assert {(s.start_date, s.end_date) for s in seat_rows} == {
        (date(2024, 9, 4), date(2025, 8, 31))  # first day of travel to the end of the year
    }


def test_a_lower_applicant_takes_a_morning_seat_a_higher_one_cannot_use_appendix_f(year) -> None:
    school = f.school()
    route = f.route([school], seats=2)
    entitled(route, Sessions.PM)  # one afternoon seat left, two morning seats
    both = f.concessionary_application(f.pupil(), school, route, sessions=Sessions.BOTH)
    both2 = f.concessionary_application(f.pupil(), school, route, sessions=Sessions.BOTH)
    am = f.concessionary_application(f.pupil(), school, route, sessions=Sessions.AM)
    db.session.commit()

    seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])

    statuses = {a.reference: _status(a.id)[0] for a in (both, both2, am)}
    assert statuses[am.reference] == ConcessionaryStatus.ALLOCATED
    assert sorted(statuses.values()).count(ConcessionaryStatus.ALLOCATED) == 2


def test_a_fare_paying_alternative_refuses_every_applicant_with_the_reason_appendix_f(
    year,
) -> None:
    school = f.school()
    route = f.route([school], seats=40, fare_paying_alternative=True)
    a = f.concessionary_application(f.pupil(), school, route)
    db.session.commit()

    report = seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])

    assert report.refused == 1 and report.allocated == 0
    row = db.session.get(ConcessionaryApplication, a.id)
    assert row.status == ConcessionaryStatus.REFUSED
    assert "fare-paying" in row.refusal_reason and "Appendix F" in row.refusal_reason
    assert db.session.scalar(select(func.count()).select_from(ConcessionarySeat)) == 0


def test_each_allocated_family_gets_a_contribution_whose_instalments_sum_exactly_b1j(
    year,
) -> None:
    route, apps = _register_scenario()
    seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])

    contributions = db.session.scalars(select(Contribution)).all()
    assert len(contributions) == 3
    expected = rules.contribution(
        Decimal("456.00"),
        date(2024, 9, 4),
        "3",
        [(t[1], t[2]) for t in f.TERMS],
        [c[0] for c in f.CLOSURES],
    )
    for c in contributions:
        assert c.plan == PaymentPlan.THREE
        assert c.amount == Decimal("456.00")  # a whole year: 190 of 190 days
        assert [(i.due_on, i.amount) for i in c.instalments] == [
            (i.due, i.amount) for i in expected.instalments
        ]
        assert sum(i.amount for i in c.instalments) == c.amount


def test_a_mid_year_allocation_is_pro_rata_on_the_operational_days_left_a9(year) -> None:
    school = f.school()
    route = f.route([school], seats=5)
    a = f.concessionary_application(f.pupil(), school, route, payment_plan=PaymentPlan.SIX)
    db.session.commit()

    seats.allocate(YEAR, on=date(2025, 1, 13), route_ids=[route.id])

    contribution = db.session.scalar(select(Contribution))
    days = rules.operational_days([(t[1], t[2]) for t in f.TERMS], [c[0] for c in f.CLOSURES])
    left = len([d for d in days if d >= date(2025, 1, 13)])
    expected = (Decimal("456.00") * left / len(days)).quantize(Decimal("0.01"))
    assert contribution.amount == expected < Decimal("456.00")  # A9: the days remaining
    assert contribution.start_date == date(2025, 1, 13)
    assert sum(i.amount for i in contribution.instalments) == expected
    assert len(contribution.instalments) == 6
    assert contribution.instalments[0].due_on == date(2025, 1, 13)  # before travel (B1j)
    assert db.session.get(ConcessionaryApplication, a.id).status == ConcessionaryStatus.ALLOCATED


def test_re_running_allocation_changes_nothing_and_keeps_the_waiting_list(year) -> None:
    route, apps = _register_scenario()
    seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])
    before = {a.id: _status(a.id) for a in apps.values()}

    again = seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])

    assert again.allocated == 0
    assert {a.id: _status(a.id) for a in apps.values()} == before
    assert db.session.scalar(select(func.count()).select_from(ConcessionarySeat)) == 3
    assert db.session.scalar(select(func.count()).select_from(Contribution)) == 3


def test_allocation_is_all_or_nothing_when_the_year_has_no_charge_set(app_ctx) -> None:
    f.academic_year()  # but no contribution setting
    school = f.school()
    route = f.route([school], seats=5)
    a = f.concessionary_application(f.pupil(), school, route)
    db.session.commit()

    with pytest.raises(seats.SeatError, match="contribution setting"):
        seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])

    assert db.session.get(ConcessionaryApplication, a.id).status == ConcessionaryStatus.PENDING
    assert db.session.scalar(select(func.count()).select_from(ConcessionarySeat)) == 0


def test_allocating_selected_applications_leaves_the_others_pending(year) -> None:
    school = f.school()
    route = f.route([school], seats=5)
    chosen = f.concessionary_application(f.pupil(), school, route)
    other = f.concessionary_application(f.pupil(), school, route)
    db.session.commit()

    seats.allocate(YEAR, on=SUMMER, application_ids=[chosen.id])

    assert _status(chosen.id)[0] == ConcessionaryStatus.ALLOCATED
    assert _status(other.id)[0] == ConcessionaryStatus.PENDING


def test_offer_next_gives_a_freed_seat_to_the_highest_waiting_applicant_whose_sessions_fit(
    year,
) -> None:
    route, apps = _register_scenario()
    seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])
    # An entitled pupil's afternoon journey ends: one afternoon seat frees up. The top of
    # the waiting list wants both sessions, so the seat cannot go to them; nor to the
    # morning-only applicant; it stays free.
    ta = db.session.scalar(select(EligibilityDecision))
    ta.application.route_sessions = Sessions.AM
    db.session.commit()

    report = seats.offer_next(YEAR, on=SUMMER, route_ids=[route.id])
    assert report.allocated == 0
    assert "fit" in report.routes[0].line()

    # Now the morning frees too: the highest waiting (both sessions) gets it.
    ta.application.route_id = None
    db.session.commit()
    report = seats.offer_next(YEAR, on=SUMMER, route_ids=[route.id])

    assert report.routes[0].allocated == [apps["not_designated"].reference]
    assert _status(apps["not_designated"].id) == (ConcessionaryStatus.ALLOCATED, None)
    assert _status(apps["am_only"].id) == (ConcessionaryStatus.WAITING, 1)
    assert _status(apps["out_of_county"].id) == (ConcessionaryStatus.WAITING, 2)


def test_offer_next_fills_every_free_seat_it_can_in_register_order_in_one_run(year) -> None:
    """Appendix F: the freed seats go down the waiting list in register order, each to the
    next applicant whose sessions all still have one, as many as fit, in one run."""
    route, apps = _register_scenario()
    seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])
    # Two more seats and the entitled pupil's journey ends: three free in each session for
    # the waiting list not_designated (both), am_only (AM), out_of_county (both).
    route.seats += 2
    db.session.scalar(select(EligibilityDecision)).application.route_id = None
    db.session.commit()

    planned = seats.offers_planned(YEAR, on=SUMMER, route_ids=[route.id])
    assert planned.allocated == 3
    assert _status(apps["am_only"].id) == (ConcessionaryStatus.WAITING, 2)  # nothing written

    report = seats.offer_next(YEAR, on=SUMMER, route_ids=[route.id])

    assert report.routes[0].allocated == [
        apps["not_designated"].reference,
        apps["am_only"].reference,
        apps["out_of_county"].reference,
    ]
    for name in ("not_designated", "am_only", "out_of_county"):
        assert _status(apps[name].id) == (ConcessionaryStatus.ALLOCATED, None)
    # A second run finds no one left to offer to and changes nothing.
    again = seats.offer_next(YEAR, on=SUMMER, route_ids=[route.id])
    assert again.allocated == 0


def test_offer_next_leaves_a_lower_applicant_the_seat_a_higher_one_cannot_use(year) -> None:
    """Appendix F: one morning seat free; the top of the list wants both sessions, so the
    morning-only applicant below gets it, and the list is renumbered."""
    route, apps = _register_scenario()
    seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])
    db.session.scalar(select(EligibilityDecision)).application.route_sessions = Sessions.PM
    db.session.commit()

    report = seats.offer_next(YEAR, on=SUMMER, route_ids=[route.id])

    assert report.routes[0].allocated == [apps["am_only"].reference]
    assert _status(apps["not_designated"].id) == (ConcessionaryStatus.WAITING, 1)
    assert _status(apps["out_of_county"].id) == (ConcessionaryStatus.WAITING, 2)


def test_one_summary_counts_outcomes_refusals_by_reason_and_the_routes_touched(year) -> None:
    school = f.school()
    open_route = f.route([school], seats=1, code="OPEN1")
    fare_route = f.route([school], seats=5, code="FARE1", fare_paying_alternative=True)
    quiet = f.route([school], seats=5, code="QUIET")
    for route in (open_route, open_route, fare_route, fare_route):
        f.concessionary_application(f.pupil(), school, route)
    db.session.commit()

    report = seats.allocate(YEAR, on=SUMMER, route_ids=[open_route.id, fare_route.id, quiet.id])
    text = report.overview()

    assert text.startswith("1 allocated, 1 on waiting lists, 2 refused across 3 route(s).")
    assert f"Refused, 2: {seats.REFUSAL_TEXT['fare_paying_alternative']}." in text
    assert "Routes with outcomes: OPEN1, FARE1." in text


def test_withdraw_takes_the_lowest_in_the_register_first_with_notice_and_refund_appendix_f(
    year, users
) -> None:
    route, apps = _register_scenario()
    seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])
    lowest = apps["near"]  # allocated, but lowest of the three holders in the register
    contribution = db.session.scalar(
        select(Contribution)
        .join(ConcessionarySeat)
        .where(ConcessionarySeat.application_id == lowest.id)
    )
    first = contribution.instalments[0]
    record_payment(first.id, first.amount, received_on=date(2024, 9, 1), method="card")
    notice = date(2024, 10, 1)

    report = seats.withdraw(
        route.id,
        {"am": 1, "pm": 0},
        year=YEAR,
        on=notice,
        reason="Seat needed for an entitled child moving into the area",
        family_told_of_appeal=True,
        decided_by_id=users["officer"],
    )

    assert report.routes[0].withdrawn == [lowest.reference]
    params = years.policy_for(YEAR)
    effective = rules.add_working_days(notice, params.concessionary_withdrawal_notice_days)
    w = db.session.scalar(select(Withdrawal))
    assert (w.clause, w.notice_on, w.effective_on) == ("Appendix F", notice, effective)
    assert w.family_told_of_appeal and w.decided_by_id == users["officer"]
    seat = db.session.get(ConcessionarySeat, w.concessionary_seat_id)
    expected_refund = rules.refund(
        Decimal("456.00"),
        first.amount,
        seat.start_date,
        effective,
        [(t[1], t[2]) for t in f.TERMS],
        [c[0] for c in f.CLOSURES],
    ).refund
    assert w.refund_amount == expected_refund > 0
    refund = db.session.scalar(select(Refund))
    assert refund.amount == expected_refund and refund.contribution_id == contribution.id
    seat = db.session.get(ConcessionarySeat, w.concessionary_seat_id)
    assert (seat.status, seat.end_date) == (SeatStatus.WITHDRAWN, effective)
    assert _status(lowest.id)[0] == ConcessionaryStatus.WITHDRAWN
    # The seat stays held until the effective date, then is free.
    assert seats.spare_seats(db.session, YEAR, notice)[route.id]["am"] == 0
    assert seats.spare_seats(db.session, YEAR, effective)[route.id]["am"] == 1


def test_withdraw_reports_what_the_holders_cannot_free(year, users) -> None:
    school = f.school()
    route = f.route([school], seats=1)
    f.concessionary_application(f.pupil(), school, route)
    db.session.commit()
    seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])

    report = seats.withdraw(
        route.id,
        {"am": 2, "pm": 0},
        year=YEAR,
        on=date(2024, 10, 1),
        reason="entitled children",
        family_told_of_appeal=True,
        decided_by_id=users["officer"],
    )
    assert report.withdrawn == 1
    assert "still needed AM 1" in report.routes[0].line()
    # No payment was made, so no refund row.
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0


def test_year_end_lapses_seats_and_applications_of_a_finished_year_appendix_f(year) -> None:
    route, apps = _register_scenario()
    seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])

    with pytest.raises(seats.SeatError, match="has not finished"):
        seats.lapse(YEAR, on=date(2025, 8, 31))

    counts = seats.lapse(YEAR, on=date(2025, 9, 1))

    assert counts == {"seats": 3, "applications": 6}
    assert set(db.session.scalars(select(ConcessionarySeat.status))) == {SeatStatus.LAPSED}
    assert {_status(a.id) for a in apps.values()} == {(ConcessionaryStatus.LAPSED, None)}
    assert seats.lapse(YEAR, on=date(2025, 9, 1)) == {"seats": 0, "applications": 0}


def test_instalment_rows_are_numbered_from_one(year) -> None:
    route, _ = _register_scenario()
    seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])
    numbers = sorted(set(db.session.scalars(select(Instalment.number))))
    assert numbers == [1, 2, 3]


def test_the_database_refuses_a_seat_beyond_the_vehicle_capacity_appendix_f(year) -> None:
    """The backstop under the service's route lock: even a write that bypasses allocation
    cannot put more passengers on a route than it has seats."""
    from sqlalchemy.exc import IntegrityError

    school = f.school()
    route = f.route([school], seats=2)
    entitled(route, Sessions.AM)
    held_seat(route, school, Sessions.BOTH)  # AM now full (1 entitled + 1 seat)
    held_seat(route, school, Sessions.PM)  # PM fits: 2 seats
    db.session.commit()
    with pytest.raises(IntegrityError, match="Appendix F"):
        held_seat(route, school, Sessions.AM)
    db.session.rollback()
    with pytest.raises(IntegrityError, match="Appendix F"):
        held_seat(route, school, Sessions.PM)
    db.session.rollback()
    # Re-activating a withdrawn seat on a full route is refused too.
    spare = held_seat(route, school, Sessions.AM, SeatStatus.WITHDRAWN, end=date(2024, 10, 1))
    db.session.commit()
    spare.status = SeatStatus.ACTIVE
    with pytest.raises(IntegrityError, match="Appendix F"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ConcessionarySeat)) == 3


def test_a_measured_route_distance_outranks_the_straight_line_appendix_f_5th_tier(year) -> None:
    """5th tier: furthest from the designated or nearest school; the measured route (A3b) is
    used when there is one, else the straight line."""
    school = f.school()
    parish = f.parish()
    f.dta(school, parishes=[parish])
    route = f.route([school], seats=1)
    same = {"parish_id": parish.id, "easting": 500000, "northing": 375000}
    straight = f.concessionary_application(f.pupil(**same), school, route)
    measured_pupil = f.pupil(**same)
    f.transport_application(measured_pupil, school, distance_m=9000)
    measured = f.concessionary_application(
        measured_pupil,
        school,
        route,
        received_on=date(2024, 7, 1),  # later: loses a tie
    )
    db.session.commit()

    seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])

    assert _status(measured.id) == (ConcessionaryStatus.ALLOCATED, None)
    assert _status(straight.id) == (ConcessionaryStatus.WAITING, 1)


def test_a_dta_postcode_counts_only_for_the_pupil_who_lives_there_appendix_f_3rd_tier(
    year,
) -> None:
    """3rd tier: the DTA must list *this* pupil's parish or postcode. A postcode in the DTA
    where some other pupil lives says nothing about this one."""
    school = f.school(easting=497000, northing=371000)
    f.school(easting=500100, northing=375000)  # the nearest school to the default home
    listed = f.postcode("LN9 9ZZ")
    f.dta(school, postcodes=[listed])
    at_listed = f.pupil(postcode="LN9 9ZZ", easting=498000, northing=372000)
    elsewhere = f.pupil()  # postcode LN2 2BB, not in the DTA, nearer the other school
    route = f.route([school])
    apps = [f.concessionary_application(p, school, route) for p in (at_listed, elsewhere)]
    db.session.commit()

    found = {
        c.application_id: c.applicant.attends_designated_or_nearest
        for c in seats.gather_candidates(db.session, [seats.CA.route_id == route.id], YEAR)
    }

    assert found == {apps[0].id: True, apps[1].id: False}


# --------------------------------------------------------------------------- entitled pupils


def _full_route(seat_count: int = 3, **kw):  # type: ignore[no-untyped-def]
    """A route whose vehicle is full: one entitled pupil and the rest concessionary seats."""
    school = f.school()
    route = f.route([school], seats=seat_count, code="FULL1", **kw)
    entitled(route)
    for _ in range(seat_count - 1):
        held_seat(route, school, Sessions.BOTH)
    return route, school


def _put_on(application, route, sessions):  # type: ignore[no-untyped-def]
    """What the transport-applications form does: set the route, then check before saving."""
    application.route = route
    application.route_sessions = sessions
    seats.check_entitled_pupil_fits(db.session, application, on=SUMMER)


def test_an_entitled_pupil_put_on_a_full_route_is_refused_in_words_a2_appendix_f(year) -> None:
    route, school = _full_route()
    # One of the two concessionary seats is already under notice (free from 1 October).
    held_seat(route, school, Sessions.BOTH, SeatStatus.WITHDRAWN, end=date(2024, 10, 1))
    route.seats = 4
    pupil = entitled(None)
    db.session.commit()

    with pytest.raises(seats.SeatError) as refused:
        _put_on(pupil, route, Sessions.BOTH)

    message = str(refused.value)
    assert message.startswith(
        "Route FULL1 is full in the morning and the afternoon: its 4 seats are taken by 1 "
        "entitled pupil and 3 concessionary seats (1 of them already withdrawn, the first free "
        "from 01 October 2024). This pupil is entitled to transport"
    )
    assert "'Withdraw seats for entitled children'; Appendix F" in message
    # Notice from the policy parameters, in working days (26 August is a bank holiday).
    assert "one withdrawn now is free from 28 August 2024, after 5 working days' notice" in message
    assert message.endswith("or carry the pupil on another route. Nothing was saved.")
    db.session.rollback()
    # Nothing was withdrawn to make room: that is the officer's decision.
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(ConcessionarySeat)
            .where(ConcessionarySeat.status == SeatStatus.ACTIVE)
        )
        == 2
    )


def test_only_the_sessions_a_pupil_newly_rides_need_a_seat(year) -> None:
    route, _ = _full_route(runs_pm=False)
    rider = entitled(route, Sessions.AM)
    route.seats = 4  # room for the rider, and no more
    db.session.commit()

    _put_on(rider, route, Sessions.AM)  # already rides in the morning: no new seat
    with pytest.raises(seats.SeatError, match="does not run in the afternoon"):
        _put_on(rider, route, Sessions.BOTH)
    db.session.rollback()

    route.seats = 5
    other = entitled(None)
    db.session.commit()
    _put_on(other, route, Sessions.AM)  # the last morning seat
    db.session.commit()
    assert seats.spare_seats(db.session, YEAR, SUMMER)[route.id] == {"am": 0, "pm": 0}


def test_a_pupil_not_yet_found_eligible_takes_no_seat(year) -> None:
    route, _ = _full_route()
    pending = entitled(None, outcome=Outcome.REFER)
    db.session.commit()

    _put_on(pending, route, Sessions.BOTH)
    db.session.commit()

    assert seats.spare_seats(db.session, YEAR, SUMMER)[route.id] == {"am": 0, "pm": 0}


def test_the_database_refuses_an_entitled_pupil_beyond_the_vehicle_capacity(year) -> None:
    """The backstop for writers that bypass the service: putting an entitled pupil on a full
    route, or onto a session of it they did not ride, is refused by the database itself."""
    from sqlalchemy.exc import IntegrityError

    route, _ = _full_route(seat_count=3)
    rider = entitled(route, Sessions.AM)
    route.seats = 4  # AM: 1 + 2 seats + rider = 4, full; PM: 3 of 4
    newcomer = entitled(None)
    db.session.commit()

    newcomer.route_id, newcomer.route_sessions = route.id, Sessions.BOTH
    with pytest.raises(IntegrityError, match="Vehicle capacity"):
        db.session.commit()
    db.session.rollback()
    newcomer.route_id, newcomer.route_sessions = route.id, Sessions.PM  # the last PM seat
    db.session.commit()
    rider.route_sessions = Sessions.BOTH  # PM is now full too
    with pytest.raises(IntegrityError, match="Vehicle capacity"):
        db.session.commit()
    db.session.rollback()
    # Changes that add no passenger pass on a full route.
    rider.distance_m = 7000
    rider.status = ApplicationStatus.DECIDED
    newcomer.route_sessions = Sessions.PM
    db.session.commit()
    assert seats.spare_seats(db.session, YEAR, SUMMER)[route.id] == {"am": 0, "pm": 0}


def test_a_school_without_a_sixth_form_is_not_a_post16_students_nearest_appendix_f_a7b(
    year,
) -> None:
    """Appendix F's "designated or nearest school", for a student in Year 12, is the nearest
    school "with a sixth form provision" or college (A7b): an 11-18 school that GIAS says has
    no sixth form does not count for them, though it still does for a Year 10 pupil."""
    attended = f.school(statutory_high_age=18, sixth_form=SixthForm.HAS)
    f.school(  # nearer the default home (500000, 375000) than the attended school
        statutory_high_age=18,
        sixth_form=SixthForm.DOES_NOT_HAVE,
        easting=500100,
        northing=375000,
    )
    route = f.route([attended])
    year12 = f.pupil(date_of_birth=date(2008, 5, 5))
    year10 = f.pupil(date_of_birth=date(2010, 5, 5))
    apps = [f.concessionary_application(p, attended, route) for p in (year12, year10)]
    db.session.commit()

    found = {
        c.application_id: c.applicant.attends_designated_or_nearest
        for c in seats.gather_candidates(db.session, [seats.CA.route_id == route.id], YEAR)
    }

    assert found == {apps[0].id: True, apps[1].id: False}
