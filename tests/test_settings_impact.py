"""Changing the year in force's charges or policy figures says first how many stored records it
touches and what stays as it is, and saves only on confirming (issue 14)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from models import (
    Communication,
    Contribution,
    ContributionSetting,
    Instalment,
    Payment,
    PolicyParameterSet,
    db,
)
from models.enums import ApplicationStatus, ContributionKind, PaymentPlan
from services.letters.kinds import kinds_of
from services.letters.owed import make_letters
from services.policy import ensure_parameter_set
from tests import factories as f
from tests.test_stale_edits import open_form, plain_text

CHARGES = "/admin/contribution_setting/edit/?id={}"
FIGURES = "/admin/policy_parameter_set/edit/?id={}"


@pytest.fixture
def year(app: Flask) -> dict[str, Any]:
    """2024/25 in force: an application awaiting a decision, one decided (its letter made)
    with a post-16 contribution of two instalments, one paid; a seat application pending;
    and 2027/28 with figures of its own."""
    with app.app_context():
        f.academic_year()
        f.academic_year("2027/28", with_calendar=False)
        setting = f.contribution_setting()
        f.contribution_setting("2027/28")
        figures = ensure_parameter_set("2024/25")
        later = ensure_parameter_set("2027/28")
        school = f.school()
        f.transport_application(f.pupil(), school)
        pupil = f.pupil()
        decided = f.transport_application(pupil, school, status=ApplicationStatus.DECIDED)
        db.session.flush()
        f.decision(decided)
        contribution = Contribution(
            kind=ContributionKind.POST16,
            pupil=pupil,
            academic_year="2024/25",
            transport_application_id=decided.id,
            annual_amount=Decimal("456.00"),
            amount=Decimal("456.00"),
            start_date=date(2024, 9, 4),
            plan=PaymentPlan.THREE,
        )
        first = Instalment(number=1, due_on=date(2024, 9, 1), amount=Decimal("228.00"))
        contribution.instalments = [
            first,
            Instalment(number=2, due_on=date(2025, 1, 1), amount=Decimal("228.00")),
        ]
        db.session.add(contribution)
        db.session.flush()
        db.session.add(
            Payment(
                contribution=contribution,
                instalment=first,
                received_on=date(2024, 8, 20),
                amount=Decimal("228.00"),
                method="card",
            )
        )
        f.concessionary_application(f.pupil(), school, f.route([school]))
        db.session.commit()
        make_letters(db.session, "2024/25", kinds_of("decision"))
        assert db.session.scalar(select(Communication.id)) is not None
        return {
            "setting": setting.id,
            "later_setting": db.session.scalar(
                select(ContributionSetting.id).where(ContributionSetting.academic_year == "2027/28")
            ),
            "figures": figures.id,
            "later_figures": later.id,
        }


def test_a_change_to_this_years_charges_says_what_it_touches_then_saves_on_confirming(
    app: Flask, year: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as("supervisor")
    url = CHARGES.format(year["setting"])
    form = {
        **open_form(client, url),
        "post16_contribution": "500.00",
        "concessionary_annual_charge": "480.00",
    }
    asked = client.post(url, data=form)
    assert asked.status_code == 200
    page = " ".join(plain_text(asked).split())
    assert "2024/25 is the academic year in force" in page
    assert "Post-16 contribution (A7): £456.00 → £500.00" in page
    assert "0 post-16 awards charging a contribution not yet raised" in page
    assert "1 concessionary seat application pending or on a waiting list" in page
    assert "0 concessionary seats already allocated: each keeps the contribution" in page
    assert (
        "1 contribution already raised, with 2 instalments and 1 payment recorded: amounts "
        "and due dates unchanged" in page
    )
    assert "1 letter already made (0 sent): the figures they quote unchanged" in page
    with app.app_context():
        setting = db.session.get(ContributionSetting, year["setting"])
        assert setting is not None and setting.post16_contribution == Decimal("456.00")

    saved = client.post(url, data={**form, "confirmed": "1"})
    assert saved.status_code == 302
    with app.app_context():
        setting = db.session.get(ContributionSetting, year["setting"])
        assert setting is not None and setting.post16_contribution == Decimal("500.00")
        # What stays as it is, stays.
        contribution = db.session.scalars(select(Contribution)).one()
        assert contribution.amount == Decimal("456.00")


def test_a_change_to_this_years_figures_says_what_it_touches(
    app: Flask, year: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as("supervisor")
    url = FIGURES.format(year["figures"])
    opened = open_form(client, url)
    before = int(opened["decision_target_working_days"])
    form = {**opened, "decision_target_working_days": str(before + 2)}
    asked = client.post(url, data=form)
    assert asked.status_code == 200
    page = " ".join(plain_text(asked).split())
    assert f"{before} → {before + 2}" in page
    assert "1 application awaiting a decision: decided on the new figures" in page
    assert "1 current decision made on the old figures: each is decided afresh" in page
    assert "2 applications of the year: the B2 decision target of each" in page
    assert "1 current decision: unchanged until then; nothing is re-decided on saving" in page
    with app.app_context():
        figures = db.session.get(PolicyParameterSet, year["figures"])
        assert figures is not None and figures.decision_target_working_days == before

    saved = client.post(url, data={**form, "confirmed": "1"})
    assert saved.status_code == 302
    with app.app_context():
        figures = db.session.get(PolicyParameterSet, year["figures"])
        assert figures is not None and figures.decision_target_working_days == before + 2


@pytest.mark.parametrize(
    ("url", "key", "field", "value"),
    [
        (CHARGES, "setting", "concessionary_annual_charge", None),  # nothing changed
        (CHARGES, "later_setting", "concessionary_annual_charge", "470.00"),  # next year
        (FIGURES, "later_figures", "concessionary_withdrawal_notice_days", "+1"),
    ],
)
def test_no_change_or_another_years_saves_straight_away(
    app: Flask,
    year: dict[str, Any],
    client_as: Callable[[str], FlaskClient],
    url: str,
    key: str,
    field: str,
    value: str | None,
) -> None:
    client = client_as("supervisor")
    page = url.format(year[key])
    form = open_form(client, page)
    if value == "+1":
        value = str(int(form[field]) + 1)
    if value is not None:
        form[field] = value
    saved = client.post(page, data=form)
    assert saved.status_code == 302, plain_text(saved)[:2000]


def test_a_refused_figure_goes_to_the_form_not_the_impact_page(
    app: Flask, year: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as("supervisor")
    url = CHARGES.format(year["setting"])
    form = {**open_form(client, url), "post16_contribution": "-1.00"}
    refused = client.post(url, data=form)
    assert refused.status_code == 200
    text = plain_text(refused)
    assert "must be £0.00 or more" in text and "what it touches" not in text
