"""user_account.session_generation: sign-out, a new password and deactivation end sessions

Revision ID: 0017
Revises: 0011
Create Date: 2026-12-02 07:30:00

The id Flask-Login keeps in the signed session cookie becomes "<user id>:<generation>"; the
loader refuses a cookie whose generation is not the account's current one, so raising it ends
every copy of every session of that account (issue 16). Existing rows start at 0; existing
cookies (which carry the bare id) are refused once, and their users sign in again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(
            sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("session_generation")
