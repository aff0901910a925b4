"""The supervisor's chart of decisions per week (issue 14) counted in SQL: each application's
first decision falls in the week, and meets or misses its B2 target, by its day in England,
across the change from BST to GMT (27 October 2024, 01:00 UTC)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Flask

from models import TransportApplication, db
from models.enums import Outcome
from services import queues, years
from tests import factories as f

LONDON = ZoneInfo("Europe/London")
TODAY = date(2024, 11, 6)  # a Wednesday: the chart's eight weeks start on Monday 16 September


def _at(day: date, hour: int, minute: int) -> datetime:
    """A moment on a day in England, as the UTC instant decided_at stores."""
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(UTC)


def _application(received: date) -> TransportApplication:
    application = f.transport_application(f.pupil(), f.school(), received_on=received)
    db.session.flush()
    years.refresh_decision_targets(db.session, TransportApplication.id == application.id)
    db.session.refresh(application)
    assert application.decision_target_on is not None
    return application


def _decide(received: date, when: Callable[[date], datetime]) -> date:
    application = _application(received)
    target = application.decision_target_on
    assert target is not None
    f.decision(application, outcome=Outcome.NOT_ELIGIBLE, decided_at=when(target))
    return target


def test_decisions_per_week_by_the_day_in_england_across_the_clock_change(
    app_ctx: Flask,
) -> None:
    f.academic_year()
    db.session.commit()
    # Targets before the change (BST, UTC+1): 23:30 on the target day is in time, 00:30 the
    # next day (23:30 UTC the same day) is late.
    before = _decide(date(2024, 10, 17), lambda t: _at(t, 23, 30))
    assert before < date(2024, 10, 27) and _at(before, 23, 30).date() == before
    _decide(date(2024, 10, 17), lambda t: _at(t + timedelta(days=1), 0, 30))
    # After it (GMT): the same London times are the same UTC times.
    after = _decide(date(2024, 10, 25), lambda t: _at(t, 23, 30))
    assert after > date(2024, 10, 27)
    _decide(date(2024, 10, 25), lambda t: _at(t + timedelta(days=1), 0, 30))
    # Received in B2a's busy months and decided late: counted apart.
    busy = _application(date(2024, 9, 2))
    assert busy.decision_target_busy
    f.decision(busy, outcome=Outcome.ELIGIBLE, decided_at=_at(date(2024, 9, 16), 0, 30))
    # First decided on Sunday 15 September at 23:30 in England (22:30 UTC): before the
    # chart, so its later decision is not counted; a referral is no decision on the chart.
    earlier = _application(date(2024, 9, 9))
    f.decision(earlier, decided_at=_at(date(2024, 9, 15), 23, 30), superseded_at=_at(TODAY, 9, 0))
    f.decision(earlier, decided_at=_at(date(2024, 10, 1), 9, 0))
    f.decision(_application(date(2024, 10, 1)), outcome=Outcome.REFER)
    db.session.commit()

    bars = queues.decisions_per_week(db.session, TODAY)
    assert bars[0].monday == date(2024, 9, 16) and len(bars) == 8
    counted = {bar.monday: (bar.decided, bar.in_target, bar.busy) for bar in bars if bar.decided}
    monday = {d: d - timedelta(days=d.weekday()) for d in (before, after)}
    expected: dict[date, tuple[int, int, int]] = {date(2024, 9, 16): (1, 0, 1)}
    for target in (before, after):
        # The late one is decided the day after its target: the next week if that is Saturday.
        late_week = monday[target] if target.weekday() < 6 else monday[target] + timedelta(7)
        for week, within in ((monday[target], 1), (late_week, 0)):
            d, i, b = expected.get(week, (0, 0, 0))
            expected[week] = (d + 1, i + within, b)
    assert counted == expected
