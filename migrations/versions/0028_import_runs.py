"""import runs: a record of each import, so refused files show on the home page (issue 14)

Revision ID: 0028
Revises: 0019
Create Date: 2026-12-03 06:30:00

A new table only; existing rows are untouched, and downgrading drops just the run records.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("committed", sa.Boolean(), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_import_run_user_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_run")),
    )
    with op.batch_alter_table("import_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_run_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_run_ran_at"), ["ran_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("import_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_run_ran_at"))
        batch_op.drop_index(batch_op.f("ix_import_run_kind"))
    op.drop_table("import_run")
