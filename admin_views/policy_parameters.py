"""Dated policy parameters per academic year (supervisors): the figures the rules module reads.

Each year is its own row; a decision stores its facts and the parameters' year, so editing next
year's figures never changes a stored past decision. Saving is validated by the rules module's
own ``PolicyParameters`` (the same checks the rules apply when they read the row).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from wtforms import ValidationError

from models import PolicyParameterSet
from rules.errors import RulesError
from rules.figures import FIGURES
from rules.parameters import PolicyParameters, parameters_for

from .base import (
    STAFF,
    SUPERVISORS,
    AcademicYearChoiceMixin,
    AppModelView,
    FieldErrors,
)
from .copy_forward import CopyForwardMixin
from .settings_impact import ConfirmImpactMixin

FIELDS = tuple(
    attr.key
    for attr in PolicyParameterSet.__mapper__.column_attrs
    if attr.key not in {"id", "created_at", "updated_at", "row_version"}
)


def validate_parameters(model: PolicyParameterSet) -> None:
    """Raise form errors naming every field the rules module would refuse in these figures.

    The table holds every figure the rules read, so the check is the one the rules will apply.
    The rules stop at the first refusal; to show every one at once (issue 15: the error summary
    lists every field in error), each refused figure, and any it was compared with, is set
    aside (given the year's default) and the check run again, so every message is still the
    rules' own.
    """
    missing = [name for name in FIELDS if getattr(model, name) is None]
    if missing:
        raise FieldErrors(dict.fromkeys(missing, "Enter this figure: every figure is required."))
    base = dataclasses.asdict(parameters_for(model.academic_year))
    values = {**base, **{name: getattr(model, name) for name in FIELDS}}
    refused: dict[str, str] = {}
    for _ in range(len(FIELDS) + 1):
        try:
            PolicyParameters.from_mapping(values)
            break
        except RulesError as error:
            name = error.field.split(".")[-1]
            if name in refused or name not in base:
                refused.setdefault(name, str(error))
                break
            refused[name] = str(error)
            # Set aside the figure and any it was compared with, so the next run checks the rest.
            for other in (name, *(f for f in FIELDS if f in error.message.split())):
                values[other] = base[other]
        except TypeError as error:
            raise ValidationError(f"Every figure is required: {error}") from error
    if refused:
        raise FieldErrors(refused)


class PolicyParameterSetView(
    ConfirmImpactMixin, CopyForwardMixin, AcademicYearChoiceMixin, AppModelView
):
    copy_forward_noun = "policy parameters"
    impact_kind = "parameters"
    impact_fields = tuple(name for name in FIELDS if name != "academic_year")
    read_roles = STAFF
    write_roles = SUPERVISORS
    action_roles = {"copy_forward": SUPERVISORS}

    column_list = (
        "academic_year",
        "primary_walking_distance_m",
        "secondary_walking_distance_m",
        "low_income_upper_m",
        "religion_or_belief_upper_m",
        "operational_days_expected",
    )
    column_default_sort = ("academic_year", True)
    column_searchable_list = ("academic_year",)
    form_columns = FIELDS
    # Labels and help text from the figures' one definition (rules/figures.toml, with clauses).
    column_labels = {name: f"{figure.label} ({figure.unit})" for name, figure in FIGURES.items()}
    column_descriptions = {name: figure.help_text() for name, figure in FIGURES.items()}

    def on_model_change(self, form: Any, model: PolicyParameterSet, is_created: bool) -> None:
        validate_parameters(model)

    def after_model_change(self, form: Any, model: PolicyParameterSet, is_created: bool) -> None:
        self._refresh_targets(model.academic_year)

    def after_model_delete(self, model: PolicyParameterSet) -> None:
        self._refresh_targets(model.academic_year)  # the year is back on its dated defaults

    @staticmethod
    def _refresh_targets(year: str) -> None:
        """B2a: the year's decision targets follow its figures (`refresh_decision_targets`)."""
        from models import TransportApplication, db
        from services.years import refresh_decision_targets

        if refresh_decision_targets(db.session, TransportApplication.academic_year == year):
            db.session.commit()


VIEW = (PolicyParameterSetView, PolicyParameterSet, "Policy parameters", "Settings")
