"""Contribution settings per academic year (supervisors): A7 post-16, A9 concessionary, B1j.

A year's row is copied forward to start the next; copying only inserts next year's row, so
contributions already calculated (which store their own amounts) never change.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from models import ContributionSetting
from services.errors import FieldError

from .base import STAFF, SUPERVISORS, AcademicYearChoiceMixin, AppModelView
from .copy_forward import CopyForwardMixin
from .settings_impact import ConfirmImpactMixin


class ContributionSettingView(
    ConfirmImpactMixin, CopyForwardMixin, AcademicYearChoiceMixin, AppModelView
):
    copy_forward_noun = "contribution settings"
    impact_kind = "charges"
    impact_fields = (
        "post16_contribution",
        "concessionary_annual_charge",
        "offers_full",
        "offers_three",
        "offers_six",
    )
    impact_money = frozenset({"post16_contribution", "concessionary_annual_charge"})
    read_roles = STAFF
    write_roles = SUPERVISORS
    action_roles = {"copy_forward": SUPERVISORS}

    column_list = (
        "academic_year",
        "post16_contribution",
        "concessionary_annual_charge",
        "offers_full",
        "offers_three",
        "offers_six",
    )
    column_default_sort = ("academic_year", True)
    column_searchable_list = ("academic_year",)
    form_columns = column_list
    column_labels = {
        "post16_contribution": "Post-16 contribution (A7)",
        "concessionary_annual_charge": "Concessionary seat annual charge (A9, Appendix F)",
        "offers_full": "Offer payment in full (B1j)",
        "offers_three": "Offer three instalments (B1j)",
        "offers_six": "Offer six instalments (B1j)",
    }

    def on_model_change(self, form: Any, model: ContributionSetting, is_created: bool) -> None:
        for name in ("post16_contribution", "concessionary_annual_charge"):
            value = getattr(model, name)
            if value is None or Decimal(value) < 0:
                raise FieldError(name, f"{self.column_labels[name]} must be £0.00 or more.")
        if not (model.offers_full or model.offers_three or model.offers_six):
            raise FieldError("offers_full", "Offer at least one way to pay (B1j).")


VIEW = (ContributionSettingView, ContributionSetting, "Contribution settings", "Settings")
