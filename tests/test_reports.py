"""Reports on a small known dataset: the numbers, and the CSV/XLSX downloads parse back."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
import pytest

from models import (
    ConcessionarySeat,
    Contribution,
    EligibilityDecision,
    Instalment,
    Payment,
    Refund,
    Withdrawal,
    db,
)
from models.enums import (
    ConcessionaryStatus,
    ContributionKind,
    Outcome,
    PaymentPlan,
    SeatStatus,
    Sessions,
    WithdrawalKind,
)
from services import reports
from tests import factories

YEAR = "2024/25"
ON = date(2025, 2, 1)
WHEN = datetime(2024, 7, 1, 9, 0, tzinfo=UTC)


def decide(app, outcome: Outcome, basis: str | None, superseded: bool = False):  # type: ignore[no-untyped-def]
    d = EligibilityDecision(
        application=app,
        outcome=outcome,
        basis=basis,
        clauses=[basis] if basis else [],
        reasons=["test"],
        facts={},
        facts_hash="0" * 64,
        parameters_year=app.academic_year,
        decided_at=WHEN,
        superseded_at=WHEN if superseded else None,
    )
    db.session.add(d)
    db.session.flush()
    return d


@pytest.fixture
def dataset(app_ctx):  # type: ignore[no-untyped-def]
    factories.academic_year(YEAR, with_calendar=False)
    factories.academic_year("2025/26", with_calendar=False)
    school = factories.school()
    r1 = factories.route([school], code="R1", seats=10)
    r2 = factories.route([school], code="R2", seats=5, runs_pm=False)
    pupils = [factories.pupil() for _ in range(6)]
    a1 = factories.transport_application(pupils[0], school, route=r1, route_sessions=Sessions.BOTH)
    a2 = factories.transport_application(pupils[1], school, route=r1, route_sessions=Sessions.AM)
    a3 = factories.transport_application(pupils[2], school, route=r1, route_sessions=Sessions.PM)
    a4 = factories.transport_application(pupils[3], school, route=r1, route_sessions=Sessions.BOTH)
    later = factories.transport_application(pupils[4], school, academic_year="2025/26")
    decide(a1, Outcome.ELIGIBLE, "A3")
    decide(a2, Outcome.ELIGIBLE, "A3")
    decide(a3, Outcome.ELIGIBLE, "A5")
    decide(a4, Outcome.ELIGIBLE, "A3", superseded=True)  # history: not counted
    decide(a4, Outcome.NOT_ELIGIBLE, "A3")  # current: not carried
    decide(later, Outcome.ELIGIBLE, "A3")  # another year
    ended = decide(factories.transport_application(pupils[5], school), Outcome.ELIGIBLE, "A12")

    ca1 = factories.concessionary_application(
        pupils[4], school, r1, status=ConcessionaryStatus.ALLOCATED
    )
    ca2 = factories.concessionary_application(
        pupils[5], school, r2, sessions=Sessions.AM, status=ConcessionaryStatus.WITHDRAWN
    )
    seat1 = ConcessionarySeat(
        application=ca1,
        route=r1,
        sessions=Sessions.BOTH,
        start_date=date(2024, 9, 4),
        end_date=date(2025, 7, 22),
    )
    seat2 = ConcessionarySeat(
        application=ca2,
        route=r2,
        sessions=Sessions.AM,
        start_date=date(2024, 9, 4),
        end_date=date(2025, 1, 10),
        status=SeatStatus.WITHDRAWN,
    )
    db.session.add_all([seat1, seat2])
    db.session.flush()

    conc = Contribution(
        kind=ContributionKind.CONCESSIONARY,
        pupil=pupils[4],
        academic_year=YEAR,
        concessionary_seat=seat1,
        annual_amount=Decimal("456.00"),
        amount=Decimal("456.00"),
        start_date=date(2024, 9, 4),
        plan=PaymentPlan.THREE,
    )
    conc.instalments = [
        Instalment(number=1, due_on=date(2024, 9, 1), amount=Decimal("152.00")),
        Instalment(number=2, due_on=date(2025, 1, 1), amount=Decimal("152.00")),
        Instalment(number=3, due_on=date(2025, 4, 1), amount=Decimal("152.00")),
    ]
    post16 = Contribution(
        kind=ContributionKind.POST16,
        pupil=pupils[1],
        academic_year=YEAR,
        transport_application=a2,
        annual_amount=Decimal("456.00"),
        amount=Decimal("456.00"),
        start_date=date(2024, 9, 4),
        plan=PaymentPlan.FULL,
    )
    post16.instalments = [Instalment(number=1, due_on=date(2024, 9, 1), amount=Decimal("456.00"))]
    db.session.add_all([conc, post16])
    db.session.flush()
    db.session.add_all(
        [
            Payment(
                contribution=conc,
                instalment=conc.instalments[0],
                received_on=date(2024, 8, 20),
                amount=Decimal("152.00"),
                method="card",
            ),
            Payment(
                contribution=post16,
                instalment=post16.instalments[0],
                received_on=date(2024, 8, 21),
                amount=Decimal("456.00"),
                method="card",
            ),
            Refund(contribution=conc, amount=Decimal("50.00"), reason="test", due_on=ON),
        ]
    )
    db.session.add_all(
        [
            Withdrawal(
                kind=WithdrawalKind.CONCESSIONARY_SEAT,
                concessionary_seat=seat2,
                clause="Appendix F",
                reason="needed for an entitled child",
                notice_on=date(2025, 1, 3),
                effective_on=date(2025, 1, 10),
                refund_amount=Decimal("20.00"),
                family_told_of_appeal=True,
            ),
            Withdrawal(
                kind=WithdrawalKind.ELIGIBILITY,
                decision=ended,
                clause="A12a",
                reason="route reassessed",
                notice_on=date(2025, 1, 3),
                effective_on=date(2025, 2, 3),
            ),
        ]
    )
    db.session.commit()


def test_decisions_by_basis_count_current_decisions_of_the_year_only(dataset) -> None:
    report = reports.decisions_by_basis(db.session, YEAR)
    assert sorted(map(tuple, report.rows)) == [
        ("eligible", "A12", 1),
        ("eligible", "A3", 2),
        ("eligible", "A5", 1),
        ("not_eligible", "A3", 1),
    ]


def test_seats_spare_is_seats_less_entitled_carried_less_concessionary_held(dataset) -> None:
    """A9, Appendix F: spare = seats − entitled pupils carried − concessionary seats held."""
    report = reports.seats_by_route(db.session, YEAR, ON)
    got = {(r[0], r[1]): r[2:] for r in report.rows}
    # seats, entitled carried, concessionary held, allocated, spare
    assert got[("R1", "AM")] == [10, 2, 1, 3, 7]
    assert got[("R1", "PM")] == [10, 2, 1, 3, 7]
    assert got[("R2", "AM")] == [5, 0, 0, 0, 5]  # the withdrawn seat freed on 10 Jan
    assert ("R2", "PM") not in got  # R2 runs no afternoon session


def test_contributions_due_paid_refunded_overdue(dataset) -> None:
    report = reports.contributions(db.session, YEAR, ON)
    got = {r[0]: r[1:] for r in report.rows}
    money = Decimal
    assert got["concessionary"] == [
        1,
        money("456.00"),
        money("152.00"),
        money("50.00"),
        money("304.00"),
        1,
        money("152.00"),
    ]
    assert got["post16"] == [
        1,
        money("456.00"),
        money("456.00"),
        money("0.00"),
        money("0.00"),
        0,
        money("0.00"),
    ]


def test_withdrawals_by_kind_and_clause(dataset) -> None:
    report = reports.withdrawals(db.session, YEAR)
    assert sorted(map(tuple, report.rows)) == [
        ("concessionary_seat", "Appendix F", 1, Decimal("20.00"), 1),
        ("eligibility", "A12a", 1, Decimal("0.00"), 0),
    ]
    assert reports.withdrawals(db.session, "2025/26").rows == []


def test_report_pages_show_tables_and_svg_charts(dataset, client_as) -> None:
    client = client_as("assistant")
    page = client.get(f"/admin/reports/seats/?year={YEAR}&on={ON.isoformat()}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert (
        "<svg" in html
        and "R1 AM" in html
        and "<script" not in html.split("<svg")[1].split("</svg>")[0]
    )
    for key in reports.REPORTS:
        assert client.get(f"/admin/reports/{key}/?year={YEAR}").status_code == 200
    assert client.get("/admin/reports/nonsense/").status_code == 404


def test_csv_and_xlsx_downloads_parse_back_to_the_same_numbers(dataset, client_as) -> None:
    client = client_as("officer")
    url = f"/admin/reports/contributions/?year={YEAR}&on={ON.isoformat()}"
    csv = client.get(url + "&format=csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    frame = pd.read_csv(io.BytesIO(csv.data), encoding="utf-8-sig")
    row = frame.set_index("Kind").loc["concessionary"]
    assert row["Overdue (£)"] == 152.0 and row["Outstanding (£)"] == 304.0
    xlsx = client.get(url + "&format=xlsx")
    assert xlsx.status_code == 200
    sheet = pd.read_excel(io.BytesIO(xlsx.data), engine="openpyxl").set_index("Kind")
    assert sheet.loc["post16", "Paid (£)"] == 456.0
    assert sheet.loc["concessionary", "Overdue instalments"] == 1
    seats = client.get(f"/admin/reports/seats/?year={YEAR}&on={ON.isoformat()}&format=xlsx")
    got = pd.read_excel(io.BytesIO(seats.data), engine="openpyxl")
    assert got[(got.Route == "R1") & (got.Session == "AM")]["Spare"].item() == 7
