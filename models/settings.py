"""Supervisors' yearly settings: contribution charges and dated policy parameters.

Each academic year has its own row, so changing next year's figures never rewrites a decision
or a contribution already made under this year's.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric
from sqlalchemy.orm import Mapped, mapped_column

from .base import MONEY, Base, Timestamped, Versioned
from .enums import PaymentPlan

PLAN_WORDS = {
    PaymentPlan.FULL: "in full",
    PaymentPlan.THREE: "in three instalments",
    PaymentPlan.SIX: "in six instalments",
}


class ContributionSetting(Timestamped, Versioned, Base):
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


class PolicyParameterSet(Timestamped, Versioned, Base):
    """One academic year's figures, column for column the rules' PolicyParameters."""

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
    primary_walking_distance_m: Mapped[int]  # A2, A3: 2 miles
    secondary_walking_distance_m: Mapped[int]  # A2, A3, A7: 3 miles
    low_income_upper_m: Mapped[int]  # A5: 6 miles
    religion_or_belief_upper_m: Mapped[int]  # A6: 15 miles
    low_income_rank_limit: Mapped[int]  # A5: one of the three nearest
    post16_min_age: Mapped[int]  # A7b
    post16_max_age: Mapped[int]  # A7b: under 19
    send_max_age: Mapped[int]  # A8: to 25
    full_time_min_hours: Mapped[Decimal] = mapped_column(Numeric(5, 2))  # A7: 12.5 hours
    pickup_walk_primary_m: Mapped[int]  # B4: 1 mile
    pickup_walk_secondary_m: Mapped[int]  # B4: 2 miles
    pickup_walk_post16_m: Mapped[int]  # B4: 3 miles
    concessionary_withdrawal_notice_days: Mapped[int]  # Appendix F "short notice"
    error_withdrawal_notice_terms: Mapped[int]  # A15: one term
    unsuitable_route_notice_days: Mapped[int]  # A12a "reasonable notice"
    operational_days_expected: Mapped[int]  # Appendix H: 190
    review_request_working_days: Mapped[int]  # Appendix C: 20 working days to ask for a review
    stage_one_decision_working_days: Mapped[int]  # Appendix C: stage one decided within 20
    stage_two_panel_min_working_days: Mapped[int]  # Appendix C: panel no sooner than 20
    stage_two_panel_max_working_days: Mapped[int]  # Appendix C: panel within 40
    panel_outcome_working_days: Mapped[int]  # Appendix C: outcome within 5 of the panel
    decision_target_working_days: Mapped[int]  # B2: decision within 5 working days
    busy_period_first_month: Mapped[int]  # B2: July...
    busy_period_last_month: Mapped[int]  # B2: ...to September

    def __str__(self) -> str:
        return f"Policy parameters {self.academic_year}"
