"""The home page's count of letters owed (issue 14) is the database's count of what
`letters_owed` would make: the same SELECTs of what each record calls for, less those a live
letter holds; checked over every letter kind, with letters made, cancelled and resent."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select

from models import Communication, ConcessionarySeat, Contribution, Withdrawal, db
from models.enums import (
    AppealOutcome,
    AppealStage,
    CommunicationStatus,
    ConcessionaryStatus,
    LetterKind,
    Outcome,
    WithdrawalKind,
)
from services import seats
from services.letters.kinds import kinds_of
from services.letters.owed import (
    Due,
    called_for,
    count_owed,
    letters_owed,
    make_letters,
    owed_by_kind,
)
from services.letters.sending import resend
from tests import factories as f
from tests.test_seats import SUMMER, _register_scenario

from .conftest import make_case
from .test_letter_kinds import _appeal

EVERY = kinds_of(None)


@pytest.fixture
def seat_year(app_ctx: Flask) -> str:
    f.academic_year()
    f.contribution_setting()
    db.session.commit()
    return "2024/25"


def _withdrawal(kind: WithdrawalKind, **record: int) -> None:
    db.session.add(
        Withdrawal(
            kind=kind,
            clause="A15",
            reason="moved out of the county",
            notice_on=SUMMER,
            effective_on=SUMMER + timedelta(days=30),
            refund_amount=Decimal("0.00"),
            **record,
        )
    )


def _every_kind_called_for(year: str) -> date:
    """A case calling for every kind of letter; returns a day after an instalment fell due."""
    route, _apps = _register_scenario(seat_count=4)  # 3 seats offered, 3 on the waiting list
    seats.allocate(year, on=SUMMER, route_ids=[route.id])
    f.concessionary_application(
        f.pupil(), f.school(), route, status=ConcessionaryStatus.REFUSED, refusal_reason="full"
    )
    eligible = make_case(Outcome.ELIGIBLE)
    refused = make_case(Outcome.NOT_ELIGIBLE)
    make_case(Outcome.REFER)
    make_case(Outcome.MEASURE)  # no letter until it is decided
    db.session.commit()
    _withdrawal(WithdrawalKind.ELIGIBILITY, decision_id=eligible.decision.id)
    seat = db.session.scalars(select(ConcessionarySeat).order_by(ConcessionarySeat.id)).first()
    assert seat is not None
    _withdrawal(WithdrawalKind.CONCESSIONARY_SEAT, concessionary_seat_id=seat.id)
    db.session.commit()
    _appeal(refused, outcome=AppealOutcome.UPHELD, decided_on=date(2024, 12, 19))
    _appeal(
        refused,
        stage=AppealStage.PANEL,
        panel_on=date(2025, 2, 10),
        decision_due=date(2025, 3, 10),
        outcome=AppealOutcome.OVERTURNED,
        decided_on=date(2025, 2, 18),
    )
    first_due = min(
        i.due_on for c in db.session.scalars(select(Contribution)) for i in c.instalments
    )
    return first_due + timedelta(days=1)


def _agree(year: str, on: date) -> list[Due]:
    owed, _stale = letters_owed(db.session, year, EVERY, on)
    assert count_owed(db.session, year, EVERY, on) == len(owed)
    assert owed_by_kind(db.session, year, EVERY, on) == Counter(d.kind for d in owed)
    for kinds in (kinds_of("decision"), [LetterKind.SEAT_OFFER], [LetterKind.PAYMENT_REMINDER]):
        assert count_owed(db.session, year, kinds, on) == len(
            letters_owed(db.session, year, kinds, on)[0]
        )
    return owed


def test_the_count_of_letters_owed_is_the_number_letters_owed_would_make(seat_year: str) -> None:
    on = _every_kind_called_for(seat_year)
    every = called_for(db.session, seat_year, EVERY, on)
    assert {d.kind for d in every} == set(EVERY)  # every kind is called for at least once
    # The subject keys are spelt by the database exactly as the letters have always named them.
    panel = next(d for d in every if d.kind is LetterKind.APPEAL_PANEL_DATE)
    assert panel.subject_key == f"appeal-panel:{panel.record_id}:2025-02-10"
    decision = next(d for d in every if d.kind is LetterKind.DECISION_ELIGIBLE)
    assert decision.subject_key == f"decision:{decision.record_id}"
    assert {d.kind for d in _agree(seat_year, on)} == set(EVERY)  # nothing made yet: all owed

    made = make_letters(db.session, seat_year, kinds_of("decision") + kinds_of("appeal"), on=on)
    assert made.made > 0
    left = _agree(seat_year, on)
    assert not {d.kind for d in left} & set(kinds_of("decision") + kinds_of("appeal"))

    letters = list(db.session.scalars(select(Communication).order_by(Communication.id)))
    # A resend does not hold its subject; cancelling the original makes the letter owed again.
    copy = resend(db.session, letters[0].id)
    assert copy.resend_of_id == letters[0].id
    letters[0].status = CommunicationStatus.CANCELLED
    letters[1].status = CommunicationStatus.SENT
    db.session.commit()
    again = {d.subject_key for d in _agree(seat_year, on)}
    assert again == {d.subject_key for d in left} | {letters[0].subject_key}

    make_letters(db.session, seat_year, EVERY, on=on)
    assert _agree(seat_year, on) == []
