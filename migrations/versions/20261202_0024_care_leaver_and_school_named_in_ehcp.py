"""care leaver and school named in the EHCP (rules contract v2: A21, A2a)

Revision ID: 0024
Revises: 0015b
Create Date: 2026-12-02 16:20:00

Two new facts the rules take: `pupil.care_leaver` (A21 "Post 16 students, in or leaving care,
will not be subject to a charge") and `transport_application.school_named_in_ehcp` (A2a: an
independent school named in the child's EHCP is not fee-paying for the family). Both are false
for every existing row, which is what the rules assumed before; downgrading drops them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0015b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild: the seat-capacity triggers name these tables).
    op.add_column(
        "pupil",
        sa.Column("care_leaver", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "transport_application",
        sa.Column(
            "school_named_in_ehcp", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )


def downgrade() -> None:
    # SQLite 3.35+ and PostgreSQL drop a column in place, keeping every row.
    op.drop_column("transport_application", "school_named_in_ehcp")
    op.drop_column("pupil", "care_leaver")
