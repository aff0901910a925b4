"""Home is the day's work (issue 14): per-role counts that agree with the lists they link to,
the B2 target worked out from the dated parameters, and a fixed number of queries however many
rows there are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

import rules
from models import (
    Appeal,
    CaseAssignment,
    EligibilityDecision,
    TransportApplication,
    User,
    db,
)
from models.enums import AppealStage, ApplicationStatus, Outcome
from services import queues, years
from services.policy import parameters_for_year
from tests.conftest import PASSWORD, fresh_database, make_app, sign_in

TILE = re.compile(r'data-key="(\w+)">\s*(?:<a href="([^"]+)">)?<span class="home-count">([\d,]+)')


@pytest.fixture(scope="module")
def county(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    from demo.county import build_county

    url = fresh_database(request, "home_page", Path(tmp_path_factory.mktemp("home_page")))
    flask_app = make_app(url)
    with flask_app.app_context():
        build_county(seed=5, size="small", password=PASSWORD)
        db.session.commit()
    yield flask_app
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


def _client(flask_app: Flask, role: str) -> FlaskClient:
    client = flask_app.test_client()
    sign_in(client, role)
    return client


def _tiles(client: FlaskClient) -> dict[str, tuple[int, str | None]]:
    response = client.get("/admin/")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    return {
        key: (int(n.replace(",", "")), href.replace("&amp;", "&") if href else None)
        for key, href, n in TILE.findall(body)
    }


def _statements(flask_app: Flask, client: FlaskClient, url: str) -> int:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with flask_app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def _rows(client: FlaskClient, url: str) -> int:
    """Rows of a list, page by page (100 a page)."""
    joiner = "&" if "?" in url else "?"
    total = 0
    for page in range(50):
        body = client.get(f"{url}{joiner}page_size=100&page={page}").get_data(as_text=True)
        # Rows of the table's body, whether or not the list has bulk actions (a row checkbox);
        # an empty list's one row is its message.
        rows = body.split("</thead>", 1)[-1].split("</table>", 1)[0] if "</thead>" in body else ""
        shown = len(re.findall(r"<tr[\s>]", rows)) - rows.count('colspan="999"')
        total += shown
        if shown < 100:
            return total
    raise AssertionError(f"{url}: more than 5,000 rows")


def test_b2_counts_follow_the_dated_target_of_each_receipt(county: Flask) -> None:
    """B2a: 5 working days from receipt, dis-applied July-September: each awaiting application
    classified by rules.decision_target with its own year's figures gives the home counts."""
    today = years.today()
    with county.app_context():
        expected = {"b2_past": 0, "b2_busy": 0, "b2_within": 0}
        received = db.session.execute(
            select(TransportApplication.received_on, TransportApplication.academic_year).where(
                TransportApplication.status == ApplicationStatus.RECEIVED
            )
        ).all()
        for day, label in received:
            target = rules.decision_target(day, parameters_for_year(label))
            if target.due >= today:
                expected["b2_within"] += 1
            else:
                expected["b2_busy" if target.busy_period else "b2_past"] += 1
        counts = queues.application_counts(db.session, today, None)
    assert sum(expected.values()) == len(received) > 0
    assert {k: counts[k] for k in expected} == expected


def test_every_count_opens_the_list_behind_it(county: Flask) -> None:
    client = _client(county, "supervisor")
    tiles = _tiles(client)
    assert tiles["b2_past"][0] > 0, "the demo county has applications past the B2 target"
    for key, (count, href) in tiles.items():
        if href is None:
            continue
        assert client.get(href).status_code == 200, (key, href)
        if "/queue/" in href or href.endswith("/owed/"):  # a queue page, or counts by kind
            queue = client.get(href).get_data(as_text=True)
            assert f'<small class="text-muted">({count})</small>' in queue, key
            continue
        assert _rows(client, href) == count, f"{key}: {count} on home, list shows otherwise"


def test_each_role_sees_its_own_work(county: Flask) -> None:
    assistant = _tiles(_client(county, "assistant"))
    officer = _tiles(_client(county, "officer"))
    assert "to_measure" in assistant and "b2_past" in assistant
    assert "routes_over" not in assistant and "appeal_stage_one_overdue" not in assistant
    assert "to_refer" in officer and "appeal_stage_one_overdue" in officer
    supervisor_page = _client(county, "supervisor").get("/admin/").get_data(as_text=True)
    assert 'role="img"' in supervisor_page and "Decisions per week against the B2 target" in (
        supervisor_page
    )
    assert "Decisions per week" not in _client(county, "officer").get("/admin/").get_data(
        as_text=True
    )
    assert "New here? Try these first" in supervisor_page


def test_mine_counts_the_cases_assigned_to_me(county: Flask) -> None:
    with county.app_context():
        officer = db.session.scalar(select(User.id).where(User.username == "officer"))
        ids = db.session.scalars(
            select(TransportApplication.id)
            .where(TransportApplication.status != ApplicationStatus.WITHDRAWN)
            .order_by(TransportApplication.id)
            .limit(3)
        ).all()
        db.session.add_all(CaseAssignment(application_id=i, user_id=officer) for i in ids)
        db.session.commit()
    try:
        client = _client(county, "officer")
        count, href = _tiles(client)["mine"]
        assert count == 3 and href is not None
        assert _rows(client, href) == 3
        assert _tiles(_client(county, "supervisor"))["mine"][0] == 0
    finally:
        with county.app_context():
            for row in db.session.scalars(select(CaseAssignment)):
                db.session.delete(row)
            db.session.commit()


def test_an_overdue_stage_one_appeal_is_counted_and_listed(county: Flask) -> None:
    today = years.today()
    with county.app_context():
        application = db.session.scalar(select(TransportApplication).limit(1))
        assert application is not None
        decision = EligibilityDecision(
            application_id=application.id, outcome=Outcome.NOT_ELIGIBLE, basis="A3",
            clauses=["A3"], reasons=["Within the walking distance (A3)."], facts={},
            facts_hash="1" * 64, parameters_year=application.academic_year,
            decided_at=datetime.now(UTC) - timedelta(days=60),
            superseded_at=datetime.now(UTC),
        )  # fmt: skip
        db.session.add(decision)
        db.session.flush()
        appeal = Appeal(
            decision_id=decision.id,
            stage=AppealStage.REVIEW,
            received_on=today - timedelta(days=40),
            request_deadline=today - timedelta(days=20),
            decision_due=today - timedelta(days=2),
            grounds="The walking route is unsafe (Appendix D).",
        )
        db.session.add(appeal)
        db.session.commit()
        appeal_id = appeal.id
    try:
        client = _client(county, "officer")
        count, href = _tiles(client)["appeal_stage_one_overdue"]
        assert count >= 1 and href is not None
        assert _rows(client, href) == count
    finally:
        with county.app_context():
            appeal_row = db.session.get(Appeal, appeal_id)
            decision_row = appeal_row.decision
            db.session.delete(appeal_row)
            db.session.flush()
            db.session.delete(decision_row)
            db.session.commit()


def test_home_runs_a_fixed_number_of_queries(county: Flask) -> None:
    """More applications, decisions and appeals: not one statement more."""
    client = _client(county, "supervisor")
    before = _statements(county, client, "/admin/")
    today = years.today()
    with county.app_context():
        template = db.session.scalar(select(TransportApplication).limit(1))
        assert template is not None
        added = []
        for n in range(60):
            application = TransportApplication(
                reference=f"TRA-HOME-{n}",
                pupil_id=template.pupil_id,
                academic_year=template.academic_year,
                school_id=template.school_id,
                received_on=today - timedelta(days=n % 20),
            )
            db.session.add(application)
            added.append(application)
        db.session.flush()
        for application in added[:30]:
            db.session.add(
                EligibilityDecision(
                    application_id=application.id,
                    outcome=Outcome.ELIGIBLE,
                    basis="A3",
                    clauses=["A3"],
                    reasons=["Beyond the walking distance (A3)."],
                    facts={},
                    facts_hash=f"{application.id:064d}",
                    parameters_year=application.academic_year,
                    decided_at=datetime.now(UTC) - timedelta(days=application.id % 30),
                )  # fmt: skip
            )
        db.session.commit()
        ids = [a.id for a in added]
    try:
        after = _statements(county, client, "/admin/")
        assert after == before, f"{before} statements before, {after} with 60 more applications"
    finally:
        with county.app_context():
            for d in db.session.scalars(
                select(EligibilityDecision).where(EligibilityDecision.application_id.in_(ids))
            ):
                db.session.delete(d)
            for a in db.session.scalars(
                select(TransportApplication).where(TransportApplication.id.in_(ids))
            ):
                db.session.delete(a)
            db.session.commit()


def test_waiting_with_a_free_seat_is_counted_and_listed(county: Flask) -> None:
    """Appendix F: a child on a waiting list while their route has a seat free in their
    sessions is counted, and the linked list shows exactly those."""
    from models import ConcessionaryApplication, Pupil, Route
    from models.enums import ConcessionaryStatus, Sessions
    from services.seats import usage_stmt

    today = years.today()
    with county.app_context():
        in_force = years.years_in_force(db.session, today)
        assert in_force, "the demo county has a year in force"
        usage = usage_stmt(in_force, today)
        route_id, year = db.session.execute(
            select(usage.c.route_id, usage.c.academic_year)
            .where(usage.c.am > 0, usage.c.pm > 0)
            .limit(1)
        ).one()
        route = db.session.get(Route, route_id)
        school_id = route.schools[0].school_id
        ca = ConcessionaryApplication
        pupil_id = db.session.scalar(
            select(Pupil.id)
            .where(
                ~select(ca.id)
                .where(ca.pupil_id == Pupil.id, ca.academic_year == year, ca.route_id == route_id)
                .exists()
            )
            .limit(1)
        )
        waiting = ConcessionaryApplication(
            reference="CSA-HOME-WAIT", pupil_id=pupil_id, academic_year=year,
            school_id=school_id, route_id=route_id, sessions=Sessions.BOTH,
            received_on=today, status=ConcessionaryStatus.WAITING, waitlist_position=99,
        )  # fmt: skip
        db.session.add(waiting)
        db.session.commit()
        waiting_id = waiting.id
    try:
        client = _client(county, "assistant")
        count, href = _tiles(client)["waiting_with_seats"]
        assert count >= 1 and href is not None
        listed = client.get(f"{href}&page_size=100").get_data(as_text=True)
        assert "CSA-HOME-WAIT" in listed
        assert listed.count('name="rowid"') == count
    finally:
        with county.app_context():
            db.session.delete(db.session.get(ConcessionaryApplication, waiting_id))
            db.session.commit()


def test_the_b2_words_quote_the_years_figures(county: Flask) -> None:
    """A supervisor's change to B2a's figure is what the home page says (never a fixed text)."""
    from models import PolicyParameterSet
    from services.policy import ensure_parameter_set

    with county.app_context():
        label = queues.quoted_year(queues.figures_by_year(db.session), years.today())
        row = ensure_parameter_set(label)
        before = row.decision_target_working_days
        row.decision_target_working_days = 7
        db.session.commit()
    try:
        page = _client(county, "officer").get("/admin/").get_data(as_text=True)
        assert "still within 7 working days of receipt" in page
        assert "within 5 working days" not in page
    finally:
        with county.app_context():
            row = db.session.scalar(
                select(PolicyParameterSet).where(PolicyParameterSet.academic_year == label)
            )
            row.decision_target_working_days = before
            db.session.commit()


def test_letters_owed_are_counted_by_the_letters_own_definition_and_listed_by_kind(
    app: Flask, client_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14, B1i: "letters owed" on home is services.letters.owed's count, and its page
    lists them by kind; once the letters are made, none is owed."""
    from datetime import date

    from services.letters.kinds import kinds_of
    from services.letters.owed import letters_owed, make_letters
    from tests import factories as f

    monkeypatch.setattr(years, "today", lambda: date(2024, 10, 1))
    with app.app_context():
        f.academic_year()
        school = f.school()
        for outcome in (Outcome.ELIGIBLE, Outcome.ELIGIBLE, Outcome.NOT_ELIGIBLE):
            f.decision(f.transport_application(f.pupil(), school), outcome=outcome)
        db.session.commit()
        owed, _ = letters_owed(db.session, "2024/25", kinds_of(None), date(2024, 10, 1))
    assert len(owed) == 3
    client = client_as("assistant")
    [(count, href)] = [v for k, v in _tiles(client).items() if k == "letters_owed"]
    assert (count, href) == (3, "/admin/communication/owed/")
    page = client.get(href).get_data(as_text=True)
    assert '<small class="text-muted">(3)</small>' in page
    assert re.search(r"<td>2024/25</td><td>[^<]+</td><td>2</td>", page)

    with app.app_context():
        make_letters(db.session, "2024/25", kinds_of(None), on=date(2024, 10, 1))
    assert _tiles(client)["letters_owed"][0] == 0


def test_supervisors_chart_of_seats_used_leads_with_routes_over_capacity(
    app: Flask, client_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: seats used per route, drawn on the server with a table of the same figures;
    the fullest routes first, so one over capacity (A1, Appendix F) is never off the chart."""
    from datetime import date

    from models.enums import Sessions
    from tests import factories as f
    from tests.test_seats import entitled

    monkeypatch.setattr(years, "today", lambda: date(2024, 10, 1))
    with app.app_context():
        f.academic_year()
        school = f.school()
        quiet = f.route([school], seats=10, code="QUIET1")
        over = f.route([school], seats=2, code="OVER01")
        entitled(quiet, Sessions.AM)
        for _ in range(3):
            entitled(over)
        for n in range(queues.CHART_ROUTES + 3):
            f.route([school], seats=50, code=f"EMPTY{n:02d}")
        db.session.commit()

    page = client_as("supervisor").get("/admin/").get_data(as_text=True)

    assert 'aria-labelledby="seats-chart-title"' in page
    table = page.split('class="table table-sm table-bordered mt-2 seats-table"', 1)[1]
    rows = re.findall(r'<th scope="row"><a href="[^"]+">(\w+)</a></th>\s*' + r"<td>(\d+)</td>" * 3
                      + r"\s*<td>(Yes|No)</td>", table.split("</table>", 1)[0])  # fmt: skip
    assert rows[:2] == [("OVER01", "2", "3", "3", "Yes"), ("QUIET1", "10", "1", "0", "No")]
    assert len(rows) == queues.CHART_ROUTES  # the fullest only, so it stays readable
    assert 'fill="#a4262c"><title>OVER01 AM: 3 of 2 seats</title>' in page
    assert "seats-chart-title" not in client_as("officer").get("/admin/").get_data(as_text=True)


def test_home_new_counts_and_seats_chart_run_the_same_queries_at_two_sizes(
    app: Flask, client_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: letters owed, imports with problems and the seats chart add statements of
    their own, but the same number of them for 2 routes, runs and letters as for 20."""
    from datetime import date

    from services import import_runs
    from tests import factories as f
    from tests.test_seats import entitled

    monkeypatch.setattr(years, "today", lambda: date(2024, 10, 1))
    with app.app_context():
        f.academic_year()
        f.academic_year("2025/26", with_calendar=False)
        db.session.commit()

    def grow(n: int) -> None:
        with app.app_context():
            school = f.school()
            for k in range(n):
                route = f.route([school], seats=2 + k % 3)
                for _ in range(k % 4 + 1):
                    entitled(route)
                f.concessionary_application(f.pupil(), school, route)
                import_runs.record(
                    db.session, kind=f"kind {k}", filename="x.csv", via="check", rows_read=1,
                    error_count=1, committed=False, user_id=None, username="assistant",
                )  # fmt: skip
            db.session.commit()

    client = client_as("supervisor")
    grow(2)
    before = _statements(app, client, "/admin/")
    grow(18)
    after = _statements(app, client, "/admin/")
    assert after == before, f"{before} statements at the smaller size, {after} at the larger"
    tiles = _tiles(client)
    assert tiles["imports_problems"][0] == 20 and tiles["letters_owed"][0] > 20
