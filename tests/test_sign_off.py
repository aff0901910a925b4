"""Officers sign off decisions (issue 14, DOMAIN.md "Who uses it"): an assistant's refusals and
awards resting on an officer's judgement wait for an officer before any letter goes; officers
and supervisors sign off (one by one or in bulk) or send back; assistants cannot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from models import (
    AuditLog,
    Communication,
    EligibilityDecision,
    JobStatus,
    TransportApplication,
    Withdrawal,
    db,
)
from models.enums import (
    ApplicationStatus,
    AuditAction,
    DistanceMethod,
    EstablishmentType,
    MedicalWho,
    Outcome,
    Phase,
    SignOff,
)
from services.assessment import assess_applications
from services.audit import acting_user
from services.jobs import enqueue, run_job
from services.letters.kinds import kinds_of
from services.letters.owed import letters_owed
from services.sign_off import SignOffError, send_back, sign_off
from tests import factories as f

HOME = (500000, 375000)
AWAY = (HOME[0] + 20000, HOME[1])
QUEUE = "/admin/transport_application/sign-off/"


def _school(east: int, north: int = 0) -> Any:
    return f.school(
        phase=Phase.SECONDARY,
        establishment_type=EstablishmentType.COMMUNITY,
        easting=HOME[0] + east,
        northing=HOME[1] + north,
    )


@pytest.fixture
def county(app: Flask, users: dict[str, int]) -> dict[str, Any]:
    """Three applications: eligible on distance (A3), refused (A3: 2.1 km walk), and eligible
    on medical grounds an officer accepted (A13)."""
    with app.app_context():
        f.academic_year()
        far, near = _school(6000), _school(20000, 2000)
        walk = {"distance_m": 2100, "distance_method": DistanceMethod.WALKING_ROUTE}
        distance = f.transport_application(
            f.pupil(easting=HOME[0], northing=HOME[1]), far, distance_m=6100
        )
        refused = f.transport_application(f.pupil(easting=AWAY[0], northing=AWAY[1]), near, **walk)
        medical = f.transport_application(
            f.pupil(easting=AWAY[0], northing=AWAY[1]),
            near,
            medical_who=MedicalWho.CHILD,
            medical_accepted=True,
            **walk,
        )
        db.session.commit()
        return {
            "ids": {"distance": distance.id, "refused": refused.id, "medical": medical.id},
            "users": users,
        }


def _current(application_id: int) -> EligibilityDecision:
    return db.session.scalars(
        select(EligibilityDecision).where(
            EligibilityDecision.application_id == application_id,
            EligibilityDecision.superseded_at.is_(None),
        )
    ).one()


def _owed_decisions() -> set[int]:
    owed, _stale = letters_owed(db.session, "2024/25", kinds_of("decision"))
    return {d.record_id for d in owed}


def _assess(county: dict[str, Any], role: str) -> dict[str, EligibilityDecision]:
    assess_applications(ids=list(county["ids"].values()), user_id=county["users"][role])
    return {name: _current(i) for name, i in county["ids"].items()}


def test_an_assistants_refusal_and_judgement_award_await_sign_off_and_owe_no_letter(
    app_ctx: Flask, county: dict[str, Any]
) -> None:
    decisions = _assess(county, "assistant")
    assert decisions["refused"].outcome is Outcome.NOT_ELIGIBLE
    assert decisions["medical"].outcome is Outcome.ELIGIBLE
    assert decisions["medical"].basis == "A13"
    assert decisions["refused"].sign_off is SignOff.AWAITING
    assert decisions["medical"].sign_off is SignOff.AWAITING
    assert decisions["refused"].decided_by_id == county["users"]["assistant"]
    assert decisions["distance"].sign_off is None  # an award on distance is the rules' own
    # Only the distance award's letter is owed until an officer signs the others off.
    assert _owed_decisions() == {decisions["distance"].id}


@pytest.mark.parametrize("role", ["officer", "supervisor"])
def test_an_officers_decisions_need_no_sign_off(
    app_ctx: Flask, county: dict[str, Any], role: str
) -> None:
    decisions = _assess(county, role)
    assert {d.sign_off for d in decisions.values()} == {None}
    assert _owed_decisions() == {d.id for d in decisions.values()}


def test_the_run_says_how_many_await_sign_off(app_ctx: Flask, county: dict[str, Any]) -> None:
    summary = assess_applications(
        ids=list(county["ids"].values()), user_id=county["users"]["assistant"]
    )
    assert summary.awaiting_sign_off == 2
    assert "2 await an officer's sign-off before their letters go" in summary.as_text()


@pytest.mark.parametrize("role", ["officer", "supervisor"])
def test_signing_off_records_who_and_when_and_the_letter_becomes_owed(
    app_ctx: Flask, county: dict[str, Any], role: str
) -> None:
    decisions = _assess(county, "assistant")
    refused = decisions["refused"]
    with acting_user(role, county["users"][role]):
        summary = sign_off(db.session, [refused.id], county["users"][role])
    assert summary.done == 1
    db.session.expire_all()
    refused = db.session.get(EligibilityDecision, refused.id)
    assert refused is not None
    assert refused.sign_off is SignOff.SIGNED_OFF
    assert refused.sign_off_by_id == county["users"][role]
    assert refused.sign_off_at is not None
    assert refused.id in _owed_decisions()
    assert decisions["medical"].id not in _owed_decisions()  # still waiting
    trail = db.session.scalars(
        select(AuditLog).where(
            AuditLog.table_name == "eligibility_decision",
            AuditLog.record_id == str(refused.id),
            AuditLog.action == AuditAction.UPDATE,
        )
    ).all()
    assert any(
        row.user_id == county["users"][role] and "sign_off" in row.changes for row in trail
    ), [row.changes for row in trail]
    # Signing off again changes nothing and says so.
    again = sign_off(db.session, [refused.id], county["users"][role])
    assert again.done == 0 and again.skipped


def test_an_assistant_cannot_sign_off_or_send_back(app_ctx: Flask, county: dict[str, Any]) -> None:
    decisions = _assess(county, "assistant")
    wanted = [decisions["refused"].id]
    with pytest.raises(SignOffError, match="Only a transport eligibility officer"):
        sign_off(db.session, wanted, county["users"]["assistant"])
    with pytest.raises(SignOffError):
        send_back(db.session, wanted, county["users"]["assistant"])
    db.session.expire_all()
    assert _current(county["ids"]["refused"]).sign_off is SignOff.AWAITING
    assert decisions["refused"].id not in _owed_decisions()


def test_sending_back_supersedes_the_decision_and_the_application_waits_again(
    app_ctx: Flask, county: dict[str, Any]
) -> None:
    decisions = _assess(county, "assistant")
    medical = decisions["medical"]
    summary = send_back(db.session, [medical.id], county["users"]["officer"], "check the GP letter")
    assert summary.done == 1
    db.session.expire_all()
    kept = db.session.get(EligibilityDecision, medical.id)
    assert kept is not None
    assert kept.sign_off is SignOff.SENT_BACK and kept.superseded_at is not None
    assert kept.sign_off_by_id == county["users"]["officer"]
    assert kept.sign_off_note == "check the GP letter"
    application = db.session.get(TransportApplication, county["ids"]["medical"])
    assert application is not None and application.status is ApplicationStatus.RECEIVED
    assert medical.id not in _owed_decisions()
    # Assessed again by an officer, it is decided without waiting.
    assess_applications(ids=[application.id], user_id=county["users"]["officer"])
    again = _current(application.id)
    assert again.sign_off is None and again.id in _owed_decisions()


def test_an_eligibility_an_assistant_refuses_is_withdrawn_only_once_signed_off(
    app_ctx: Flask, county: dict[str, Any]
) -> None:
    app_id = county["ids"]["refused"]
    application = db.session.get(TransportApplication, app_id)
    assert application is not None
    application.distance_m = 5200  # beyond the secondary walking distance: eligible (A3)
    db.session.commit()
    assess_applications(ids=[app_id], user_id=county["users"]["officer"])
    was = _current(app_id)
    assert was.outcome is Outcome.ELIGIBLE
    application.distance_m = 2100  # measured again: within walking distance
    db.session.commit()
    assess_applications(ids=[app_id], user_id=county["users"]["assistant"])
    refusal = _current(app_id)
    assert refusal.outcome is Outcome.NOT_ELIGIBLE and refusal.sign_off is SignOff.AWAITING
    assert db.session.scalars(select(Withdrawal)).all() == []
    sign_off(db.session, [refusal.id], county["users"]["officer"])
    [withdrawal] = db.session.scalars(select(Withdrawal)).all()
    assert withdrawal.decision_id == was.id
    assert withdrawal.decided_by_id == county["users"]["officer"]


# --- the screens -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"), [("assistant", False), ("officer", True), ("supervisor", True)]
)
def test_the_sign_off_buttons_by_role(
    app: Flask,
    county: dict[str, Any],
    client_as: Callable[[str], FlaskClient],
    role: str,
    allowed: bool,
) -> None:
    with app.app_context():
        decisions = _assess(county, "assistant")
        refused_id = decisions["refused"].id
    client = client_as(role)
    page = client.get(f"/admin/transport_application/details/?id={county['ids']['refused']}")
    text = page.get_data(as_text=True)
    assert "awaits an officer&#39;s sign-off" in text or "awaits an officer's sign-off" in text
    assert ("Sign off this decision" in text) is allowed
    response = client.post(
        QUEUE, data={"decision_id": str(refused_id), "do": "sign_off", "confirmed": "1"}
    )
    assert response.status_code == (302 if allowed else 403)
    with app.app_context():
        state = db.session.get(EligibilityDecision, refused_id)
        assert state is not None
        assert state.sign_off is (SignOff.SIGNED_OFF if allowed else SignOff.AWAITING)


def test_bulk_sign_off_from_the_queue_says_what_it_will_do_first(
    app: Flask, county: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        decisions = _assess(county, "assistant")
        ids = [str(decisions["refused"].id), str(decisions["medical"].id)]
    client = client_as("officer")
    queue = client.get(QUEUE).get_data(as_text=True)
    assert "Awaiting sign-off" in queue and "(2)" in queue
    asked = client.post(QUEUE, data={"decision_id": ids, "do": "sign_off"})
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Sign off 2 decisions" in text
    assert "1 eligible" in text and "1 not eligible" in text
    with app.app_context():
        assert _current(county["ids"]["refused"]).sign_off is SignOff.AWAITING  # not yet
    done = client.post(
        QUEUE, data={"decision_id": ids, "do": "sign_off", "confirmed": "1"}, follow_redirects=True
    )
    assert "2 decisions signed off" in done.get_data(as_text=True)
    with app.app_context():
        assert {_current(i).sign_off for i in county["ids"].values()} == {
            None,
            SignOff.SIGNED_OFF,
        }
        assert len(_owed_decisions()) == 3


def test_home_counts_the_decisions_awaiting_sign_off(
    app: Flask, county: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        _assess(county, "assistant")
    home = client_as("officer").get("/admin/").get_data(as_text=True)
    tile = home.split('data-key="awaiting_sign_off"', 1)[1].split("</li>", 1)[0]
    assert '<span class="home-count">2</span>' in tile
    assert QUEUE in tile


@pytest.mark.commits  # the job runs on a connection of its own
def test_the_whole_year_job_run_by_an_assistant_holds_their_letters(
    app_ctx: Flask,
    county: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOB_QUEUE_FILE", str(tmp_path / "jobs.db"))
    monkeypatch.delenv("JOB_QUEUE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    with acting_user("assistant", county["users"]["assistant"]):
        job = enqueue("assessment", {"year": "2024/25"})
    assert run_job(job.id) is JobStatus.DONE
    db.session.refresh(job)
    assert "2 await an officer's sign-off" in (job.result or "")
    assert "1 letters made" in (job.result or "")
    letters = db.session.scalars(select(Communication)).all()
    assert [c.application_id for c in letters] == [county["ids"]["distance"]]


def test_the_assessment_preview_says_how_many_will_await_sign_off(
    app: Flask, county: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    ids = [str(i) for i in county["ids"].values()]
    asked = client_as("assistant").post(
        "/admin/transport_application/action/",
        data={"action": "assess_eligibility", "rowid": ids},
    )
    text = asked.get_data(as_text=True)
    assert "2 will await an officer&#39;s sign-off before their letters go" in text
