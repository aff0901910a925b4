"""indexes for the default sorts of the big lists

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 23:33:55.580686
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('concessionary_application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_concessionary_application_received_on'), ['received_on'], unique=False)

    with op.batch_alter_table('eligibility_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eligibility_decision_decided_at'), ['decided_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('eligibility_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eligibility_decision_decided_at'))

    with op.batch_alter_table('concessionary_application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_concessionary_application_received_on'))

