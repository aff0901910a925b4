"""The screens of issue 17: gates on the school screen, the route map on the application page,
the Measure action on the "To measure" queue, hand measurements and access points (A4b)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from models import (
    EligibilityDecision,
    HomeAccessPoint,
    RouteMeasurement,
    School,
    SchoolGate,
    TransportApplication,
    db,
)
from models.enums import MeasurementKind, Outcome, Phase
from services.road_networks import load_network
from tests import factories as f
from tests.network import town
from tests.network.test_measurement import PRIMARY_DOB

LIST = "/admin/transport_application/"


@pytest.fixture
def case(app: Flask, users: dict[str, int], tmp_path: Path) -> dict[str, Any]:
    with app.app_context():
        f.academic_year("2024/25")
        load_network(db.session, town.town(tmp_path / "town.osm"))
        school = f.school(easting=town.GATE_OPEN[0], northing=town.GATE_OPEN[1],
                          phase=Phase.PRIMARY, statutory_low_age=4, statutory_high_age=11)
        pupil = f.pupil(easting=town.HOME[0], northing=town.HOME[1], date_of_birth=PRIMARY_DOB)
        application = f.transport_application(pupil, school)
        f.decision(application, outcome=Outcome.MEASURE)
        db.session.commit()
        return {"app": application.id, "school": school.id, "pupil": pupil.id}


def test_measure_the_queue_then_it_drains(app: Flask, case: dict[str, Any], client_as: Any) -> None:
    client = client_as("assistant")
    queue = client.get(f"{LIST}queue/measure").get_data(as_text=True)
    assert "queue/measure/run" in queue
    response = client.post(f"{LIST}queue/measure/run", data={"year": ""}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "Routes measured" in text and "Eligibility assessed" in text
    with app.app_context():
        application = db.session.get(TransportApplication, case["app"])
        assert application.distance_m == 2750
        current = db.session.scalar(select(EligibilityDecision).where(
            EligibilityDecision.application_id == case["app"],
            EligibilityDecision.superseded_at.is_(None)))
        assert current.outcome is not Outcome.MEASURE  # it left the queue by itself
    assert "Nothing waiting" in client.get(f"{LIST}queue/measure").get_data(as_text=True)


def test_application_page_draws_the_route_without_a_tile_server(
    app: Flask, case: dict[str, Any], client_as: Any
) -> None:
    client = client_as("assistant")
    client.post(
        f"{LIST}action/",
        data={"action": "measure_routes", "rowid": [case["app"]], "confirmed": "1"},
    )
    page = client.get(f"{LIST}details/?id={case['app']}")
    text = page.get_data(as_text=True)
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="route-map"' in text
    assert "<title id=\"route-map-title\">Route to" in text
    assert "walking route of 2750 metres" in text  # the text alternative
    assert "http://" not in text.split("<svg")[1].split("</svg>")[0].replace(
        "http://www.w3.org/2000/svg", "")
    assert "img-src 'self' data:" in page.headers["Content-Security-Policy"]
    # Assistants may measure but not record hand measurements.
    assert "Record a hand measurement" not in text


def test_officer_hand_measurement_and_access_point(
    app: Flask, case: dict[str, Any], client_as: Any
) -> None:
    assistant = client_as("assistant")
    denied = assistant.post(f"{LIST}hand-measurement/{case['app']}",
                            data={"distance_m": "100", "method": "walking_route", "reason": "x"})
    assert denied.status_code == 403
    officer = client_as("officer")
    missing = officer.post(f"{LIST}hand-measurement/{case['app']}",
                           data={"distance_m": "3400", "method": "walking_route", "reason": " "},
                           follow_redirects=True)
    assert "Say why" in missing.get_data(as_text=True)
    ok = officer.post(f"{LIST}hand-measurement/{case['app']}",
                      data={"distance_m": "3400", "method": "walking_route",
                            "reason": "Footpath closed"}, follow_redirects=True)
    assert "Footpath closed" in ok.get_data(as_text=True)
    officer.post(f"{LIST}access-point/{case['app']}",
                 data={"easting": "501000", "northing": "300000", "reason": "Drive to South Rd"})
    with app.app_context():
        [hand] = db.session.scalars(select(RouteMeasurement)).all()
        assert hand.kind is MeasurementKind.HAND and hand.measured_by_id is not None
        point = db.session.scalar(select(HomeAccessPoint))
        assert (point.easting, point.northing, point.pupil_id) == (501000, 300000, case["pupil"])


def test_school_screen_records_gates(app: Flask, users: dict[str, int], client_as: Any) -> None:
    client = client_as("assistant")
    form = {
        "urn": "123456", "name": "Gated Primary", "phase": "primary",
        "establishment_type": "community", "statutory_low_age": "4",
        "statutory_high_age": "11", "postcode": "ln2 2pe", "easting": "500500",
        "northing": "375500", "follows_council_term_dates": "y", "is_open": "y",
        "gates-0-name": "Front gate", "gates-0-easting": "500510",
        "gates-0-northing": "375490", "gates-0-is_open": "y",
        "gates-1-name": "Back gate", "gates-1-easting": "500490",
        "gates-1-northing": "375520",
    }
    response = client.post("/admin/school/new/", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        school = db.session.scalar(select(School).where(School.urn == 123456))
        gates = {g.name: g.is_open for g in db.session.scalars(
            select(SchoolGate).where(SchoolGate.school_id == school.id))}
        assert gates == {"Front gate": True, "Back gate": False}
    edit = client.get(f"/admin/school/edit/?id={school.id}").get_data(as_text=True)
    assert "Gate name" in edit and "Front gate" in edit
