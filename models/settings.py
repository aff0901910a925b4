"""Supervisors' yearly settings: contribution charges and dated policy parameters.

Each academic year has its own row, so changing next year's figures never rewrites a decision
or a contribution already made under this year's.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric
from sqlalchemy.orm import Mapped, mapped_column

from .base import MONEY, Base, Timestamped
from .enums import PaymentPlan

PLAN_WORDS = {
    PaymentPlan.FULL: "in full",
    PaymentPlan.THREE: "in three instalments",
    PaymentPlan.SIX: "in six instalments",
}


class ContributionSetting(Timestamped, Base):
    __tablename__ = "contribution_setting"
    __table_args__ = (
        CheckConstraint("post16_contribution >= 0", name="post16"),
        CheckConstraint("concessionary_annual_charge >= 0", name="concessionary"),
        CheckConstraint("offers_full OR offers_three OR offers_six", name="some_plan"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    academic_year: Mapped[str] = mapped_column(
        ForeignKey("academic_year.label", ondelete="RESTRICT"), unique=True
    )
    post16_contribution: Mapped[Decimal] = mapped_column(MONEY)  # A7
    concessionary_annual_charge: Mapped[Decimal] = mapped_column(MONEY)  # A9, Appendix F
    # B1j: in full, three instalments, six instalments.
    offers_full: Mapped[bool] = mapped_column(default=True)
    offers_three: Mapped[bool] = mapped_column(default=True)
    offers_six: Mapped[bool] = mapped_column(default=True)

    def offered_plans(self) -> list[PaymentPlan]:
        """B1j's ways to pay that this year's settings offer families."""
        flags = {
            PaymentPlan.FULL: self.offers_full,
            PaymentPlan.THREE: self.offers_three,
            PaymentPlan.SIX: self.offers_six,
        }
        return [plan for plan, offered in flags.items() if offered]

    def __str__(self) -> str:
        return f"Contributions {self.academic_year}"


class PolicyParameterSet(Timestamped, Base):
    """One academic year's figures, column for column the rules' PolicyParameters.

    What each figure is, its unit and its clause are in rules/figures.toml (one place).
    """

    __tablename__ = "policy_parameter_set"
    __table_args__ = (
        CheckConstraint(
            "primary_walking_distance_m > 0 AND secondary_walking_distance_m > 0 "
            "AND low_income_upper_m > 0 AND religion_or_belief_upper_m > 0",
            name="distances",
        ),
        CheckConstraint("low_income_rank_limit >= 1", name="rank_limit"),
        CheckConstraint(
            "post16_min_age > 0 AND post16_max_age > post16_min_age "
            "AND send_max_age >= post16_max_age",
            name="ages",
        ),
        CheckConstraint("full_time_min_hours > 0", name="hours"),
        CheckConstraint(
            "concessionary_withdrawal_notice_days >= 0 AND error_withdrawal_notice_terms >= 0 "
            "AND unsuitable_route_notice_days >= 0",
            name="notice",
        ),
        CheckConstraint(
            "review_request_working_days > 0 AND stage_one_decision_working_days > 0 "
            "AND stage_two_panel_min_working_days > 0 "
            "AND stage_two_panel_max_working_days >= stage_two_panel_min_working_days "
            "AND panel_outcome_working_days > 0 AND decision_target_working_days > 0",
            name="working_days",
        ),
        CheckConstraint(
            "busy_period_first_month BETWEEN 1 AND 12 AND busy_period_last_month BETWEEN 1 AND 12",
            name="busy_months",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    academic_year: Mapped[str] = mapped_column(
        ForeignKey("academic_year.label", ondelete="RESTRICT"), unique=True
    )
    primary_walking_distance_m: Mapped[int]
    secondary_walking_distance_m: Mapped[int]
    low_income_upper_m: Mapped[int]
    religion_or_belief_upper_m: Mapped[int]
    low_income_rank_limit: Mapped[int]
    post16_min_age: Mapped[int]
    post16_max_age: Mapped[int]
    send_max_age: Mapped[int]
    full_time_min_hours: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    pickup_walk_primary_m: Mapped[int]
    pickup_walk_secondary_m: Mapped[int]
    pickup_walk_post16_m: Mapped[int]
    concessionary_withdrawal_notice_days: Mapped[int]
    error_withdrawal_notice_terms: Mapped[int]
    unsuitable_route_notice_days: Mapped[int]
    operational_days_expected: Mapped[int]
    review_request_working_days: Mapped[int]
    stage_one_decision_working_days: Mapped[int]
    stage_two_panel_min_working_days: Mapped[int]
    stage_two_panel_max_working_days: Mapped[int]
    panel_outcome_working_days: Mapped[int]
    decision_target_working_days: Mapped[int]
    busy_period_first_month: Mapped[int]
    busy_period_last_month: Mapped[int]

    def __str__(self) -> str:
        return f"Policy parameters {self.academic_year}"
