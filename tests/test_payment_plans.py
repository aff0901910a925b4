"""B1j: a family pays in full, in three or in six instalments, as the year's settings offer.

A supervisor can stop offering a way to pay for a year (Settings > Contributions); a seat
application asking for it is then refused on the form, in words, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from models import ConcessionaryApplication, ContributionSetting, db
from tests import factories as f


@pytest.fixture
def ids(app: Flask) -> dict[str, int]:
    with app.app_context():
        f.academic_year()
        f.contribution_setting(offers_six=False)
        school = f.school()
        route = f.route([school])
        pupil = f.pupil(last_name="Lovelace")
        db.session.commit()
        return {"school": school.id, "route": route.id, "pupil": pupil.id}


def _form(ids: dict[str, int], plan: str) -> dict[str, str]:
    return {
        "reference": "CSA0000001",
        "pupil": str(ids["pupil"]),
        "academic_year": "2024/25",
        "school": str(ids["school"]),
        "route": str(ids["route"]),
        "sessions": "both",
        "received_on": "2024-06-01",
        "payment_plan": plan,
    }


def _count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ConcessionaryApplication))


def test_a_plan_the_year_does_not_offer_is_refused_in_words(
    app: Flask, ids: dict[str, int], client_as: Callable[[str], FlaskClient]
) -> None:
    page = client_as("assistant").post(
        "/admin/concessionary_application/new/", data=_form(ids, "6"), follow_redirects=True
    )
    body = page.get_data(as_text=True)
    assert "do not offer payment in six instalments (B1j)" in body
    assert "they offer: in full, in three instalments" in body
    assert _count(app) == 0


@pytest.mark.parametrize("plan", ["full", "3"])
def test_an_offered_plan_is_accepted(
    app: Flask, ids: dict[str, int], client_as: Callable[[str], FlaskClient], plan: str
) -> None:
    page = client_as("assistant").post(
        "/admin/concessionary_application/new/", data=_form(ids, plan)
    )
    assert page.status_code == 302, page.get_data(as_text=True)[:500]
    with app.app_context():
        assert db.session.scalar(select(ConcessionaryApplication.payment_plan)).value == plan


def test_a_plan_withdrawn_later_is_kept_but_cannot_be_chosen_again(
    app: Flask, ids: dict[str, int], client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as("assistant")
    assert client.post("/admin/concessionary_application/new/", data=_form(ids, "3")).status_code
    with app.app_context():
        application_id = db.session.scalar(select(ConcessionaryApplication.id))
        db.session.scalar(select(ContributionSetting)).offers_three = False
        db.session.commit()
    edit = f"/admin/concessionary_application/edit/?id={application_id}"

    corrected = _form(ids, "3") | {"received_on": "2024-06-03"}
    assert client.post(edit, data=corrected).status_code == 302  # the family's choice stands

    page = client.post(edit, data=_form(ids, "6"), follow_redirects=True)
    assert "do not offer payment in six instalments (B1j)" in page.get_data(as_text=True)
    with app.app_context():
        application = db.session.scalar(select(ConcessionaryApplication))
        assert (application.payment_plan.value, str(application.received_on)) == (
            "3",
            "2024-06-03",
        )
