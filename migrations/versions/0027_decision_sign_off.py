"""an officer's sign-off on an eligibility decision (issue 14)

Revision ID: 0027
Revises: 0019
Create Date: 2026-12-03 06:40:00

Columns only; every existing row is kept, and needs no sign-off (NULL): DOMAIN.md "officers sign
off decisions" applies to the assistants' decisions made from now on. Plain ALTER TABLE ... ADD
COLUMN (no batch copy): SQLite's seat-capacity triggers read eligibility_decision, and a copied
table would break them mid-migration.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("awaiting", "signed_off", "sent_back")
CHECK = "sign_off IN (" + ", ".join(f"'{v}'" for v in STATES) + ")"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE eligibility_decision ADD COLUMN sign_off VARCHAR(32) "
            f"CONSTRAINT ck_eligibility_decision_sign_off CHECK ({CHECK})"
        )
        op.execute(
            "ALTER TABLE eligibility_decision ADD COLUMN sign_off_by_id INTEGER "
            "CONSTRAINT fk_eligibility_decision_sign_off_by_id_user_account "
            "REFERENCES user_account (id)"
        )
    else:
        op.add_column(
            "eligibility_decision",
            sa.Column(
                "sign_off",
                sa.Enum(*STATES, name="sign_off", native_enum=False, length=32),
                nullable=True,
            ),
        )
        op.create_check_constraint("sign_off", "eligibility_decision", CHECK)
        op.add_column("eligibility_decision", sa.Column("sign_off_by_id", sa.Integer()))
        op.create_foreign_key(
            op.f("fk_eligibility_decision_sign_off_by_id_user_account"),
            "eligibility_decision",
            "user_account",
            ["sign_off_by_id"],
            ["id"],
        )
    op.add_column(
        "eligibility_decision", sa.Column("sign_off_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("eligibility_decision", sa.Column("sign_off_note", sa.Text(), nullable=True))
    op.create_index(
        op.f("ix_eligibility_decision_sign_off"), "eligibility_decision", ["sign_off"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_eligibility_decision_sign_off"), table_name="eligibility_decision")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(
            op.f("fk_eligibility_decision_sign_off_by_id_user_account"),
            "eligibility_decision",
            type_="foreignkey",
        )
        op.drop_constraint(
            op.f("ck_eligibility_decision_sign_off"), "eligibility_decision", type_="check"
        )
    for column in ("sign_off_note", "sign_off_at", "sign_off_by_id", "sign_off"):
        op.drop_column("eligibility_decision", column)
