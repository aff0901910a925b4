"""A vehicle's seats against the passengers it carries (A1, Appendix F).

Entitled pupils have a legal right to transport (A1); concessionary seats only ever use spare
seats (Appendix F). So lowering a route's seats below what it carries is refused, on the routes
screen in words and by the database (migration 0010); and an assessment that finds a pupil
already on a full route eligible is not refused but shows the route as over capacity.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from models import (
    AuditLog,
    ConcessionarySeat,
    EligibilityDecision,
    Route,
    School,
    TransportApplication,
    db,
)
from models.enums import EstablishmentType, Outcome, Phase, SeatStatus, Sessions
from services import seats, years
from services.assessment import assess_applications
from tests import factories as f
from tests.conftest import alembic_config, fresh_database
from tests.test_seats import SUMMER, YEAR, entitled, held_seat

ROUTES = "/admin/route/"


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(years, "today", lambda: SUMMER)


@pytest.fixture
def carried(app: Flask) -> int:
    """SP01, 6 seats: 2 entitled pupils (one mornings only) and 2 concessionary seats, so 4
    passengers in the morning and 3 in the afternoon of 2024/25."""
    with app.app_context():
        f.academic_year()
        f.contribution_setting()
        school = f.school()
        route = f.route([school], seats=6, code="SP01")
        entitled(route)
        entitled(route, Sessions.AM)
        held_seat(route, school, Sessions.BOTH)
        held_seat(route, school, Sessions.BOTH)
        db.session.commit()
        return route.id


def _form(route_id: int, new_seats: int | None, off: tuple[str, ...]) -> dict[str, str]:
    route = db.session.get(Route, route_id)
    form = {
        "code": route.code,
        "operator": route.operator,
        "vehicle_type": route.vehicle_type,
        "seats": str(route.seats if new_seats is None else new_seats),
        "active": "y",
        "served_schools": ",".join(str(rs.school_id) for rs in route.schools),
    }
    for key in ("am", "pm"):
        if key not in off:
            form[f"runs_{key}"] = "y"  # an unticked checkbox is not sent
    return form


def _post_seats(
    app: Flask,
    client: FlaskClient,
    route_id: int,
    new_seats: int | None,
    off: tuple[str, ...] = (),
) -> Any:
    """The routes screen's edit form, unchanged but for the seats and the sessions `off`."""
    with app.app_context():
        form = _form(route_id, new_seats, off)
    return client.post(f"{ROUTES}edit/?id={route_id}", data=form)


def _runs(app: Flask, route_id: int) -> tuple[bool, bool]:
    with app.app_context():
        route = db.session.get(Route, route_id)
        return route.runs_am, route.runs_pm


def _seats_of(app: Flask, route_id: int) -> int:
    with app.app_context():
        return db.session.get(Route, route_id).seats


def _audit_rows(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditLog)) or 0


# --------------------------------------------------------------------------- routes screen


def test_lowering_seats_below_the_passengers_is_a_form_error_and_writes_nothing_appendix_f(
    app: Flask, carried: int, client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as("assistant")  # signing in is audited: count after it
    before = _audit_rows(app)

    response = _post_seats(app, client, carried, 3)

    assert response.status_code == 200  # the form again, with the error
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert "Route SP01 cannot go down to 3 seats" in page
    assert (
        "in the morning of 2024/25 it carries 4 passengers (2 entitled pupils and 2 "
        "concessionary seats)" in page
    )
    assert "afternoon" not in page.split("Route SP01 cannot go down")[1].split("(A1)")[0]
    assert "legal right to transport (A1)" in page
    assert "withdraw concessionary seats with notice" in page
    assert "Withdraw seats for entitled children" in page and "move pupils" in page
    assert "Nothing was saved." in page
    assert _seats_of(app, carried) == 6
    assert _audit_rows(app) == before


def test_both_sessions_are_named_when_both_would_be_overfull(
    app: Flask, carried: int, client_as: Callable[[str], FlaskClient]
) -> None:
    page = _post_seats(app, client_as("assistant"), carried, 2)
    text_ = page.get_data(as_text=True)
    assert "Route SP01 cannot go down to 2 seats" in text_
    assert "in the morning of 2024/25 it carries 4 passengers" in text_
    assert "in the afternoon of 2024/25 it carries 3 passengers" in text_
    assert _seats_of(app, carried) == 6


def test_lowering_seats_to_exactly_the_passengers_is_allowed(
    app: Flask, carried: int, client_as: Callable[[str], FlaskClient]
) -> None:
    response = _post_seats(app, client_as("assistant"), carried, 4)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert _seats_of(app, carried) == 4


def test_raising_the_seats_of_an_overfull_route_is_always_allowed(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        f.academic_year()
        route = f.route(seats=1, code="OVER1")
        entitled(route)
        entitled(route)
        entitled(route)  # 3 entitled pupils in 1 seat: assessed after they were put on it
        db.session.commit()
        route_id = route.id
    # Still overfull, but more seats than before.
    response = _post_seats(app, client_as("assistant"), route_id, 2)
    assert response.status_code == 302
    assert _seats_of(app, route_id) == 2


def test_the_check_takes_the_route_lock_before_counting(
    app_ctx: Flask, carried: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So an allocation on the route either commits first and is counted, or waits."""
    order: list[str] = []
    real_lock, real_usage = seats.lock_routes, seats.usage_stmt

    def lock(session: Any, ids: Any) -> None:
        order.append(f"lock {sorted(ids)}")
        real_lock(session, ids)

    def usage(*args: Any, **kwargs: Any) -> Any:
        order.append("count")
        return real_usage(*args, **kwargs)

    from services.seats import guards  # the guard's own references to the two steps

    monkeypatch.setattr(guards, "lock_routes", lock)
    monkeypatch.setattr(guards, "usage_stmt", usage)
    route = db.session.get(Route, carried)
    route.seats = 3
    with pytest.raises(seats.SeatError):
        seats.check_seats_fit(db.session, route, on=SUMMER)
    assert order == [f"lock [{carried}]", "count"]
    db.session.rollback()


def test_seats_under_notice_still_count_until_they_are_free_appendix_f(app_ctx: Flask) -> None:
    f.academic_year()
    school = f.school()
    route = f.route([school], seats=2, code="NOT1")
    held_seat(route, school, Sessions.BOTH)
    held_seat(route, school, Sessions.BOTH, status=SeatStatus.WITHDRAWN, end=date(2024, 9, 20))
    db.session.commit()
    route.seats = 1
    with pytest.raises(seats.SeatError, match="1 of them already withdrawn, the first free from"):
        seats.check_seats_fit(db.session, route, on=SUMMER)
    db.session.rollback()
    assert db.session.get(Route, route.id).seats == 2


# ------------------------------------------------------------------- switching a session off


def test_switching_off_a_session_pupils_ride_is_a_form_error_and_writes_nothing_a1_appendix_f(
    app: Flask, carried: int, client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as("assistant")
    before = _audit_rows(app)

    response = _post_seats(app, client, carried, None, off=("am",))

    assert response.status_code == 200
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert "Route SP01 cannot stop running in the morning" in page
    assert "in the morning of 2024/25, 2 entitled pupils and 2 concessionary seats ride it" in page
    assert "left with no bus" in page
    assert "legal right to transport (A1)" in page and "move them to another route" in page
    assert "withdraw concessionary seats with notice" in page and "Appendix F" in page
    assert "Withdraw seats for entitled children" in page
    assert "Nothing was saved." in page
    assert _runs(app, carried) == (True, True)
    assert _audit_rows(app) == before


def test_switching_off_the_afternoon_names_the_afternoon_only(
    app: Flask, carried: int, client_as: Callable[[str], FlaskClient]
) -> None:
    page = _post_seats(app, client_as("assistant"), carried, None, off=("pm",))
    text_ = page.get_data(as_text=True)
    assert "Route SP01 cannot stop running in the afternoon" in text_
    assert "1 entitled pupil and 2 concessionary seats ride it" in text_  # one rides AM only
    assert "morning" not in text_.split("cannot stop running")[1].split("Nothing was saved")[0]
    assert _runs(app, carried) == (True, True)


def test_switching_off_a_session_with_only_entitled_pupils_says_move_them_a1(
    app_ctx: Flask,
) -> None:
    f.academic_year()
    route = f.route(seats=5, code="ENT1")
    entitled(route, Sessions.PM)
    db.session.commit()
    route.runs_pm = False
    with pytest.raises(seats.SeatError) as refused:
        seats.check_seats_fit(db.session, route, on=SUMMER)
    message = str(refused.value)
    assert "1 entitled pupil and 0 concessionary seats ride it" in message
    assert "move them to another route" in message and "Withdraw seats" not in message
    db.session.rollback()
    assert db.session.get(Route, route.id).runs_pm is True


def test_a_seat_under_notice_still_rides_until_it_is_free_appendix_f(app_ctx: Flask) -> None:
    f.academic_year()
    school = f.school()
    route = f.route([school], seats=2, code="NOT2")
    held_seat(route, school, Sessions.AM, status=SeatStatus.WITHDRAWN, end=date(2024, 9, 20))
    db.session.commit()
    route.runs_am = False
    with pytest.raises(seats.SeatError, match="1 of them already withdrawn"):
        seats.check_seats_fit(db.session, route, on=SUMMER)
    db.session.rollback()
    route.runs_am = False
    seats.check_seats_fit(db.session, route, on=date(2024, 9, 21))  # free by then: allowed
    db.session.rollback()


def test_switching_off_a_session_nobody_rides_is_allowed(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    """Even on a route over capacity in its other session (A1 pupils found eligible on it)."""
    with app.app_context():
        f.academic_year()
        route = f.route(seats=1, code="PMONLY")
        entitled(route, Sessions.PM)
        entitled(route, Sessions.PM)
        db.session.commit()
        route_id = route.id
    response = _post_seats(app, client_as("assistant"), route_id, None, off=("am",))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert _runs(app, route_id) == (False, True)


def test_switching_a_session_back_on_is_always_allowed(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        f.academic_year()
        route = f.route(seats=1, code="BACK1", runs_am=False)
        for _ in range(3):
            entitled(route, Sessions.PM)  # over capacity in the afternoon
        db.session.commit()
        route_id = route.id
    response = _post_seats(app, client_as("assistant"), route_id, None)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert _runs(app, route_id) == (True, True)


def test_lowering_seats_and_switching_off_say_both(
    app: Flask, carried: int, client_as: Callable[[str], FlaskClient]
) -> None:
    text_ = _post_seats(app, client_as("assistant"), carried, 2, off=("am",)).get_data(as_text=True)
    assert "Route SP01 cannot stop running in the morning" in text_
    assert "Route SP01 cannot go down to 2 seats" in text_
    assert "in the afternoon of 2024/25 it carries 3 passengers" in text_
    assert "in the morning of 2024/25 it carries" not in text_  # said once, as switched off
    # Said once against the field that was changed and once in the error summary, whose line
    # links to that field (issue 15: "error summary with links to the fields").
    assert text_.count("Nothing was saved.") == 2
    assert '<a href="#seats">' in text_
    assert _seats_of(app, carried) == 6 and _runs(app, carried) == (True, True)


# --------------------------------------------------------------------------- the database


def _year_in_force() -> str:
    """The academic year containing the real today (the database guard reads CURRENT_DATE)."""
    today = date.today()
    start = today.year if today.month >= 9 else today.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def _eligible(route: Route, year: str, sessions: Sessions = Sessions.BOTH) -> None:
    application = f.transport_application(
        f.pupil(),
        f.school(),
        route_id=route.id,
        route_sessions=sessions,
        academic_year=year,
        received_on=date(int(year[:4]), 6, 1),
    )
    f.decision(application)


def _morning_seat(route: Route, year: str) -> None:
    """An active concessionary seat for mornings of `year` on `route`."""
    application = f.concessionary_application(
        f.pupil(), f.school(), route, academic_year=year, received_on=date(int(year[:4]), 6, 1)
    )
    db.session.add(
        ConcessionarySeat(
            application_id=application.id,
            route_id=route.id,
            sessions=Sessions.AM,
            start_date=date(int(year[:4]), 9, 1),
            end_date=date(int(year[:4]) + 1, 8, 31),
        )
    )


def _set_seats(route_id: int, n: int) -> None:
    db.session.execute(update(Route).where(Route.id == route_id).values(seats=n))
    db.session.commit()


def test_the_database_refuses_a_direct_update_below_the_passengers_a1_appendix_f(
    app_ctx: Flask,
) -> None:
    year = _year_in_force()
    f.academic_year(year)
    route = f.route(seats=5, code="DB01")
    for _ in range(3):
        _eligible(route, year)
    _morning_seat(route, year)
    db.session.commit()
    route_id = route.id

    with pytest.raises(IntegrityError, match="Vehicle capacity"):
        _set_seats(route_id, 3)  # 4 in the morning
    db.session.rollback()
    assert db.session.get(Route, route_id).seats == 5
    _set_seats(route_id, 4)  # exactly the morning's passengers
    _set_seats(route_id, 9)  # raising is always allowed
    db.session.execute(text("UPDATE route SET seats = seats"))  # lock_routes' no-op write
    db.session.commit()
    assert db.session.get(Route, route_id).seats == 9


def _set_runs(route_id: int, **runs: bool) -> None:
    db.session.execute(update(Route).where(Route.id == route_id).values(**runs))
    db.session.commit()


def test_the_database_refuses_switching_off_a_session_passengers_ride_a1_appendix_f(
    app_ctx: Flask,
) -> None:
    year = _year_in_force()
    f.academic_year(year)
    route = f.route(seats=5, code="DB02")
    _eligible(route, year, Sessions.AM)
    _morning_seat(route, year)
    db.session.commit()
    route_id = route.id

    with pytest.raises(IntegrityError, match="cannot stop running a session"):
        _set_runs(route_id, runs_am=False)
    db.session.rollback()
    with pytest.raises(IntegrityError, match="cannot stop running a session"):
        _set_runs(route_id, runs_am=False, seats=9)  # more seats do not help a missing bus
    db.session.rollback()
    assert db.session.get(Route, route_id).runs_am is True
    _set_runs(route_id, runs_pm=False)  # nobody rides the afternoon
    _set_runs(route_id, runs_pm=True)  # switching on is always allowed
    with pytest.raises(IntegrityError, match="Vehicle capacity: the seats"):
        _set_seats(route_id, 1)  # 0010's seat check is still there
    db.session.rollback()
    db.session.execute(text("UPDATE route SET seats = seats, runs_am = runs_am"))
    db.session.commit()
    route = db.session.get(Route, route_id)
    assert (route.seats, route.runs_am, route.runs_pm) == (5, True, True)


def test_the_database_lets_a_route_over_capacity_switch_off_an_empty_session(
    app_ctx: Flask,
) -> None:
    """A route found over capacity in the afternoon (A1) may still stop running mornings."""
    year = _year_in_force()
    f.academic_year(year)
    route = f.route(seats=1, code="DB03")
    for _ in range(2):
        _eligible(route, year, Sessions.PM)
    db.session.commit()
    _set_runs(route.id, runs_am=False)
    assert db.session.get(Route, route.id).runs_am is False


def test_the_database_guard_ignores_finished_years(app_ctx: Flask) -> None:
    """A year that has ended carries nobody any more: the vehicle may be replaced."""
    f.academic_year("2019/20")
    route = f.route(seats=3, code="OLD1")
    for _ in range(3):
        _eligible(route, "2019/20")
    db.session.commit()
    _set_seats(route.id, 1)
    _set_runs(route.id, runs_am=False)
    route = db.session.get(Route, route.id)
    assert (route.seats, route.runs_am) == (1, False)


def _guard_definition(engine: Engine) -> list[str]:
    """The route guard's trigger (and PostgreSQL function) as the database stores them."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            return list(
                conn.execute(
                    text(
                        "SELECT pg_get_triggerdef(t.oid), pg_get_functiondef(t.tgfoid) "
                        "FROM pg_trigger t WHERE t.tgname = 'route_seats_cover_passengers'"
                    )
                ).one()
            )
        return list(
            conn.scalars(
                text("SELECT sql FROM sqlite_master WHERE name = 'route_seats_cover_passengers'")
            )
        )


def test_migration_0011_downgrades_to_exactly_0010s_guard(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = fresh_database(request, "route_guard_0011", tmp_path)
    cfg = alembic_config(url)
    engine = create_engine(url)
    try:
        command.downgrade(cfg, "0009")
        command.upgrade(cfg, "0010")
        as_0010 = _guard_definition(engine)
        command.upgrade(cfg, "0011")
        assert _guard_definition(engine) != as_0010
        assert "runs_am" in " ".join(_guard_definition(engine))
        command.downgrade(cfg, "0010")
        assert _guard_definition(engine) == as_0010
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- over capacity


@pytest.fixture
def overfull(app: Flask) -> dict[str, int]:
    """OVER1: 3 entitled pupils in 2 seats (found eligible after being put on it); FINE1: room."""
    with app.app_context():
        f.academic_year()
        school = f.school()
        over = f.route([school], seats=2, code="OVER1")
        for _ in range(3):
            entitled(over)
        fine = f.route([school], seats=2, code="FINE1")
        entitled(fine)
        db.session.commit()
        return {"over": over.id, "fine": fine.id}


def _filter_url(app: Flask) -> str:
    admin = app.extensions["admin"][0]
    view = next(v for v in admin._views if getattr(v, "model", None) is Route)
    index = next(i for i, flt in enumerate(view._filters) if flt.name == "Over capacity")
    return f"{ROUTES}?flt0_{index}="


def test_the_routes_list_flags_routes_over_capacity(
    app: Flask, overfull: dict[str, int], client_as: Callable[[str], FlaskClient]
) -> None:
    page = client_as("assistant").get(ROUTES).get_data(as_text=True)
    assert "Over capacity" in page
    assert "2024/25 AM: 3 in 2; 2024/25 PM: 3 in 2" in page
    assert page.count("badge-danger") == 1


def test_the_over_capacity_filter_lists_only_overfull_routes(
    app: Flask, overfull: dict[str, int], client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as("assistant")
    url = _filter_url(app)
    yes = client.get(url + "1").get_data(as_text=True)
    assert "OVER1" in yes and "FINE1" not in yes
    no = client.get(url + "0").get_data(as_text=True)
    assert "FINE1" in no and "OVER1" not in no


def test_the_over_capacity_column_costs_one_query_however_many_routes(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        f.academic_year()
        school = f.school()
        for _ in range(3):
            route = f.route([school], seats=1)
            entitled(route)
            entitled(route)
        db.session.commit()
        school_id = school.id
    client = client_as("assistant")

    def count() -> int:
        seen: list[str] = []
        with app.app_context():
            engine = db.engine

        def hook(*args: object) -> None:
            seen.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", hook)
        try:
            page = client.get(_filter_url(app) + "1")
            assert page.status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", hook)
        return len(seen)

    few = count()
    with app.app_context():
        school = db.session.get(School, school_id)
        for _ in range(12):
            route = f.route([school], seats=1)
            entitled(route)
            entitled(route)
        db.session.commit()
    assert count() == few


# --------------------------------------------------------------------------- assessment


def _school_6km_away() -> School:
    """A secondary school 6 km from the pupils' homes (500000, 375000): A3 eligible."""
    return f.school(
        phase=Phase.SECONDARY,
        establishment_type=EstablishmentType.COMMUNITY,
        easting=506000,
        northing=375000,
    )


@pytest.fixture
def rider_on_a_full_route(app: Flask) -> dict[str, Any]:
    """FULL9: 1 seat, held by a concessionary seat; a pupil 6.1 km from school recorded on it
    before being assessed (A3 eligible)."""
    with app.app_context():
        f.academic_year()
        school = _school_6km_away()
        route = f.route([school], seats=1, code="FULL9")
        held_seat(route, school, Sessions.BOTH)
        rider = f.transport_application(
            f.pupil(easting=500000, northing=375000),
            school,
            distance_m=6100,
            route_id=route.id,
            route_sessions=Sessions.BOTH,
        )
        db.session.commit()
        return {"application": rider.id, "route": route.id}


def test_assessment_never_refuses_an_entitled_pupil_but_names_the_overfull_route_a1(
    app_ctx: Flask, rider_on_a_full_route: dict[str, Any]
) -> None:
    summary = assess_applications(ids=[rider_on_a_full_route["application"]], user_id=None)
    assert summary.by_outcome == {"eligible": 1}
    decision = db.session.scalar(
        select(EligibilityDecision).where(
            EligibilityDecision.application_id == rider_on_a_full_route["application"]
        )
    )
    assert decision.outcome is Outcome.ELIGIBLE
    assert (
        db.session.get(TransportApplication, decision.application_id).route_id
        == (rider_on_a_full_route["route"])
    )
    message = summary.as_text()
    assert (
        "1 route is now over capacity: FULL9 (2024/25 morning: 2 passengers in 1 seat)" in message
    )
    assert "Entitled pupils are carried whatever the spare seats (A1)" in message
    assert "withdraw concessionary seats with notice" in message and "Appendix F" in message
    # Re-running writes nothing new, and says nothing about capacity (nothing was decided).
    again = assess_applications(ids=[rider_on_a_full_route["application"]], user_id=None)
    assert again.assessed == 0 and "over capacity" not in again.as_text()


def test_the_bulk_action_and_whole_year_form_say_which_routes_are_over_capacity(
    app: Flask, rider_on_a_full_route: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as("assistant")
    response = client.post(
        "/admin/transport_application/assess-year/",
        data={"academic_year": YEAR},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Eligibility assessed: 1 assessed" in page
    assert "1 route is now over capacity: FULL9" in page


def test_an_assessment_with_room_says_nothing_about_capacity(app_ctx: Flask) -> None:
    f.academic_year()
    school = _school_6km_away()
    route = f.route([school], seats=5)
    rider = f.transport_application(
        f.pupil(easting=500000, northing=375000), school, distance_m=6100, route_id=route.id
    )
    db.session.commit()
    summary = assess_applications(ids=[rider.id], user_id=None)
    assert summary.assessed == 1 and summary.over_capacity == []
    assert "over capacity" not in summary.as_text()
