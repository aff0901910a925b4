"""The panel side of issue 3: the Assess eligibility action and button, determinations by role,
the officers' queues, the decision list, and the `flask assess run` command."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from models import EligibilityDecision, TransportApplication, db
from models.enums import DistanceMethod, EstablishmentType, MedicalWho, Outcome, Phase
from services.assessment import assess_applications
from tests import factories as f

HOME = (500000, 375000)
LIST = "/admin/transport_application/"
DECISIONS = "/admin/eligibility_decision/"


def school_at(east: int, north: int = 0) -> Any:
    return f.school(
        phase=Phase.SECONDARY,
        establishment_type=EstablishmentType.COMMUNITY,
        easting=HOME[0] + east,
        northing=HOME[1] + north,
    )


@pytest.fixture
def county(app: Flask, users: dict[str, int]) -> dict[str, Any]:
    """Three applications: eligible (A3), to measure, and to refer (A13 pending)."""
    with app.app_context():
        f.academic_year()
        # The near school is 2 km from the other two homes, 20 km away from the first.
        far, near = school_at(6000), school_at(20000, 2000)
        away = (HOME[0] + 20000, HOME[1])
        eligible = f.transport_application(
            f.pupil(easting=HOME[0], northing=HOME[1]), far, distance_m=6100
        )
        measure = f.transport_application(f.pupil(easting=away[0], northing=away[1]), near)
        refer = f.transport_application(
            f.pupil(easting=away[0], northing=away[1]),
            near,
            distance_m=2100,
            distance_method=DistanceMethod.WALKING_ROUTE,
            medical_who=MedicalWho.CHILD,
        )
        db.session.commit()
        return {
            "ids": {"eligible": eligible.id, "measure": measure.id, "refer": refer.id},
            "refs": {
                "eligible": eligible.reference,
                "measure": measure.reference,
                "refer": refer.reference,
            },
            "school": near.id,
            "users": users,
        }


def decision_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(EligibilityDecision)) or 0


def run_action(client: FlaskClient, ids: list[int]) -> Any:
    return client.post(
        f"{LIST}action/",
        data={"action": "assess_eligibility", "rowid": [str(i) for i in ids], "confirmed": "1"},
        follow_redirects=True,
    )


def test_bulk_action_stores_decisions_with_clause_trail_and_user(
    app: Flask, county: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as("assistant")
    response = run_action(client, list(county["ids"].values()))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Eligibility assessed: 3 assessed" in text
    with app.app_context():
        rows = db.session.scalars(select(EligibilityDecision)).all()
        by_app = {d.application_id: d for d in rows}
        decision = by_app[county["ids"]["eligible"]]
        assert decision.outcome is Outcome.ELIGIBLE and decision.basis == "A3"
        assert decision.clauses == ["A3"]
        assert decision.decided_by_id == county["users"]["assistant"]
        assert by_app[county["ids"]["measure"]].outcome is Outcome.MEASURE
        assert by_app[county["ids"]["refer"]].outcome is Outcome.REFER
    # Re-running the action on unchanged applications writes nothing.
    again = run_action(client, list(county["ids"].values()))
    assert "0 assessed" in again.get_data(as_text=True)
    assert decision_count(app) == 3


def test_button_on_one_application_and_its_history(
    app: Flask, county: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as("assistant")
    app_id = county["ids"]["eligible"]
    details = client.get(f"{LIST}details/?id={app_id}").get_data(as_text=True)
    assert "Not assessed yet" in details and f"/assess/{app_id}" in details
    response = client.post(f"{LIST}assess/{app_id}", follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "Eligibility assessed: 1 assessed" in text
    assert "Decision history" in text and "eligible" in text and "A3" in text
    assert decision_count(app) == 1


def test_assess_a_whole_year_from_the_list(
    app: Flask, county: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as("assistant")
    listing = client.get(LIST).get_data(as_text=True)
    assert "assess-year" in listing
    response = client.post(f"{LIST}assess-year/", data={"academic_year": "2024/25"})
    assert response.status_code == 302
    assert decision_count(app) == 3
    bad = client.post(
        f"{LIST}assess-year/", data={"academic_year": "1999/00"}, follow_redirects=True
    )
    assert "There is no academic year" in bad.get_data(as_text=True)


def test_assessment_refused_without_sign_in(app: Flask, county: dict[str, Any]) -> None:
    client = app.test_client()
    response = client.post(f"{LIST}assess/{county['ids']['eligible']}")
    assert response.status_code in (302, 403)
    assert decision_count(app) == 0


def _edit_form(county: dict[str, Any], app_id: int, reference: str, **extra: str) -> dict[str, str]:
    with db.session.no_autoflush:
        application = db.session.get(TransportApplication, app_id)
        data = {
            "reference": reference,
            "pupil": str(application.pupil_id),
            "academic_year": "2024/25",
            "school": str(application.school_id),
            "received_on": "2024-06-01",
            "distance_m": "2100",
            "distance_method": "walking_route",
            "medical_who": "child",
        }
    data.update(extra)
    return data


def test_only_an_officer_can_record_a_determination_a13(
    app: Flask, county: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    app_id, ref = county["ids"]["refer"], county["refs"]["refer"]
    with app.app_context():
        form = _edit_form(county, app_id, ref, medical_accepted="True", route_unsuitable="y")
    assistant = client_as("assistant")
    page = assistant.get(f"{LIST}edit/?id={app_id}").get_data(as_text=True)
    assert 'name="medical_accepted"' not in page
    assert "Only an eligibility officer can record determinations" in page
    response = assistant.post(f"{LIST}edit/?id={app_id}", data=form)
    assert response.status_code == 302
    with app.app_context():
        application = db.session.get(TransportApplication, app_id)
        assert application.medical_accepted is None  # an assistant's value is never applied
        assert application.route_unsuitable is False
        assert application.determined_by_id is None

    officer = client_as("officer")
    page = officer.get(f"{LIST}edit/?id={app_id}").get_data(as_text=True)
    assert 'name="medical_accepted"' in page
    # The stored enum code is the selected option, so saving the form keeps it.
    assert re.search(r'<option[^>]*selected[^>]*value="walking_route"', page) or re.search(
        r'<option[^>]*value="walking_route"[^>]*selected', page
    )
    del form["route_unsuitable"]
    response = officer.post(f"{LIST}edit/?id={app_id}", data=form)
    assert response.status_code == 302
    with app.app_context():
        application = db.session.get(TransportApplication, app_id)
        assert application.medical_accepted is True
        assert application.distance_method is DistanceMethod.WALKING_ROUTE
        assert application.determined_by_id == county["users"]["officer"]
        assert application.determined_at is not None
        assess_applications(ids=[app_id], user_id=county["users"]["officer"])
        assert application.current_decision.outcome is Outcome.ELIGIBLE
        assert application.current_decision.basis == "A13"


def test_bad_input_is_a_form_error_and_changes_nothing(
    app: Flask, county: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    app_id, ref = county["ids"]["refer"], county["refs"]["refer"]
    officer = client_as("officer")
    with app.app_context():
        late = _edit_form(county, app_id, ref, received_on="2025-09-01")
        negative = _edit_form(county, app_id, ref, distance_m="-5")
    text = officer.post(f"{LIST}edit/?id={app_id}", data=late).get_data(as_text=True)
    assert "after the end of 2024/25" in text
    text = officer.post(f"{LIST}edit/?id={app_id}", data=negative).get_data(as_text=True)
    assert "A distance cannot be negative." in text
    with app.app_context():
        application = db.session.get(TransportApplication, app_id)
        assert application.received_on == date(2024, 6, 1)
        assert application.distance_m == 2100


def test_queues_show_what_an_officer_must_do_next(
    app: Flask, county: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        assess_applications(ids=list(county["ids"].values()), user_id=None)
    client = client_as("officer")
    measure = client.get(f"{LIST}queue/measure").get_data(as_text=True)
    refer = client.get(f"{LIST}queue/refer").get_data(as_text=True)
    assert county["refs"]["measure"] in measure
    assert county["refs"]["refer"] not in measure and county["refs"]["eligible"] not in measure
    assert county["refs"]["refer"] in refer and county["refs"]["measure"] not in refer
    assert client.get(f"{LIST}queue/nonsense").status_code == 404


def _filter_arg(app: Flask, endpoint: str, name: str) -> str:
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == endpoint)
    for index, flt in enumerate(view._filters):
        if str(flt.name) == name:
            return f"flt0_{view.get_filter_arg(index, flt)}"
    raise AssertionError(name)


def test_list_filters_by_current_outcome_and_basis(
    app: Flask, county: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        assess_applications(ids=list(county["ids"].values()), user_id=None)
    client = client_as("assistant")
    outcome = _filter_arg(app, "transport_application", "Current decision: outcome")
    basis = _filter_arg(app, "transport_application", "Current decision: basis")
    text = client.get(f"{LIST}?{outcome}=eligible").get_data(as_text=True)
    assert county["refs"]["eligible"] in text and county["refs"]["measure"] not in text
    text = client.get(f"{LIST}?{basis}=A3").get_data(as_text=True)
    assert county["refs"]["eligible"] in text and county["refs"]["refer"] not in text
    status = _filter_arg(app, "transport_application", "Status")
    response = client.get(f"{LIST}?{status}=received")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert county["refs"]["measure"] in text and county["refs"]["eligible"] not in text
    year = _filter_arg(app, "transport_application", "Academic year (e.g. 2024/25)")
    text = client.get(f"{LIST}?{year}=2025/26").get_data(as_text=True)
    assert county["refs"]["eligible"] not in text
    school = _filter_arg(app, "transport_application", "School name")
    assert client.get(f"{LIST}?{school}=School").status_code == 200
    text = client.get(f"{LIST}?search={county['refs']['refer']}").get_data(as_text=True)
    assert county["refs"]["refer"] in text and county["refs"]["eligible"] not in text


def test_decisions_are_read_only_for_everyone(
    app: Flask, county: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        assess_applications(ids=[county["ids"]["eligible"]], user_id=None)
        decision_id = db.session.scalar(select(EligibilityDecision.id))
    for role in ("assistant", "officer", "supervisor"):
        client = client_as(role)
        assert client.get(DECISIONS).status_code == 200
        assert client.get(f"{DECISIONS}new/").status_code == 403
        assert client.get(f"{DECISIONS}edit/?id={decision_id}").status_code == 403
        assert client.post(f"{DECISIONS}delete/", data={"id": decision_id}).status_code == 403
    details = client_as("officer").get(f"{DECISIONS}details/?id={decision_id}")
    text = details.get_data(as_text=True)
    assert "Facts given to the rules" in text and "Distance (metres)" in text
    assert "distance_m" not in text  # issue 15: the facts in words, not their code names
    assert decision_count(app) == 1


def test_decision_list_filters_current_and_superseded(
    app: Flask, county: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    app_id = county["ids"]["eligible"]
    with app.app_context():
        assess_applications(ids=[app_id], user_id=None)
        db.session.get(TransportApplication, app_id).distance_m = 4000
        db.session.commit()
        assess_applications(ids=[app_id], user_id=None)
    client = client_as("officer")
    current = _filter_arg(app, "eligibility_decision", "Current or superseded")
    now = client.get(f"{DECISIONS}?{current}=current").get_data(as_text=True)
    old = client.get(f"{DECISIONS}?{current}=superseded").get_data(as_text=True)
    assert "not_eligible" in now or "not eligible" in now
    assert ">eligible<" not in now.replace(" ", "")
    assert "eligible" in old
    outcome = _filter_arg(app, "eligibility_decision", "Outcome")
    charge = _filter_arg(app, "eligibility_decision", "Charge")
    year = _filter_arg(app, "eligibility_decision", "Academic year (e.g. 2024/25)")
    for query in (f"{outcome}=not_eligible", f"{charge}=free", f"{year}=2024/25"):
        response = client.get(f"{DECISIONS}?{query}")
        assert response.status_code == 200, query
    text = client.get(f"{DECISIONS}?{outcome}=eligible&{current}=current").get_data(as_text=True)
    assert county["refs"]["eligible"] not in text  # its current decision is a refusal now
    text = client.get(f"{DECISIONS}?{outcome}=eligible").get_data(as_text=True)
    assert county["refs"]["eligible"] in text


def _queries_for(app: Flask, client: FlaskClient, url: str) -> int:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_lists_have_no_n_plus_1(
    app: Flask, county: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as("officer")
    with app.app_context():
        assess_applications(ids=list(county["ids"].values()), user_id=None)
    few = {url: _queries_for(app, client, url) for url in (LIST, DECISIONS)}
    with app.app_context():
        school = db.session.get(TransportApplication, county["ids"]["eligible"]).school
        for _ in range(20):
            f.transport_application(f.pupil(easting=HOME[0], northing=HOME[1]), school)
        db.session.commit()
        assess_applications(where=TransportApplication.academic_year == "2024/25", user_id=None)
    many = {url: _queries_for(app, client, url) for url in (LIST, DECISIONS)}
    assert many == few


# --- flask assess run --------------------------------------------------------------------------


def test_cli_assesses_a_year_as_a_user_and_is_idempotent(
    app: Flask, county: dict[str, Any]
) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["assess", "run", "--year", "2024/25", "--user", "officer"])
    assert result.exit_code == 0, result.output
    assert "3 assessed" in result.output
    with app.app_context():
        users = {d.decided_by_id for d in db.session.scalars(select(EligibilityDecision))}
    assert users == {county["users"]["officer"]}
    again = runner.invoke(args=["assess", "run", "--year", "2024/25"])
    assert again.exit_code == 0 and "0 assessed" in again.output and "3 unchanged" in again.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--year", "2024-25"], "--year"),
        (["--year", "2030/31"], "no academic year"),
        (["--year", "2024/25", "--user", "nobody"], "--user"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    app: Flask, county: dict[str, Any], args: list[str], says: str
) -> None:
    result = app.test_cli_runner().invoke(args=["assess", "run", *args])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0]
    assert "Traceback" not in result.output
    assert decision_count(app) == 0


def test_bulk_assessment_first_shows_what_it_will_decide_and_changes_nothing(
    app: Flask, county: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    """Safe bulk work (issue 14): how many, which outcomes, then a button; only that acts."""
    client = client_as("assistant")
    ids = [str(i) for i in county["ids"].values()]
    page = client.post(f"{LIST}action/", data={"action": "assess_eligibility", "rowid": ids})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Assess eligibility: what it will decide" in text
    assert "3 new decisions" in text
    assert "1 eligible" in text and "1 measure" in text and "1 refer" in text
    assert text.count('name="rowid"') == 3 and 'name="confirmed" value="1"' in text
    assert decision_count(app) == 0, "the trial run is rolled back"
    run_action(client, [int(i) for i in ids])
    assert decision_count(app) == 3
