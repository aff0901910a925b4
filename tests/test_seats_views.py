"""The seat screens: spare seats on the routes list, the actions, and who may use them."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import event, func, select

from models import (
    ConcessionaryApplication,
    ConcessionarySeat,
    Route,
    School,
    TransportApplication,
    Withdrawal,
    db,
)
from models.enums import ConcessionaryStatus, SeatStatus
from services import seats, years
from tests import factories as f
from tests.test_seats import YEAR, entitled

SUMMER = date(2024, 8, 20)
ACTIONS = "/admin/concessionary_application/action/"


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(years, "today", lambda: SUMMER)


@pytest.fixture
def route_with_applicants(app):  # type: ignore[no-untyped-def]
    """Built in its own app context: requests must not share the test's context (Flask-Login
    caches the signed-in user on `g`, which lives in the app context)."""
    with app.app_context():
        f.academic_year()
        f.contribution_setting()
        school = f.school(name="Spalding Academy")
        route = f.route([school], seats=3, code="SP01")
        entitled(route)
        apps = [f.concessionary_application(f.pupil(), school, route) for _ in range(3)]
        db.session.commit()
        return route.id, [a.id for a in apps]


def _statuses(app, ids: list[int]) -> list[ConcessionaryStatus]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return [db.session.get(ConcessionaryApplication, i).status for i in ids]


def _withdrawals(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Withdrawal))


def test_routes_list_shows_spare_seats_per_session_a9(client_as, route_with_applicants) -> None:
    route_id, _ = route_with_applicants
    page = client_as("assistant").get("/admin/route/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Spare AM" in html and "Spare PM" in html
    assert "Spalding Academy" in html  # schools served
    cells = re.findall(r'<td class="col-spare_(am|pm)">\s*(-?\d+)\s*</td>', html)
    assert cells == [("am", "2"), ("pm", "2")]  # 3 seats - 1 entitled pupil


def test_routes_list_runs_the_same_number_of_queries_for_3_or_30_routes(client_as, app) -> None:
    with app.app_context():
        f.academic_year()
        school = f.school()
        for _ in range(3):
            entitled(f.route([school]))
        db.session.commit()
        school_id = school.id
    client = client_as("assistant")

    def count() -> int:
        seen: list[str] = []

        def hook(*args: object) -> None:
            seen.append(str(args[2]))

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", hook)
        try:
            assert client.get("/admin/route/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", hook)
        return len(seen)

    few = count()
    with app.app_context():
        school = db.session.get(School, school_id)
        for _ in range(27):
            entitled(f.route([school]))
        db.session.commit()
    assert count() == few


def test_an_assistant_allocates_spare_seats_from_the_routes_list_appendix_f(
    client_as, app, route_with_applicants
) -> None:
    route_id, app_ids = route_with_applicants
    page = client_as("assistant").post(
        "/admin/route/action/",
        data={"action": "allocate_spare_seats", "rowid": [str(route_id)]},
        follow_redirects=True,
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "2 allocated, 1 on waiting lists, 0 refused" in html
    assert sorted(_statuses(app, app_ids)) == sorted(
        [ConcessionaryStatus.ALLOCATED] * 2 + [ConcessionaryStatus.WAITING]
    )


def test_allocate_and_offer_next_from_the_applications_list(
    client_as, app, route_with_applicants
) -> None:
    route_id, app_ids = route_with_applicants
    client = client_as("assistant")
    page = client.post(
        "/admin/concessionary_application/action/",
        data={"action": "allocate", "rowid": [str(i) for i in app_ids[:2]], "confirmed": "1"},
        follow_redirects=True,
    )
    assert "2 allocated" in page.get_data(as_text=True)
    assert _statuses(app, app_ids) == [
        ConcessionaryStatus.ALLOCATED,
        ConcessionaryStatus.ALLOCATED,
        ConcessionaryStatus.PENDING,
    ]
    # The third goes on the waiting list; then a seat frees up and Offer next gives it.
    client.post(
        "/admin/concessionary_application/action/",
        data={"action": "allocate", "rowid": [str(app_ids[2])], "confirmed": "1"},
    )
    assert _statuses(app, app_ids)[2] == ConcessionaryStatus.WAITING
    with app.app_context():
        db.session.scalar(select(TransportApplication)).route_id = None
        db.session.commit()
    page = client.post(
        "/admin/concessionary_application/action/",
        data={"action": "offer_next", "rowid": [str(app_ids[2])], "confirmed": "1"},
        follow_redirects=True,
    )
    assert "1 allocated" in page.get_data(as_text=True)
    assert _statuses(app, app_ids)[2] == ConcessionaryStatus.ALLOCATED


def test_only_officers_and_supervisors_may_withdraw_seats_appendix_f(
    client_as, route_with_applicants
) -> None:
    route_id, _ = route_with_applicants
    assistant = client_as("assistant")
    assert assistant.get(f"/admin/route/withdraw/{route_id}").status_code == 403
    assert (
        assistant.post(
            "/admin/route/action/", data={"action": "withdraw_seats", "rowid": [str(route_id)]}
        ).status_code
        == 403
    )
    assert (
        assistant.post(
            f"/admin/route/withdraw/{route_id}",
            data={"academic_year": YEAR, "am": 1, "pm": 0, "reason": "x", "family_told": "y"},
        ).status_code
        == 403
    )
    officer = client_as("officer")
    page = officer.post(
        "/admin/route/action/", data={"action": "withdraw_seats", "rowid": [str(route_id)]}
    )
    assert page.status_code == 302 and f"/withdraw/{route_id}" in page.headers["Location"]
    assert client_as("supervisor").get(f"/admin/route/withdraw/{route_id}").status_code == 200


def test_the_withdraw_form_withdraws_the_lowest_holder_with_notice_appendix_f(
    client_as, app, route_with_applicants, users
) -> None:
    route_id, app_ids = route_with_applicants
    with app.app_context():
        seats.allocate(YEAR, on=SUMMER, route_ids=[route_id])
    officer = client_as("officer")

    # Not confirming the family is told of the appeal right is a form error; nothing changes.
    page = officer.post(
        f"/admin/route/withdraw/{route_id}",
        data={"academic_year": YEAR, "am": "1", "pm": "0", "reason": "Entitled child"},
    )
    assert page.status_code == 200
    assert "right to appeal" in page.get_data(as_text=True)
    assert _withdrawals(app) == 0

    page = officer.post(
        f"/admin/route/withdraw/{route_id}",
        data={
            "academic_year": YEAR,
            "am": "1",
            "pm": "0",
            "reason": "Entitled child moving in",
            "family_told_of_appeal": "y",
        },
        follow_redirects=True,
    )
    assert "1 withdrawn" in page.get_data(as_text=True)
    with app.app_context():
        w = db.session.scalar(select(Withdrawal))
        assert w.decided_by_id == users["officer"] and w.clause == "Appendix F"
        assert w.notice_on == SUMMER and w.effective_on > SUMMER
        seat = db.session.get(ConcessionarySeat, w.concessionary_seat_id)
        assert seat.status == SeatStatus.WITHDRAWN


def test_bad_numbers_on_the_withdraw_form_are_form_errors(
    client_as, app, route_with_applicants
) -> None:
    route_id, _ = route_with_applicants
    page = client_as("officer").post(
        f"/admin/route/withdraw/{route_id}",
        data={
            "academic_year": YEAR,
            "am": "-1",
            "pm": "x",
            "reason": "r",
            "family_told_of_appeal": "y",
        },
    )
    assert page.status_code == 200
    assert _withdrawals(app) == 0


def test_lapse_action_is_for_officers_and_only_for_a_finished_year(
    client_as, app, route_with_applicants, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, app_ids = route_with_applicants
    data = {"action": "lapse_year", "rowid": [str(app_ids[0])], "confirmed": "1"}
    assert (
        client_as("assistant")
        .post("/admin/concessionary_application/action/", data=data)
        .status_code
        == 403
    )
    officer = client_as("officer")
    page = officer.post(
        "/admin/concessionary_application/action/", data=data, follow_redirects=True
    )
    assert "has not finished" in page.get_data(as_text=True)
    assert _statuses(app, app_ids) == [ConcessionaryStatus.PENDING] * 3

    monkeypatch.setattr(years, "today", lambda: date(2025, 9, 1))
    page = officer.post(
        "/admin/concessionary_application/action/", data=data, follow_redirects=True
    )
    assert "3 applications lapsed" in page.get_data(as_text=True)
    assert _statuses(app, app_ids) == [ConcessionaryStatus.LAPSED] * 3


def test_seat_and_money_screens_render(client_as, app, route_with_applicants) -> None:
    route_id, _ = route_with_applicants
    with app.app_context():
        seats.allocate(YEAR, on=SUMMER, route_ids=[route_id])
    client = client_as("assistant")
    for url in (
        "/admin/concessionary_application/",
        "/admin/concessionary_seat/",
        "/admin/contribution/",
        "/admin/instalment/",
        "/admin/payment/",
        "/admin/refund/",
        "/admin/withdrawal/",
        "/admin/route/new/",
        f"/admin/route/edit/?id={route_id}",
        "/admin/payment/new/",
    ):
        assert client.get(url).status_code == 200, url
    assert "awaiting payment" in client.get("/admin/concessionary_seat/").get_data(as_text=True)


def test_a_route_is_created_with_the_schools_it_serves(client_as, app) -> None:
    with app.app_context():
        a, b = f.school(), f.school()
        db.session.commit()
        ids = [a.id, b.id]
    client = client_as("assistant")
    page = client.post(
        "/admin/route/new/",
        data={
            "code": "NEW1",
            "operator": "Acme",
            "vehicle_type": "minibus",
            "seats": "16",
            "runs_am": "y",
            "runs_pm": "y",
            "served_schools": f"{ids[0]},{ids[1]}",
        },
    )
    assert page.status_code == 302, page.get_data(as_text=True)[:2000]
    with app.app_context():
        route = db.session.scalar(select(Route).where(Route.code == "NEW1"))
        assert sorted(rs.school_id for rs in route.schools) == sorted(ids)
        route_id = route.id
    # Editing keeps one and drops the other.
    page = client.post(
        f"/admin/route/edit/?id={route_id}",
        data={
            "code": "NEW1",
            "operator": "Acme",
            "vehicle_type": "minibus",
            "seats": "16",
            "runs_am": "y",
            "runs_pm": "y",
            "served_schools": str(ids[1]),
        },
    )
    assert page.status_code == 302
    with app.app_context():
        route = db.session.get(Route, route_id)
        assert [rs.school_id for rs in route.schools] == [ids[1]]
    lookup = client.get("/admin/route/ajax/lookup/?name=served_schools&query=School")
    assert lookup.status_code == 200 and len(lookup.get_json()) >= 2


def test_the_whole_year_is_allocated_in_one_run_from_the_applications_list(
    client_as, app, route_with_applicants
) -> None:
    _, app_ids = route_with_applicants
    client = client_as("assistant")
    listing = client.get("/admin/concessionary_application/").get_data(as_text=True)
    assert "Allocate every pending application of" in listing
    page = client.post(
        "/admin/concessionary_application/allocate-year/",
        data={"academic_year": YEAR},
        follow_redirects=True,
    )
    assert "2 allocated, 1 on waiting lists" in page.get_data(as_text=True)
    assert ConcessionaryStatus.PENDING not in _statuses(app, app_ids)
    bad = client.post(
        "/admin/concessionary_application/allocate-year/",
        data={"academic_year": "1999/00"},
        follow_redirects=True,
    )
    assert "no academic year" in bad.get_data(as_text=True)


def test_offer_next_asks_first_saying_how_many_offers_it_will_make(
    client_as, app, route_with_applicants
) -> None:
    """Safe bulk work: the confirmation page counts the offers the run will make (every free
    seat it can fill), and nothing is offered until it is confirmed."""
    route_id, app_ids = route_with_applicants
    client = client_as("assistant")
    with app.app_context():
        db.session.get(Route, route_id).seats = 2  # 1 entitled pupil: one seat to allocate
        db.session.commit()
    client.post(
        ACTIONS, data={"action": "allocate", "rowid": [str(i) for i in app_ids], "confirmed": "1"}
    )
    assert _statuses(app, app_ids)[1:] == [ConcessionaryStatus.WAITING] * 2
    with app.app_context():
        db.session.get(Route, route_id).seats = 3
        db.session.commit()

    page = client.post(ACTIONS, data={"action": "offer_next", "rowid": [str(app_ids[1])]})
    html = page.get_data(as_text=True)

    assert "It will make 1 offer(s) now" in html  # 3 seats: 1 entitled, 1 allocated, 1 free
    assert "Offer next (1 offers)" in html
    assert _statuses(app, app_ids)[1:] == [ConcessionaryStatus.WAITING] * 2
    with app.app_context():
        db.session.get(Route, route_id).seats = 4
        db.session.commit()
    assert "It will make 2 offer(s) now" in client.post(
        ACTIONS, data={"action": "offer_next", "rowid": [str(app_ids[1])]}
    ).get_data(as_text=True)

    done = client.post(
        ACTIONS,
        data={"action": "offer_next", "rowid": [str(app_ids[1])], "confirmed": "1"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "2 allocated, 0 on waiting lists" in done
    assert _statuses(app, app_ids)[1:] == [ConcessionaryStatus.ALLOCATED] * 2


def test_allocating_many_routes_reports_one_summary_not_a_banner_per_route(client_as, app) -> None:
    with app.app_context():
        f.academic_year()
        f.contribution_setting()
        school = f.school()
        route_ids = []
        for n in range(4):
            route = f.route([school], seats=1, code=f"MANY{n}")
            for _ in range(2):
                f.concessionary_application(f.pupil(), school, route)
            route_ids.append(route.id)
        db.session.commit()

    page = client_as("assistant").post(
        "/admin/route/action/",
        data={"action": "allocate_spare_seats", "rowid": [str(i) for i in route_ids]},
        follow_redirects=True,
    )
    html = page.get_data(as_text=True)

    assert html.count('notification-banner"') == 1
    assert "4 allocated, 4 on waiting lists, 0 refused across 4 route(s)." in html
    assert "Routes with outcomes: MANY0, MANY1, MANY2, MANY3." in html
