"""post-16 contributions, cancelled instalments, the B2 target, the stage-two panel date

Revision ID: 0025
Revises: 0023
Create Date: 2026-12-02 15:50:04

Columns only; every existing row is kept. An instalment can be cancelled (RULES.md v2: unpaid
instalments are cancelled when a seat or eligibility is withdrawn, or the decision that raised
them is superseded); an application records the family's B1j plan for a post-16 contribution
(existing rows: in full) and its B2 decision target, filled here for existing rows with the
year's stored figure (else the policy's 5 working days, England's bank holidays skipped,
July-September flagged as the busy period); an appeal records the stage-two panel date and its
5-working-day outcome deadline (Appendix C).
"""

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op


revision: str = "0025"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLANS = ("full", "3", "6")


def _b2_targets() -> None:
    """B2a for the applications already stored (frozen here, not imported from the rules)."""
    import holidays

    bind = op.get_bind()
    figures = {
        year: (days, first, last)
        for year, days, first, last in bind.execute(
            sa.text(
                "SELECT academic_year, decision_target_working_days, busy_period_first_month, "
                "busy_period_last_month FROM policy_parameter_set"
            )
        )
    }
    rows = list(
        bind.execute(sa.text("SELECT id, academic_year, received_on FROM transport_application"))
    )
    if not rows:
        return
    closed: dict[int, set[date]] = {}

    def working(day: date) -> bool:
        if day.year not in closed:
            closed[day.year] = set(holidays.country_holidays("GB", subdiv="ENG", years=day.year))
        return day.weekday() < 5 and day not in closed[day.year]

    updates = []
    for row_id, year, received in rows:
        if isinstance(received, str):
            received = date.fromisoformat(received)
        days, first, last = figures.get(year, (5, 7, 9))
        due = received
        for _ in range(days):
            due += timedelta(days=1)
            while not working(due):
                due += timedelta(days=1)
        updates.append({"i": row_id, "due": due, "busy": first <= received.month <= last})
    bind.execute(
        sa.text(
            "UPDATE transport_application SET decision_target_on = :due, "
            "decision_target_busy = :busy WHERE id = :i"
        ),
        updates,
    )


def upgrade() -> None:
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("panel_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("panel_outcome_due", sa.Date(), nullable=True))
        batch_op.create_check_constraint(
            "panel_on", "panel_on IS NULL OR (stage = 'stage_two' AND panel_on >= received_on)"
        )

    # Plain ALTER TABLE ... ADD COLUMN (no batch copy): SQLite's seat-capacity triggers name
    # transport_application, and a copied table would break them mid-migration.
    op.add_column("instalment", sa.Column("cancelled_on", sa.Date(), nullable=True))
    op.add_column("instalment", sa.Column("cancel_reason", sa.String(length=200), nullable=True))
    op.add_column("transport_application", sa.Column("decision_target_on", sa.Date()))
    op.add_column(
        "transport_application",
        sa.Column("decision_target_busy", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    check = "payment_plan IN (" + ", ".join(f"'{v}'" for v in PLANS) + ")"
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE transport_application ADD COLUMN payment_plan VARCHAR(32) "
            f"DEFAULT 'full' NOT NULL CONSTRAINT ck_transport_application_payment_plan "
            f"CHECK ({check})"
        )
    else:
        op.add_column(
            "transport_application",
            sa.Column(
                "payment_plan",
                sa.Enum(*PLANS, name="payment_plan", native_enum=False, length=32),
                server_default="full",
                nullable=False,
            ),
        )
        op.create_check_constraint("payment_plan", "transport_application", check)
    op.create_index(
        op.f("ix_transport_application_decision_target_on"),
        "transport_application",
        ["decision_target_on"],
        unique=False,
    )
    _b2_targets()


def downgrade() -> None:
    op.drop_index(
        op.f("ix_transport_application_decision_target_on"), table_name="transport_application"
    )
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(
            op.f("ck_transport_application_payment_plan"), "transport_application", type_="check"
        )
    for column in ("payment_plan", "decision_target_busy", "decision_target_on"):
        op.drop_column("transport_application", column)
    op.drop_column("instalment", "cancel_reason")
    op.drop_column("instalment", "cancelled_on")

    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_appeal_panel_on"), type_="check")
        batch_op.drop_column("panel_outcome_due")
        batch_op.drop_column("panel_on")
