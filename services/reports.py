"""Reports for supervisors and the team: each one a few grouped queries, never a query per row.

Every report returns a `Report` (title, headed columns, rows, and the series worth charting) so
the panel page, the CSV and the XLSX download all show the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from models import (
    AcademicYear,
    ConcessionaryApplication,
    ConcessionarySeat,
    Contribution,
    EligibilityDecision,
    Instalment,
    Payment,
    Refund,
    Route,
    TransportApplication,
    Withdrawal,
)
from services import spreadsheets
from services.contributions import overdue_clause, paid_on_instalment
from services.seats import spare_seats_stmt

ZERO = Decimal("0.00")


@dataclass
class Report:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""
    # (label, value) pairs for a bar chart, and what the value measures.
    chart: list[tuple[str, float]] = field(default_factory=list)
    chart_label: str = ""

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=self.columns)

    def csv_bytes(self) -> bytes:
        return spreadsheets.csv_bytes(self.columns, self.rows)

    def xlsx_bytes(self) -> bytes:
        return spreadsheets.xlsx_bytes(self.columns, self.rows, self.key)


def years(session: Session) -> list[str]:
    return list(session.scalars(select(AcademicYear.label).order_by(AcademicYear.starts.desc())))


def decisions_by_basis(session: Session, year: str) -> Report:
    """Current decisions (superseded ones are history) for the year's applications."""
    ed, ta = EligibilityDecision, TransportApplication
    rows = session.execute(
        select(ed.outcome, ed.basis, func.count(ed.id))
        .join(ta, ta.id == ed.application_id)
        .where(ta.academic_year == year, ed.superseded_at.is_(None))
        .group_by(ed.outcome, ed.basis)
        .order_by(ed.outcome, ed.basis)
    ).all()
    table = [[outcome.value, basis or "", n] for outcome, basis, n in rows]
    return Report(
        key="decisions",
        title=f"Decisions by basis and outcome, {year}",
        columns=["Outcome", "Basis (clause)", "Decisions"],
        rows=table,
        chart=[(f"{o} {b}".strip(), float(n)) for o, b, n in table],
        chart_label="decisions",
    )


def seats_by_route(session: Session, year: str, on: date) -> Report:
    """Allocated and spare seats per route and session, from the seats service's one query.

    spare = seats − entitled pupils carried − concessionary seats held (A9, Appendix F); a seat
    withdrawn with notice is held until its withdrawal takes effect (services.seats).
    """
    sub = spare_seats_stmt(year, on).subquery()
    rows = session.execute(
        select(Route.code, Route.seats, Route.runs_am, Route.runs_pm, sub)
        .join(sub, sub.c.route_id == Route.id)
        .where(Route.active.is_(True))
        .order_by(Route.code)
    ).all()
    table: list[list[Any]] = []
    for r in rows:
        for key, runs in (("am", r.runs_am), ("pm", r.runs_pm)):
            if not runs:
                continue
            entitled, held = getattr(r, f"entitled_{key}"), getattr(r, f"held_{key}")
            spare = getattr(r, key)
            table.append([r.code, key.upper(), r.seats, entitled, held, entitled + held, spare])
    return Report(
        key="seats",
        title=f"Seats by route and session, {year}, on {on:%d/%m/%Y}",
        columns=[
            "Route",
            "Session",
            "Seats",
            "Entitled pupils carried",
            "Concessionary seats held",
            "Allocated",
            "Spare",
        ],
        rows=table,
        note="A negative spare figure is an overfull vehicle.",
        chart=[(f"{row[0]} {row[1]}", float(row[6])) for row in table],
        chart_label="spare seats",
    )


def contributions(session: Session, year: str, today: date) -> Report:
    """Due, paid, refunded, outstanding and overdue (B1j), by kind, in four grouped queries."""
    paid_per = (
        select(Payment.contribution_id.label("cid"), func.sum(Payment.amount).label("paid"))
        .group_by(Payment.contribution_id)
        .subquery()
    )
    refund_per = (
        select(Refund.contribution_id.label("cid"), func.sum(Refund.amount).label("refunded"))
        .group_by(Refund.contribution_id)
        .subquery()
    )
    paid = func.coalesce(paid_per.c.paid, 0)
    outstanding = case((Contribution.amount > paid, Contribution.amount - paid), else_=0)
    totals = session.execute(
        select(
            Contribution.kind,
            func.count(Contribution.id),
            func.coalesce(func.sum(Contribution.amount), 0),
            func.coalesce(func.sum(paid), 0),
            func.coalesce(func.sum(func.coalesce(refund_per.c.refunded, 0)), 0),
            func.coalesce(func.sum(outstanding), 0),
        )
        .outerjoin(paid_per, paid_per.c.cid == Contribution.id)
        .outerjoin(refund_per, refund_per.c.cid == Contribution.id)
        .where(Contribution.academic_year == year)
        .group_by(Contribution.kind)
        .order_by(Contribution.kind)
    ).all()
    overdue = {
        kind: (n, Decimal(amount))
        for kind, n, amount in session.execute(
            select(
                Contribution.kind,
                func.count(Instalment.id),
                func.coalesce(func.sum(Instalment.amount - paid_on_instalment()), 0),
            )
            .join(Contribution, Contribution.id == Instalment.contribution_id)
            .where(Contribution.academic_year == year, overdue_clause(today))
            .group_by(Contribution.kind)
        )
    }
    table: list[list[Any]] = []
    for kind, n, due, paid_sum, refunded, owed in totals:
        late_n, late = overdue.get(kind, (0, ZERO))
        table.append(
            [
                kind.value,
                n,
                _money(due),
                _money(paid_sum),
                _money(refunded),
                _money(owed),
                late_n,
                _money(late),
            ]
        )
    return Report(
        key="contributions",
        title=f"Contributions due, paid and overdue, {year}, on {today:%d/%m/%Y}",
        columns=[
            "Kind",
            "Contributions",
            "Due (£)",
            "Paid (£)",
            "Refunded (£)",
            "Outstanding (£)",
            "Overdue instalments",
            "Overdue (£)",
        ],
        rows=table,
        chart=[
            (f"{row[0]} {label}", float(row[i]))
            for row in table
            for label, i in (("due", 2), ("paid", 3), ("overdue", 7))
        ],
        chart_label="£",
    )


def withdrawals(session: Session, year: str) -> Report:
    """Withdrawals of seats (Appendix F) and eligibilities (A15, A12a) for the year."""
    ca = aliased(ConcessionaryApplication)
    ta = aliased(TransportApplication)
    year_of = func.coalesce(ca.academic_year, ta.academic_year)
    rows = session.execute(
        select(
            Withdrawal.kind,
            Withdrawal.clause,
            func.count(Withdrawal.id),
            func.coalesce(func.sum(Withdrawal.refund_amount), 0),
            func.sum(case((Withdrawal.family_told_of_appeal.is_(True), 1), else_=0)),
        )
        .outerjoin(ConcessionarySeat, ConcessionarySeat.id == Withdrawal.concessionary_seat_id)
        .outerjoin(ca, ca.id == ConcessionarySeat.application_id)
        .outerjoin(EligibilityDecision, EligibilityDecision.id == Withdrawal.decision_id)
        .outerjoin(ta, and_(ta.id == EligibilityDecision.application_id))
        .where(year_of == year)
        .group_by(Withdrawal.kind, Withdrawal.clause)
        .order_by(Withdrawal.kind, Withdrawal.clause)
    ).all()
    table = [
        [kind.value, clause, n, _money(refund), int(told or 0)]
        for kind, clause, n, refund, told in rows
    ]
    return Report(
        key="withdrawals",
        title=f"Withdrawals, {year}",
        columns=["Kind", "Clause", "Withdrawals", "Refunds (£)", "Family told of appeal"],
        rows=table,
        chart=[(f"{row[0]} {row[1]}", float(row[2])) for row in table],
        chart_label="withdrawals",
    )


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


REPORTS = {
    "decisions": "Decisions by basis and outcome",
    "seats": "Spare and allocated seats by route and session",
    "contributions": "Contributions due, paid and overdue",
    "withdrawals": "Withdrawals",
}


def build(session: Session, key: str, year: str, today: date) -> Report:
    if key == "decisions":
        return decisions_by_basis(session, year)
    if key == "seats":
        return seats_by_route(session, year, today)
    if key == "contributions":
        return contributions(session, year, today)
    if key == "withdrawals":
        return withdrawals(session, year)
    raise KeyError(key)
