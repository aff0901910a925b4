"""Screens quote the year's figures, never a fixed text (issue 12, rules/figures.toml): the
appeals screen's deadline help follows a supervisor's change to the Appendix C figures, and the
policy parameters screen labels and explains each figure from its one definition."""

from __future__ import annotations

import html
from datetime import date
from typing import Any

import pytest
from flask import Flask

from models import db
from rules.figures import FIGURES
from services import years
from services.policy import ensure_parameter_set
from tests import factories as f


def test_the_appeals_screen_quotes_the_years_figures_appendix_c(
    app: Flask, client_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(years, "today", lambda: date(2024, 10, 1))
    with app.app_context():
        f.academic_year()
        row = ensure_parameter_set("2024/25")
        row.review_request_working_days = 15
        row.stage_two_panel_max_working_days = 35
        db.session.commit()
    page = html.unescape(client_as("officer").get("/admin/appeal/").get_data(as_text=True))
    assert "Appendix C: 15 working days from the decision appealed against." in page
    assert "within 35 working days" in page
    assert "20 working days from the decision" not in page


def test_the_policy_parameters_screen_explains_each_figure_from_its_definition(
    app: Flask, client_as: Any
) -> None:
    with app.app_context():
        f.academic_year()
        db.session.commit()
    page = html.unescape(
        client_as("supervisor").get("/admin/policy_parameter_set/new/").get_data(as_text=True)
    )
    for figure in FIGURES.values():
        assert figure.help_text() in page, figure.name
        assert f"{figure.label} ({figure.unit})" in page, figure.name


def test_the_home_page_quotes_the_years_b2_figures(
    app: Flask, client_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(years, "today", lambda: date(2024, 10, 1))
    with app.app_context():
        f.academic_year()
        row = ensure_parameter_set("2024/25")
        row.decision_target_working_days = 7
        row.busy_period_first_month, row.busy_period_last_month = 8, 9
        db.session.commit()
    page = html.unescape(client_as("supervisor").get("/admin/").get_data(as_text=True))
    assert "within 7 working days of receipt" in page
    assert "Received August-September" in page
    assert "within 5 working days of receipt" not in page
