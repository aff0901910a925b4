"""The "To measure" queue says why each case waits (A1c, A3b).

A fact the panel cannot know yet is unknown, never false (A1c): a home or school without a
location, or routes to schools that may be nearer, send the case to be measured. The officer
working the queue must see which, on each row and on the application page, in the words of
the gathered facts (`GatheredCase.missing`, `services.eligibility_facts.missing_facts`), the
one definition the rules are given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from models import EligibilityDecision, TransportApplication, db
from models.enums import EstablishmentType, Outcome, Phase
from services.assessment import assess_applications
from services.eligibility_facts import gather_facts, missing_facts
from services.schools import HOME_LOCATION_NEEDED, SCHOOL_LOCATION_NEEDED
from tests import factories as f

LIST = "/admin/transport_application/"


def _secondary(**kw: Any):  # type: ignore[no-untyped-def]
    return f.school(phase=Phase.SECONDARY, establishment_type=EstablishmentType.COMMUNITY, **kw)


@pytest.fixture
def waiting(app: Flask) -> dict[str, Any]:
    """Two cases sent to be measured: one home without a location, one school without one."""
    with app.app_context():
        f.academic_year()
        no_home = f.transport_application(
            f.pupil(easting=None, northing=None),
            _secondary(easting=500000, northing=381000),
            distance_m=6100,
        )
        no_school = f.transport_application(
            f.pupil(easting=500000, northing=375000), _secondary(easting=None, northing=None)
        )
        db.session.commit()
        ids = [no_home.id, no_school.id]
        assess_applications(ids=ids, user_id=None)
        outcomes = db.session.scalars(
            select(EligibilityDecision.outcome).where(EligibilityDecision.superseded_at.is_(None))
        ).all()
        assert outcomes == [Outcome.MEASURE, Outcome.MEASURE]
        return {
            "no_home": (no_home.id, no_home.reference),
            "no_school": (no_school.id, no_school.reference),
        }


def _row(page: str, reference: str) -> str:
    start = page.index(f">{reference}</a>")
    return page[start : page.index("</tr>", start)]


def test_the_measure_queue_rows_say_which_fact_is_missing_a1c(
    app: Flask, waiting: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    page = client_as("assistant").get(f"{LIST}queue/measure").get_data(as_text=True)
    home_row = _row(page, waiting["no_home"][1])
    school_row = _row(page, waiting["no_school"][1])
    assert HOME_LOCATION_NEEDED in home_row and SCHOOL_LOCATION_NEEDED not in home_row
    assert SCHOOL_LOCATION_NEEDED in school_row and HOME_LOCATION_NEEDED not in school_row


def test_the_application_page_says_which_fact_is_missing_a1c(
    app: Flask, waiting: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    app_id, _ = waiting["no_home"]
    page = client_as("assistant").get(f"{LIST}details/?id={app_id}").get_data(as_text=True)
    assert "Not known yet, so not decided (A1c)" in page
    assert HOME_LOCATION_NEEDED in page


def test_the_notes_are_the_gathered_facts_own(app: Flask, waiting: dict[str, Any]) -> None:
    """One definition: exactly `GatheredCase.missing` (then the case's problem), not a second
    reading of the columns; a case with everything known has none."""
    with app.app_context():
        ids = [waiting["no_home"][0], waiting["no_school"][0]]
        gathered = {
            g.application_id: g for g in gather_facts(db.session, TransportApplication.id.in_(ids))
        }
        found = missing_facts(db.session, ids)
        assert found == {i: gathered[i].missing for i in ids}
        complete = f.transport_application(
            f.pupil(easting=500000, northing=375000),
            _secondary(easting=500000, northing=381000),
            distance_m=6100,
        )
        db.session.commit()
        assert missing_facts(db.session, [complete.id]) == {}
        assert db.session.scalar(select(func.count()).select_from(TransportApplication)) == 3
