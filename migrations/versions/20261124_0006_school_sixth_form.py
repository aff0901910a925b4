"""schools record whether they have a sixth form (A7b)

A7b: a post-16 student must be "attending their nearest or designated school with a sixth form
provision, or their nearest or designated college", so the nearest suitable school for a
post-16 student has to know which schools have one. The values are GIAS's OfficialSixthForm.

Existing rows are filled in from phase and statutory age range, the facts the ranking used
until now, so no school's standing changes until the next GIAS import brings the official
value: primary and nursery schools and colleges "not applicable" (a college is post-16
provision by its phase); other schools teaching past 16 "has a sixth form", to 16 or younger
"does not have a sixth form"; no high age "not recorded".

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 00:30:17.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.migration_guards import refuse_data_loss

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VALUES = ('has_sixth_form', 'no_sixth_form', 'not_applicable', 'not_recorded')
# What the upgrade fills in from phase and ages; a school holding anything else (GIAS's
# official value, a correction) would lose it on downgrade.
DERIVED = (
    "CASE "
    "WHEN phase IN ('nursery', 'primary', 'sixth_form', 'fe_college') THEN 'not_applicable' "
    "WHEN statutory_high_age IS NULL THEN 'not_recorded' "
    "WHEN statutory_high_age > 16 THEN 'has_sixth_form' "
    "ELSE 'no_sixth_form' END"
)


def upgrade() -> None:
    with op.batch_alter_table('school', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'sixth_form',
                sa.Enum(*VALUES, name='sixth_form', native_enum=False, length=32),
                nullable=False,
                server_default='not_recorded',
            )
        )
    op.execute(f"UPDATE school SET sixth_form = {DERIVED}")
    with op.batch_alter_table('school', schema=None) as batch_op:
        batch_op.alter_column('sixth_form', server_default=None)
        batch_op.create_check_constraint(
            'sixth_form', 'sixth_form IN (' + ', '.join(f"'{v}'" for v in VALUES) + ')'
        )


def downgrade() -> None:
    # Issue 18: say so, and stop, rather than drop values the upgrade cannot rebuild.
    refuse_data_loss(
        revision,
        "the sixth-form value (A7b) of schools, by URN:",
        f"SELECT urn FROM school WHERE sixth_form <> {DERIVED} ORDER BY urn",
    )
    with op.batch_alter_table('school', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_school_sixth_form'), type_='check')
        batch_op.drop_column('sixth_form')
