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

from .base import STAFF, SUPERVISORS, AcademicYearChoiceMixin, AppModelView
from .copy_forward import CopyForwardMixin

FIELDS = tuple(
    attr.key
    for attr in PolicyParameterSet.__mapper__.column_attrs
    if attr.key not in {"id", "created_at", "updated_at", "row_version"}
)


def validate_parameters(model: PolicyParameterSet) -> None:
    """Raise a form error naming the field if the rules module would refuse these figures.

    The table holds every figure the rules read, so the check is the one the rules will apply.
    """
    missing = [name for name in FIELDS if getattr(model, name) is None]
    if missing:
        raise ValidationError(f"Every figure is required; missing: {', '.join(missing)}.")
    try:
        base = parameters_for(model.academic_year)
        values = dataclasses.asdict(base)
        values.update({name: getattr(model, name) for name in FIELDS})
        PolicyParameters.from_mapping(values)
    except RulesError as error:
        raise ValidationError(str(error)) from error
    except TypeError as error:
        raise ValidationError(f"Every figure is required: {error}") from error


class PolicyParameterSetView(CopyForwardMixin, AcademicYearChoiceMixin, AppModelView):
    copy_forward_noun = "policy parameters"
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
        """B2a: the year's decision targets follow its figures (`refresh_decision_targets`)."""
        from models import TransportApplication, db
        from services.years import refresh_decision_targets

        if refresh_decision_targets(
            db.session, TransportApplication.academic_year == model.academic_year
        ):
            db.session.commit()


VIEW = (PolicyParameterSetView, PolicyParameterSet, "Policy parameters", "Settings")
