"""row_version on every editable table; withdrawal.request_token; submitted_form (issue 18)

Revision ID: 0019
Revises: 0021
Create Date: 2026-12-02 16:00:00

The ORM's version_id_col raises the counter with every UPDATE (models/base.py, Versioned); the
edit screens compare it with the version the form was opened at. Existing rows start at 1.
withdrawal.request_token is the withdraw page's one-time token, so a double submit frees no
second seat; submitted_form holds each saved create form's one-time token, so a double
submit makes one record. Downgrading drops only counters and tokens, which hold no fact.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "academic_year",
    "appeal",
    "concessionary_application",
    "contribution_setting",
    "dta",
    "low_income_evidence",
    "parish",
    "policy_parameter_set",
    "postcode",
    "pupil",
    "refund",
    "retention_setting",
    "route",
    "school",
    "term_date_variation",
    "transport_application",
    "user_account",
    "withdrawal",
)


def upgrade() -> None:
    # Plain ALTER TABLE on both engines: a batch copy of the table on SQLite would break the
    # capacity triggers that name these tables (migrations 0008-0011).
    for table in TABLES:
        op.add_column(
            table,
            sa.Column("row_version", sa.Integer(), nullable=False, server_default=sa.text("1")),
        )
    op.add_column("withdrawal", sa.Column("request_token", sa.String(length=64), nullable=True))
    op.create_index("ix_withdrawal_request_token", "withdrawal", ["request_token"])
    op.create_table(
        "submitted_form",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_submitted_form")),
    )


def downgrade() -> None:
    op.drop_table("submitted_form")
    op.drop_index("ix_withdrawal_request_token", table_name="withdrawal")
    op.drop_column("withdrawal", "request_token")
    for table in TABLES:
        op.drop_column(table, "row_version")
