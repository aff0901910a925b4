"""Appendix C appeal and B2 decision deadlines as dated policy parameters

Existing rows take the 2024/25 figures of the policy; supervisors change them per year.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 23:18:10.284265
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.migration_guards import refuse_data_loss

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Appendix C and B2 figures of the 2024/25 policy, for rows made before these columns existed.
FIGURES = {
    'review_request_working_days': 20,
    'stage_one_decision_working_days': 20,
    'stage_two_panel_min_working_days': 20,
    'stage_two_panel_max_working_days': 40,
    'panel_outcome_working_days': 5,
    'decision_target_working_days': 5,
    'busy_period_first_month': 7,
    'busy_period_last_month': 9,
}


def upgrade() -> None:
    with op.batch_alter_table('policy_parameter_set', schema=None) as batch_op:
        for name, value in FIGURES.items():
            batch_op.add_column(
                sa.Column(name, sa.Integer(), nullable=False, server_default=str(value))
            )
    with op.batch_alter_table('policy_parameter_set', schema=None) as batch_op:
        for name in FIGURES:
            batch_op.alter_column(name, server_default=None)
        batch_op.create_check_constraint(
            'working_days',
            'review_request_working_days > 0 AND stage_one_decision_working_days > 0 '
            'AND stage_two_panel_min_working_days > 0 '
            'AND stage_two_panel_max_working_days >= stage_two_panel_min_working_days '
            'AND panel_outcome_working_days > 0 AND decision_target_working_days > 0',
        )
        batch_op.create_check_constraint(
            'busy_months',
            'busy_period_first_month BETWEEN 1 AND 12 AND busy_period_last_month BETWEEN 1 AND 12',
        )


def downgrade() -> None:
    # Issue 18: a year whose deadlines differ from the figures the upgrade fills in would lose
    # them; say so, and stop.
    differs = " OR ".join(f"{name} <> {value}" for name, value in FIGURES.items())
    refuse_data_loss(
        revision,
        "the appeal and decision deadlines (Appendix C, B2) of policy parameter sets, by year:",
        f"SELECT academic_year FROM policy_parameter_set WHERE {differs} ORDER BY academic_year",
    )
    with op.batch_alter_table('policy_parameter_set', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_policy_parameter_set_busy_months'), type_='check')
        batch_op.drop_constraint(op.f('ck_policy_parameter_set_working_days'), type_='check')
        for name in reversed(list(FIGURES)):
            batch_op.drop_column(name)
