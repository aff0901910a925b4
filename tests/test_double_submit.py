"""The withdraw page sent twice frees one set of seats, never two (issue 18, Appendix F).

Before issue 18 two identical withdrawal requests for one seat freed two seats: the request
says "1 morning seat needed", and the second found the next-lowest holder still holding one.
Now the page carries a one-time token and a digest of the seats it showed; under the route's
lock the service refuses a token already used and a page older than the route's seats. Both
checks run inside the transaction, so they hold when the two requests arrive at once too
(the PostgreSQL test sends them from two threads with their own connections).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, select

from models import ConcessionarySeat, Withdrawal, db
from models.enums import SeatStatus
from services import seats, years
from tests import factories as f
from tests.conftest import alembic_config, make_app
from tests.support import postgres
from tests.test_seats import YEAR, entitled
from tests.test_stale_edits import form_of, plain_text

SUMMER = date(2024, 8, 20)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(years, "today", lambda: SUMMER)


def _route_with_two_holders(app: Any) -> int:
    """Three seats, one entitled pupil, two concessionary holders."""
    with app.app_context():
        f.academic_year()
        f.contribution_setting()
        school = f.school()
        route = f.route([school], seats=3, code="SP01")
        entitled(route)
        for _ in range(2):
            f.concessionary_application(f.pupil(), school, route)
        db.session.commit()
        seats.allocate(YEAR, on=SUMMER, route_ids=[route.id])
        assert _active(route.id) == 2
        return int(route.id)


@pytest.fixture
def route_with_two_holders(app: Any) -> int:
    return _route_with_two_holders(app)


@pytest.fixture(scope="module")
def pg_app(pg_base_url: str) -> Iterator[Any]:
    """PostgreSQL whatever --db says (SQLite has one writer, so it cannot race); in CI a
    missing PostgreSQL fails rather than skips (tests/conftest.py)."""
    url = postgres.create_database(pg_base_url, "double_submit")
    command.upgrade(alembic_config(url), "head")
    app = make_app(url)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # an open connection left to the garbage collector warns


def _active(route_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(ConcessionarySeat)
            .where(
                ConcessionarySeat.route_id == route_id,
                ConcessionarySeat.status == SeatStatus.ACTIVE,
            )
        )
    )


def _withdrawals() -> int:
    return int(db.session.scalar(select(func.count()).select_from(Withdrawal)))


def _page(client: Any, route_id: int) -> dict[str, str]:
    response = client.get(f"/admin/route/withdraw/{route_id}")
    assert response.status_code == 200
    form = form_of(response.get_data(as_text=True))
    assert form["request_token"] and form["seats_seen"]
    return {
        **form,
        "am": "1",
        "pm": "0",
        "reason": "Entitled child moving in",
        "family_told_of_appeal": "y",
    }


def test_the_same_page_sent_twice_frees_one_seat(
    app: Any, client_as: Any, route_with_two_holders: int
) -> None:
    route_id = route_with_two_holders
    officer = client_as("officer")
    form = _page(officer, route_id)
    first = officer.post(f"/admin/route/withdraw/{route_id}", data=form, follow_redirects=True)
    assert "1 withdrawn" in plain_text(first)
    second = officer.post(f"/admin/route/withdraw/{route_id}", data=form, follow_redirects=True)
    assert second.status_code == 200
    assert "already withdrawn: the same request was sent twice" in plain_text(second)
    with app.app_context():
        assert _withdrawals() == 1
        assert _active(route_id) == 1


def test_two_pages_opened_before_either_was_sent_free_one_seat(
    app: Any, client_as: Any, route_with_two_holders: int
) -> None:
    """Two officers answer the same request for one seat: the later page is out of date."""
    route_id = route_with_two_holders
    one, two = client_as("officer"), client_as("supervisor")
    form_one, form_two = _page(one, route_id), _page(two, route_id)
    assert form_one["request_token"] != form_two["request_token"]
    assert "1 withdrawn" in plain_text(
        one.post(f"/admin/route/withdraw/{route_id}", data=form_one, follow_redirects=True)
    )
    stale = two.post(f"/admin/route/withdraw/{route_id}", data=form_two)
    assert stale.status_code == 200
    text = plain_text(stale)
    assert "changed after you opened this page" in text and "Nothing was withdrawn" in text
    with app.app_context():
        assert _withdrawals() == 1 and _active(route_id) == 1
    # The page shown again acts on the seats as they are now: sent again, it is carried out.
    again = form_of(stale.get_data(as_text=True))
    assert again["seats_seen"] != form_two["seats_seen"]
    sent = two.post(
        f"/admin/route/withdraw/{route_id}",
        data={**form_two, "seats_seen": again["seats_seen"]},
        follow_redirects=True,
    )
    assert "1 withdrawn" in plain_text(sent)
    with app.app_context():
        assert _withdrawals() == 2 and _active(route_id) == 0


def test_the_service_refuses_a_used_token(app: Any, route_with_two_holders: int) -> None:
    route_id = route_with_two_holders
    request = {
        "year": YEAR,
        "on": SUMMER,
        "reason": "Entitled child",
        "family_told_of_appeal": True,
        "decided_by_id": None,
        "request_token": "the-same-token",
    }
    with app.app_context():
        report = seats.withdraw(route_id, {"am": 1, "pm": 0}, **request)
        assert len(report.routes[0].withdrawn) == 1
        with pytest.raises(seats.AlreadyDone):
            seats.withdraw(route_id, {"am": 1, "pm": 0}, **request)
        db.session.rollback()
        assert _withdrawals() == 1 and _active(route_id) == 1


def test_two_identical_requests_at_once_free_one_seat_on_postgresql(pg_app: Any) -> None:
    app = pg_app
    route_id = _route_with_two_holders(app)
    with app.app_context():
        seen = seats.seats_state(db.session, route_id)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def send() -> None:
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                seats.withdraw(
                    route_id,
                    {"am": 1, "pm": 0},
                    year=YEAR,
                    on=SUMMER,
                    reason="Entitled child",
                    family_told_of_appeal=True,
                    decided_by_id=None,
                    request_token="sent-twice",
                    seats_seen=seen,
                )
                outcomes.append("withdrawn")
            except seats.AlreadyDone:
                outcomes.append("already done")
            finally:
                db.session.rollback()
                db.session.remove()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["already done", "withdrawn"]
    with app.app_context():
        assert _withdrawals() == 1 and _active(route_id) == 1


# --- create forms: a one-time token, written with the record -------------------------------


def _parish_form(client: Any) -> dict[str, str]:
    response = client.get("/admin/parish/new/")
    assert response.status_code == 200
    form = form_of(response.get_data(as_text=True))
    assert form["submission_token"], "the create form carries a one-time token"
    return {**form, "code": "E04009999", "name": "Nettleham"}


def _parishes(app: Any) -> int:
    from models import Parish

    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Parish)))


def test_a_create_form_sent_twice_makes_one_record(app: Any, client_as: Any) -> None:
    client = client_as("assistant")
    form = _parish_form(client)
    assert client.post("/admin/parish/new/", data=form).status_code == 302
    again = client.post("/admin/parish/new/", data=form, follow_redirects=True)
    assert again.status_code == 200
    assert "This form was sent twice" in plain_text(again)
    assert "Failed" not in plain_text(again)
    assert _parishes(app) == 1
    # A new form (a new token) is a new record, as before.
    other = {**_parish_form(client), "code": "E04008888", "name": "Welton"}
    assert client.post("/admin/parish/new/", data=other).status_code == 302
    assert _parishes(app) == 2


def test_a_create_form_sent_twice_at_once_makes_one_record_on_postgresql(pg_app: Any) -> None:
    """A term-date variation has no unique key: only the form's token can stop the second."""
    from auth.passwords import hash_password
    from models import TermDateVariation, User, UserRole
    from models.enums import Role
    from tests.conftest import PASSWORD, sign_in

    app = pg_app
    with app.app_context():
        if db.session.scalar(select(User).where(User.username == "supervisor")) is None:
            user = User(username="supervisor", full_name="S", password_hash=hash_password(PASSWORD))
            user.role_rows = [UserRole(role=Role.SUPERVISOR)]
            db.session.add(user)
        from models import AcademicYear

        if db.session.scalar(select(AcademicYear).where(AcademicYear.label == YEAR)) is None:
            f.academic_year()
        school_id = f.school(name="Token Test School").id
        db.session.commit()
    clients = [app.test_client(), app.test_client()]
    for client in clients:
        sign_in(client, "supervisor")
    page = clients[0].get("/admin/term_date_variation/new/")
    form = {
        **form_of(page.get_data(as_text=True)),
        "school": str(school_id),
        "academic_year": YEAR,
        "notice_on": "2024-06-01",
        "first_day": "2024-09-02",
        "details": "Starts a day early (sent twice)",
    }
    assert form["submission_token"]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def send(client: Any) -> None:
        barrier.wait(timeout=30)
        statuses.append(client.post("/admin/term_date_variation/new/", data=form).status_code)

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses) == [200, 302] or sorted(statuses) == [302, 302]
    with app.app_context():
        made = db.session.scalars(
            select(TermDateVariation).where(TermDateVariation.school_id == school_id)
        ).all()
        assert len(made) == 1


def test_create_form_tokens_past_their_lifetime_are_pruned_when_a_form_is_saved(
    app: Any, client_as: Any
) -> None:
    """A token is kept for the session's absolute lifetime (a form cannot be sent again
    after it), then deleted by the next create form saved; younger tokens keep guarding."""
    from datetime import UTC, datetime, timedelta

    from admin_views.concurrency import submitted_form_lifetime
    from models import SubmittedForm

    now = datetime.now(UTC)
    with app.app_context():
        lifetime = submitted_form_lifetime()
        assert lifetime == timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"])
        db.session.add_all(
            [
                SubmittedForm(
                    token="past-lifetime", submitted_at=now - lifetime - timedelta(minutes=1)
                ),
                SubmittedForm(
                    token="within-lifetime", submitted_at=now - lifetime + timedelta(minutes=5)
                ),
            ]
        )
        db.session.commit()
    client = client_as("assistant")
    form = _parish_form(client)
    assert client.post("/admin/parish/new/", data=form).status_code == 302
    with app.app_context():
        kept = set(db.session.scalars(select(SubmittedForm.token)))
    assert "past-lifetime" not in kept
    assert {"within-lifetime", form["submission_token"]} <= kept
    # The form just saved is still refused a second time.
    again = client.post("/admin/parish/new/", data=form, follow_redirects=True)
    assert "This form was sent twice" in plain_text(again)
    assert _parishes(app) == 1
