"""The dated policy figures are data with their clause, in one place (rules/figures.toml), and
no template or screen text carries a figure of its own (issue 12)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from rules.errors import RulesError
from rules.figures import FIGURES, _load, first_value, quote, value_in
from rules.parameters import DATED_DEFAULTS, PolicyParameters, parameters_for

ROOT = Path(__file__).resolve().parents[2]
# A clause of the council's policy: A9, A12a, B2a, Appendix C (as the policy numbers them).
CLAUSE = re.compile(r"\b(?:[AB]\d{1,2}[a-z]?|Appendix [A-H])\b")
UNITS = {
    "metres",
    "schools",
    "years of age",
    "hours a week",
    "working days",
    "terms",
    "operational days",
    "month number",
}
# "20 working days", "3 miles", "12.5 hours", "one term" typed as a number: a figure in text.
TYPED_FIGURE = re.compile(
    r"(?<![{\w.])\d+(?:\.\d+)?\s*(?:working days?|miles?|hours?|terms?|operational days|"
    r"years? of age)\b|at least \d"
)


def test_every_figure_has_a_label_a_unit_a_clause_and_a_value() -> None:
    fields = set(PolicyParameters.field_names()) - {"academic_year"}
    assert set(FIGURES) == fields
    for name, figure in FIGURES.items():
        assert figure.label.strip() and figure.description.strip(), name
        assert figure.unit in UNITS, (name, figure.unit)
        assert CLAUSE.search(figure.clause), (name, figure.clause)
        assert figure.values, name
        assert figure.clause in figure.help_text() and figure.unit in figure.help_text()
        # The words never state the value: a supervisor's change to it cannot leave them stale.
        assert not TYPED_FIGURE.search(f"{figure.label} {figure.description}"), name
        assert not re.search(r"\(\d", figure.description), name


def test_the_rules_defaults_are_the_figures_values() -> None:
    for year, params in DATED_DEFAULTS.items():
        for name, figure in FIGURES.items():
            assert getattr(params, name) == value_in(figure, year), (year, name)
    # A later year takes the latest dated value; an earlier one is refused, never guessed.
    later = parameters_for("2031/32")
    assert later.review_request_working_days == first_value("review_request_working_days")
    with pytest.raises(RulesError):
        value_in(FIGURES["send_max_age"], "1999/00")


def test_a_figure_without_its_clause_is_refused() -> None:
    with pytest.raises(RulesError, match="missing clause"):
        _load('[x]\nlabel = "X"\nunit = "terms"\ndescription = "d"\nvalues = { "2024/25" = 1 }\n')


def test_quote_says_the_figure_with_its_unit() -> None:
    assert quote("review_request_working_days", 15) == "15 working days"
    assert quote("secondary_walking_distance_m", 4827) == "4827 m (3.0 miles)"
    assert quote("error_withdrawal_notice_terms", 1) == "1 term"
    assert quote("full_time_min_hours", Decimal("12.5")) == "12.5 hours a week"


def _texts() -> list[Path]:
    """Every template and screen module whose text a person reads."""
    found = [
        *ROOT.glob("admin_views/templates/**/*.html"),
        *ROOT.glob("auth/templates/**/*.html"),
        *ROOT.glob("admin_views/*.py"),
        ROOT / "services/letters/defaults.py",  # the letters' default templates
    ]
    assert len(found) > 20
    return found


def test_no_template_or_screen_hard_codes_a_figure() -> None:
    typed = []
    for path in _texts():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if TYPED_FIGURE.search(line):
                typed.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert typed == []
