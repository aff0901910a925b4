"""Every letter kind beyond the decision (issue 13): evidence requests (A13, B1e), seat offers,
waiting-list places and refusals (Appendix F), withdrawal notices (Appendix F, A12a, A15),
appeal letters (Appendix C) and payment reminders (B1j). Each is made after the step that
causes it, once, with the figures from the case and the dated parameters; a queued letter the
record no longer calls for is cancelled."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select

from models import Appeal, Communication, Withdrawal, db
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
from services.contributions import record_payment
from services.letters import owed
from services.letters.kinds import kinds_of
from services.letters.owed import make_letters
from tests import factories as f
from tests.test_seats import SUMMER, _register_scenario

from .conftest import make_case

LETTER_DATE = date(2024, 12, 20)  # 20 working days on: 22 January 2025 (bank holidays)


def flat(text: str) -> str:
    return " ".join(text.split())


def live(kind: LetterKind) -> list[Communication]:
    return list(
        db.session.scalars(
            select(Communication)
            .where(
                Communication.kind == kind, Communication.status != CommunicationStatus.CANCELLED
            )
            .order_by(Communication.id)
        )
    )


@pytest.fixture
def seat_year(app_ctx: Flask) -> str:
    f.academic_year()
    f.contribution_setting()
    db.session.commit()
    return "2024/25"


def test_a_referral_to_an_officer_asks_for_evidence_once(year: str) -> None:
    case = make_case(Outcome.REFER)
    case.decision.reasons = ["Medical evidence is needed for A13: an officer must decide."]
    db.session.commit()
    report = make_letters(db.session, year, kinds_of("evidence"), on=LETTER_DATE)
    assert report.by_kind == {"evidence_request": 1}
    [letter] = live(LetterKind.EVIDENCE_REQUEST)
    text = flat(letter.body_text)
    assert "needs evidence from you first" in text and "Medical evidence is needed" in text
    assert case.application.reference in text and "Fenwick Academy" in text
    assert make_letters(db.session, year, kinds_of("evidence"), on=LETTER_DATE).made == 0


def test_allocation_makes_offer_and_waiting_list_letters_and_only_for_what_changed(
    seat_year: str,
) -> None:
    route, apps = _register_scenario(seat_count=4)  # 3 spare seats, 6 applicants
    seats.allocate(seat_year, on=SUMMER, route_ids=[route.id])
    report = make_letters(db.session, seat_year, kinds_of("seat"), on=SUMMER)
    assert report.by_kind == {"seat_offer": 3, "seat_waiting_list": 3}
    offer = next(c for c in live(LetterKind.SEAT_OFFER) if c.seat_application_id == apps["far"].id)
    text = flat(offer.body_text)
    assert f"concessionary seat on route {route.code}" in text
    assert "from 4 September 2024 to 31 August 2025" in text
    assert "The charge is £456.00" in text  # the year's contribution setting (A9, B1j)
    waiting = next(
        c
        for c in live(LetterKind.SEAT_WAITING_LIST)
        if c.seat_application_id == apps["not_designated"].id
    )
    assert "is number 1 on the waiting list" in flat(waiting.body_text)
    # Nothing changed: nothing more to say.
    seats.allocate(seat_year, on=SUMMER, route_ids=[route.id])
    assert make_letters(db.session, seat_year, kinds_of("seat"), on=SUMMER).made == 0


def test_a_waiting_list_letter_not_yet_sent_is_cancelled_when_the_child_gets_a_seat(
    seat_year: str,
) -> None:
    route, apps = _register_scenario(seat_count=4)
    seats.allocate(seat_year, on=SUMMER, route_ids=[route.id])
    make_letters(db.session, seat_year, kinds_of("seat"), on=SUMMER)
    # A seat frees up and goes to the first on the waiting list (Appendix F).
    route.seats = 5
    db.session.commit()
    seats.offer_next(seat_year, on=SUMMER, route_ids=[route.id])
    report = make_letters(db.session, seat_year, kinds_of("seat"), on=SUMMER)
    assert (report.by_kind, report.cancelled) == ({"seat_offer": 1}, 1)
    first = apps["not_designated"].id
    [cancelled] = db.session.scalars(
        select(Communication).where(
            Communication.seat_application_id == first,
            Communication.kind == LetterKind.SEAT_WAITING_LIST,
        )
    ).all()
    assert cancelled.status is CommunicationStatus.CANCELLED
    assert any(c.seat_application_id == first for c in live(LetterKind.SEAT_OFFER))


def test_a_refusal_of_a_seat_gives_the_reason(year: str) -> None:
    school, route = f.school(name="Fenwick Academy"), f.route(code="R77")
    application = f.concessionary_application(
        f.pupil(first_name="Sam", last_name="Tay"),
        school,
        route,
        status=ConcessionaryStatus.REFUSED,
        refusal_reason="a fare-paying service runs on this route",
    )
    db.session.commit()
    make_letters(db.session, year, kinds_of("seat"), on=LETTER_DATE)
    [letter] = live(LetterKind.SEAT_REFUSED)
    assert letter.seat_application_id == application.id
    assert (
        "We cannot offer Sam Tay a concessionary seat on route R77 (Appendix F): a fare-paying "
        "service runs on this route." in flat(letter.body_text)
    )


def test_withdrawing_seats_writes_each_family_a_notice_with_dates_and_refund(
    seat_year: str,
) -> None:
    route, _apps = _register_scenario(seat_count=4)
    seats.allocate(seat_year, on=SUMMER, route_ids=[route.id])
    for contribution in db.session.scalars(select(owed.Contribution)):  # paid for the year
        for instalment in contribution.instalments:
            record_payment(instalment.id, instalment.amount, received_on=SUMMER, method="card")
    seats.withdraw(
        route.id,
        {"am": 1, "pm": 1},
        year=seat_year,
        on=date(2024, 10, 1),
        reason="the seat is needed for an entitled child",
        family_told_of_appeal=True,
        decided_by_id=None,
    )
    [withdrawal] = db.session.scalars(select(Withdrawal)).all()
    report = make_letters(db.session, seat_year, kinds_of("withdrawal"), on=date(2024, 10, 1))
    assert report.by_kind == {"seat_withdrawal": 1}
    text = flat(live(LetterKind.SEAT_WITHDRAWAL)[0].body_text)
    assert "the seat is needed for an entitled child" in text
    assert "Notice given on 1 October 2024" in text
    assert f"the seat ends on {withdrawal.effective_on.day} " in text
    assert f"Refund due: £{withdrawal.refund_amount:,.2f}" in text and withdrawal.refund_amount > 0
    assert make_letters(db.session, seat_year, kinds_of("withdrawal")).made == 0


def test_an_eligibility_withdrawal_gives_notice_and_the_right_of_review(year: str) -> None:
    case = make_case(Outcome.ELIGIBLE)
    db.session.add(
        Withdrawal(
            kind=WithdrawalKind.ELIGIBILITY,
            decision_id=case.decision.id,
            clause="A15",
            reason="the course is no longer full time",
            notice_on=LETTER_DATE,
            effective_on=date(2025, 1, 31),
            refund_amount=Decimal("0.00"),
        )
    )
    db.session.commit()
    make_letters(db.session, year, kinds_of("withdrawal"), on=LETTER_DATE)
    [letter] = live(LetterKind.ELIGIBILITY_WITHDRAWAL)
    text = flat(letter.body_text)
    assert "withdrawn under A15: the course is no longer full time" in text
    assert "Transport ends on 31 January 2025" in text
    assert "by 22 January 2025" in text and case.application.reference in text
    assert "Refund due" not in text


def _appeal(case, **kw) -> Appeal:  # type: ignore[no-untyped-def]
    values = {
        "decision_id": case.decision.id,
        "stage": AppealStage.REVIEW,
        "received_on": date(2024, 12, 2),
        "request_deadline": date(2024, 12, 30),
        "decision_due": date(2025, 1, 6),
        "grounds": "The walking route is unsafe.",
    }
    values.update(kw)
    appeal = Appeal(**values)
    db.session.add(appeal)
    db.session.commit()
    return appeal


def test_an_appeal_is_acknowledged_then_its_outcome_written_each_once(year: str) -> None:
    case = make_case(Outcome.NOT_ELIGIBLE)
    db.session.commit()
    appeal = _appeal(case)
    appeals = kinds_of("appeal")
    assert make_letters(db.session, year, appeals, on=LETTER_DATE).by_kind == {
        "appeal_acknowledgement": 1
    }
    ack = flat(live(LetterKind.APPEAL_ACKNOWLEDGEMENT)[0].body_text)
    assert "received your stage one (review) appeal" in ack and "on 2 December 2024" in ack
    assert "outcome in writing by 6 January 2025" in ack

    appeal.outcome, appeal.decided_on = AppealOutcome.UPHELD, date(2024, 12, 19)
    appeal.outcome_notes = "The route was assessed again and is suitable to walk."
    db.session.commit()
    assert make_letters(db.session, year, appeals, on=LETTER_DATE).by_kind == {
        "appeal_stage_one_outcome": 1
    }
    outcome = flat(live(LetterKind.APPEAL_STAGE_ONE_OUTCOME)[0].body_text)
    assert "not successful: the decision stands" in outcome
    assert "assessed again and is suitable" in outcome
    assert "further and final appeal" in outcome and "by 22 January 2025" in outcome
    assert make_letters(db.session, year, appeals, on=LETTER_DATE).made == 0


def test_a_stage_two_appeal_gets_its_panel_date_and_the_panels_decision(year: str) -> None:
    case = make_case(Outcome.NOT_ELIGIBLE)
    db.session.commit()
    appeal = _appeal(
        case,
        stage=AppealStage.PANEL,
        panel_on=date(2025, 2, 10),
        decision_due=date(2025, 3, 10),
    )
    appeals = kinds_of("appeal")
    made = make_letters(db.session, year, appeals, on=LETTER_DATE)
    assert made.by_kind == {"appeal_acknowledgement": 1, "appeal_panel_date": 1}
    panel = flat(live(LetterKind.APPEAL_PANEL_DATE)[0].body_text)
    assert "on 10 February 2025" in panel and "within 5 working days" in panel
    # The panel moves: the unsent notice of the old date is cancelled, the new one made.
    appeal.panel_on = date(2025, 2, 17)
    db.session.commit()
    moved = make_letters(db.session, year, appeals, on=LETTER_DATE)
    assert (moved.by_kind, moved.cancelled) == ({"appeal_panel_date": 1}, 1)
    assert "on 17 February 2025" in flat(live(LetterKind.APPEAL_PANEL_DATE)[0].body_text)

    appeal.outcome, appeal.decided_on = AppealOutcome.OVERTURNED, date(2025, 2, 18)
    db.session.commit()
    make_letters(db.session, year, appeals, on=LETTER_DATE)
    text = flat(live(LetterKind.APPEAL_PANEL_OUTCOME)[0].body_text)
    assert "successful: the decision is overturned" in text and "final decision" in text


def test_overdue_instalments_are_reminded_once_and_a_paid_ones_reminder_is_cancelled(
    seat_year: str,
) -> None:
    route, _apps = _register_scenario(seat_count=4)
    seats.allocate(seat_year, on=SUMMER, route_ids=[route.id])
    first = sorted(
        (i for c in db.session.scalars(select(owed.Contribution)) for i in c.instalments),
        key=lambda i: (i.due_on, i.id),
    )[0]
    after_first_due = date.fromordinal(first.due_on.toordinal() + 1)
    report = make_letters(db.session, seat_year, kinds_of("payment"), on=after_first_due)
    assert report.by_kind == {"payment_reminder": 3}  # three families, first instalment each
    reminder = next(
        c for c in live(LetterKind.PAYMENT_REMINDER) if c.subject_key == f"instalment:{first.id}"
    )
    text = flat(reminder.body_text)
    assert f"{first.amount:,.2f}, was due on {first.due_on.day} " in text
    assert "is still unpaid (B1j)" in text
    assert make_letters(db.session, seat_year, kinds_of("payment"), on=after_first_due).made == 0

    record_payment(first.id, first.amount, received_on=after_first_due, method="card")
    again = make_letters(db.session, seat_year, kinds_of("payment"), on=after_first_due)
    assert (again.made, again.cancelled) == (0, 1)
    db.session.refresh(reminder)
    assert reminder.status is CommunicationStatus.CANCELLED
