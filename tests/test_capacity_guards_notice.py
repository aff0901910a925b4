"""The database's capacity guards count who the service carries (migration 0026).

`services.seats.spare_seats` counts pupils in their notice period: an eligibility withdrawn
with notice carries its pupil until the effective date (A12a "removed with reasonable notice",
A15 "at one term's notice"), a concessionary seat withdrawn with notice is held until its end
date (Appendix F), and an award standing pending a re-check carries its pupil until a final
decision. The triggers behind the service (0003/0008 seats, 0009 a pupil put on a route,
0010/0011 a route's seats and sessions) left them out, so a direct write could fill a seat
the service knows is taken. Each test writes past the service, as an import or a script
would, and the database itself must refuse.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from models import (
    ConcessionarySeat,
    EligibilityDecision,
    Route,
    TransportApplication,
    Withdrawal,
    db,
)
from models.enums import Outcome, SeatStatus, Sessions, WithdrawalKind
from services import seats
from tests import factories as f
from tests.conftest import alembic_config, fresh_database

TODAY = date.today()  # the guards read the database's today, as the service reads England's


def _year_in_force() -> str:
    start = TODAY.year if TODAY.month >= 9 else TODAY.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


YEAR = _year_in_force()
START = date(int(YEAR[:4]), 9, 1)
END = date(int(YEAR[:4]) + 1, 8, 31)


@pytest.fixture
def route(app_ctx: Flask) -> Route:
    """A one-seat vehicle in the year in force."""
    f.academic_year(YEAR)
    r = f.route(seats=1, code="NT01")
    db.session.commit()
    return r


def _pupil_on(route: Route, sessions: Sessions = Sessions.BOTH) -> TransportApplication:
    return f.transport_application(
        f.pupil(),
        f.school(),
        route_id=route.id,
        route_sessions=sessions,
        academic_year=YEAR,
        received_on=START - timedelta(days=90),
    )


def _in_notice_period(route: Route, effective: date) -> TransportApplication:
    """A pupil whose eligibility was withdrawn with notice (A15), carried until `effective`."""
    application = _pupil_on(route)
    decided = datetime(START.year, 7, 1, tzinfo=UTC)
    award = f.decision(
        application, decided_at=decided, superseded_at=datetime.now(UTC), ended_on=effective
    )
    f.decision(application, outcome=Outcome.NOT_ELIGIBLE, basis="A3")
    db.session.add(
        Withdrawal(
            kind=WithdrawalKind.ELIGIBILITY,
            decision_id=award.id,
            clause="A15",
            reason="A15: awarded in error; removed at one term's notice",
            notice_on=TODAY - timedelta(days=1),
            effective_on=effective,
            refund_amount=Decimal("0.00"),
            family_told_of_appeal=True,
        )
    )
    db.session.flush()
    return application


def _standing(route: Route) -> TransportApplication:
    """A pupil whose award stands pending a re-check (A12a, A15: measure, not decided yet)."""
    application = _pupil_on(route)
    f.decision(
        application,
        decided_at=datetime(START.year, 7, 1, tzinfo=UTC),
        superseded_at=datetime.now(UTC),
        stands_pending_recheck=True,
    )
    f.decision(application, outcome=Outcome.MEASURE, basis=None)
    db.session.flush()
    return application


def _seat(route: Route, *, status: SeatStatus = SeatStatus.ACTIVE, end: date = END) -> None:
    """A concessionary seat written straight to the table, past the allocation service."""
    application = f.concessionary_application(
        f.pupil(), f.school(), route, academic_year=YEAR, received_on=START - timedelta(days=90)
    )
    db.session.add(
        ConcessionarySeat(
            application_id=application.id,
            route_id=route.id,
            sessions=Sessions.BOTH,
            start_date=START,
            end_date=end,
            status=status,
        )
    )
    db.session.flush()


def _spare(route: Route) -> dict[str, int]:
    return seats.spare_seats(db.session, YEAR, TODAY)[route.id]


def test_a15_a_seat_inserted_over_a_pupil_in_their_notice_period_is_refused(
    route: Route,
) -> None:
    """The only seat is the notice-period pupil's until the effective date: the service says
    no seat is spare, and a direct INSERT of a concessionary seat is refused by the database
    (it was let through before, counting only current decisions)."""
    _in_notice_period(route, effective=TODAY + timedelta(days=30))
    db.session.commit()
    assert _spare(route) == {"am": 0, "pm": 0}

    with pytest.raises(IntegrityError, match="Appendix F"):
        _seat(route)
    db.session.rollback()


def test_a_pupil_whose_notice_has_run_out_frees_the_seat(route: Route) -> None:
    """Effective today: carried no more (as `spare_seats`), so the seat may be taken."""
    _in_notice_period(route, effective=TODAY)
    db.session.commit()
    assert _spare(route) == {"am": 1, "pm": 1}
    _seat(route)
    db.session.commit()


def test_appendix_f_a_seat_under_notice_still_holds_its_place_in_the_database(
    route: Route,
) -> None:
    """A concessionary seat withdrawn with notice is held until its end date (Appendix F)."""
    _seat(route, status=SeatStatus.WITHDRAWN, end=TODAY + timedelta(days=10))
    db.session.commit()
    assert _spare(route) == {"am": 0, "pm": 0}
    with pytest.raises(IntegrityError, match="Appendix F"):
        _seat(route)
    db.session.rollback()


def test_a12a_an_award_standing_pending_a_recheck_keeps_its_seat_in_the_database(
    route: Route,
) -> None:
    _standing(route)
    db.session.commit()
    assert _spare(route) == {"am": 0, "pm": 0}
    with pytest.raises(IntegrityError, match="Appendix F"):
        _seat(route)
    db.session.rollback()


def test_a_carried_pupil_put_on_a_vehicle_full_with_a_notice_period_pupil_is_refused(
    route: Route,
) -> None:
    """0009's guard: an entitled pupil moved onto the route by a direct UPDATE."""
    _in_notice_period(route, effective=TODAY + timedelta(days=30))
    elsewhere = f.route(seats=5, code="NT02")
    newcomer = _pupil_on(elsewhere)
    f.decision(newcomer)
    db.session.commit()

    with pytest.raises(IntegrityError, match="Vehicle capacity"):
        db.session.execute(
            update(TransportApplication)
            .where(TransportApplication.id == newcomer.id)
            .values(route_id=route.id)
        )
        db.session.commit()
    db.session.rollback()


def test_a_pupil_in_their_notice_period_is_carried_by_the_database_guard_too(
    route: Route,
) -> None:
    """0009's guard also counts the pupil being moved as carried when their award is in its
    notice period (they still ride until the effective date)."""
    full = f.route(seats=1, code="NT03")
    f.decision(_pupil_on(full))
    mover = _in_notice_period(route, effective=TODAY + timedelta(days=30))
    db.session.commit()

    with pytest.raises(IntegrityError, match="Vehicle capacity"):
        db.session.execute(
            update(TransportApplication)
            .where(TransportApplication.id == mover.id)
            .values(route_id=full.id)
        )
        db.session.commit()
    db.session.rollback()


def test_a_route_cannot_drop_below_or_stop_for_its_notice_period_passengers(
    route: Route,
) -> None:
    """0010/0011's guards: seats lowered below, or a session switched off under, the pupils
    the service still carries."""
    route.seats = 2
    db.session.commit()
    _in_notice_period(route, effective=TODAY + timedelta(days=30))
    _standing(route)
    db.session.commit()

    with pytest.raises(IntegrityError, match="Vehicle capacity: the seats"):
        db.session.execute(update(Route).where(Route.id == route.id).values(seats=1))
        db.session.commit()
    db.session.rollback()
    with pytest.raises(IntegrityError, match="cannot stop running a session"):
        db.session.execute(update(Route).where(Route.id == route.id).values(runs_pm=False))
        db.session.commit()
    db.session.rollback()


# --------------------------------------------------------------------------- the migration


def _guards(engine: Engine) -> list[str]:
    """Every capacity trigger (and PostgreSQL function) as the database stores them."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.execute(
                text(
                    "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p "
                    "WHERE p.proname IN ('route_passengers', 'concessionary_seat_capacity', "
                    "'transport_application_route_capacity', 'route_seats_cover_passengers') "
                    "ORDER BY p.proname"
                )
            )
            return [f"{name}: {body}" for name, body in rows]
        return list(
            conn.scalars(text("SELECT sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"))
        )


def _columns(engine: Engine) -> set[str]:
    from sqlalchemy import inspect

    return {c["name"] for c in inspect(engine).get_columns("eligibility_decision")}


def test_migration_0026_downgrades_to_exactly_the_guards_before_it(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = fresh_database(request, "guards_0026", tmp_path)
    cfg = alembic_config(url)
    engine = create_engine(url)
    try:
        command.downgrade(cfg, "0019")
        before = _guards(engine)
        assert "stands_pending_recheck" not in _columns(engine)
        command.upgrade(cfg, "0026")
        after = _guards(engine)
        assert after != before and "stands_pending_recheck" in " ".join(after)
        assert "stands_pending_recheck" in _columns(engine)
        command.downgrade(cfg, "0019")
        assert _guards(engine) == before
        assert "stands_pending_recheck" not in _columns(engine)
        command.upgrade(cfg, "0026")
        assert _guards(engine) == after
    finally:
        engine.dispose()


def test_eligibility_decision_model_declares_the_standing_flag() -> None:
    assert "stands_pending_recheck" in EligibilityDecision.__table__.c
