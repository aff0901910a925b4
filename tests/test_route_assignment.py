"""Putting an entitled pupil on a route from the transport-applications screen (A2, Appendix F).

The pupil takes a seat on the vehicle, so the screen checks under the route lock that there is
one, and says in words what fills the vehicle when there is not; it never withdraws a
concessionary seat by itself (that is the officer's decision, with its notice and refund).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from models import ConcessionarySeat, TransportApplication, db
from models.enums import SeatStatus, Sessions
from services import seats, years
from tests import factories as f
from tests.test_seats import SUMMER, YEAR, entitled, held_seat

LIST = "/admin/transport_application/"


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(years, "today", lambda: SUMMER)


@pytest.fixture
def routes(app: Flask) -> dict[str, int]:
    """A full route (1 entitled pupil + 2 concessionary seats in 3), one with room, and an
    entitled pupil not on a route yet."""
    with app.app_context():
        f.academic_year()
        school = f.school()
        full = f.route([school], seats=3, code="FULL1")
        entitled(full)
        for _ in range(2):
            held_seat(full, school, Sessions.BOTH)
        roomy = f.route([school], seats=3, code="ROOMY")
        pupil = entitled(None)
        db.session.commit()
        return {"full": full.id, "roomy": roomy.id, "pupil": pupil.id}


def _form(application_id: int, route_id: int) -> dict[str, str]:
    application = db.session.get(TransportApplication, application_id)
    return {
        "reference": application.reference,
        "pupil": str(application.pupil_id),
        "academic_year": application.academic_year,
        "school": str(application.school_id),
        "received_on": f"{application.received_on:%Y-%m-%d}",
        "distance_m": str(application.distance_m),
        "route": str(route_id),
        "route_sessions": "both",
    }


def _route_of(app: Flask, application_id: int) -> int | None:
    with app.app_context():
        return db.session.get(TransportApplication, application_id).route_id


def test_a_full_route_is_a_form_error_naming_the_route_and_its_seats(
    app: Flask, routes: dict[str, int], client_as: Callable[[str], FlaskClient]
) -> None:
    officer = client_as("officer")
    with app.app_context():
        form = _form(routes["pupil"], routes["full"])

    response = officer.post(f"{LIST}edit/?id={routes['pupil']}", data=form)

    assert response.status_code == 200  # the form again, with the error
    page = response.get_data(as_text=True)
    assert (
        "Route FULL1 is full in the morning and the afternoon: its 3 seats are taken by 1 "
        "entitled pupil and 2 concessionary seats" in page
    )
    assert "Withdraw seats for entitled children" in page
    assert _route_of(app, routes["pupil"]) is None
    with app.app_context():  # no concessionary seat was withdrawn to make room
        active = select(func.count()).where(ConcessionarySeat.status == SeatStatus.ACTIVE)
        assert db.session.scalar(active.select_from(ConcessionarySeat)) == 2


def test_a_route_with_room_takes_the_pupil_and_has_a_seat_fewer(
    app: Flask, routes: dict[str, int], client_as: Callable[[str], FlaskClient]
) -> None:
    officer = client_as("officer")
    with app.app_context():
        form = _form(routes["pupil"], routes["roomy"])

    response = officer.post(f"{LIST}edit/?id={routes['pupil']}", data=form)

    assert response.status_code == 302
    assert _route_of(app, routes["pupil"]) == routes["roomy"]
    with app.app_context():
        spare = seats.spare_seats(db.session, YEAR, SUMMER, [routes["roomy"]])
        assert spare[routes["roomy"]] == {"am": 2, "pm": 2}


def test_saving_a_pupil_already_on_a_full_route_is_not_refused(
    app: Flask, routes: dict[str, int], client_as: Callable[[str], FlaskClient]
) -> None:
    """Editing anything else of a pupil who already rides a full route needs no new seat."""
    with app.app_context():
        rider = db.session.scalar(
            select(TransportApplication.id).where(TransportApplication.route_id == routes["full"])
        )
        form: dict[str, Any] = _form(rider, routes["full"])
    form["distance_m"] = "6500"

    response = client_as("officer").post(f"{LIST}edit/?id={rider}", data=form)

    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(TransportApplication, rider).distance_m == 6500
