"""A supervisor's wording tried against a real case before it is saved (nothing is stored).

The case is found by its reference (a TRA or seat application reference) for the letter
kind's record: the application's current decision, its seat, its latest withdrawal or appeal,
its first instalment. Without a reference, the first case of the year that calls for the kind.
The letter is made exactly as `make_letters` makes it, so what the preview shows is what the
family would get.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import (
    Appeal,
    ConcessionaryApplication,
    ConcessionarySeat,
    Contribution,
    EligibilityDecision,
    Instalment,
    TransportApplication,
    Withdrawal,
)
from models.enums import LetterKind

from .kinds import FAMILIES, LABELS
from .owed import LOADERS, LetterMaker, called_for, today_in_england
from .render import letter_pdf
from .templates import Wording, check_wording, long_date, render_wording


class NoCase(LookupError):
    """No case to preview against; the message says what was looked for."""


@dataclass(frozen=True)
class Preview:
    reference: str
    title: str
    body: str
    pdf: bytes


def _record_for(session: Session, kind: LetterKind, year: str, reference: str) -> int | None:
    ta, ca, dec = TransportApplication, ConcessionaryApplication, EligibilityDecision
    app_id = select(ta.id).where(ta.reference == reference, ta.academic_year == year)
    seat_app_id = select(ca.id).where(ca.reference == reference, ca.academic_year == year)
    if kind in FAMILIES["decision"] or kind is LetterKind.EVIDENCE_REQUEST:
        return session.scalar(
            select(dec.id)
            .where(dec.application_id.in_(app_id), dec.superseded_at.is_(None))
            .order_by(dec.id.desc())
        )
    if kind is LetterKind.SEAT_OFFER:
        return session.scalar(
            select(ConcessionarySeat.id)
            .where(ConcessionarySeat.application_id.in_(seat_app_id))
            .order_by(ConcessionarySeat.id.desc())
        )
    if kind in (LetterKind.SEAT_WAITING_LIST, LetterKind.SEAT_REFUSED):
        return session.scalar(seat_app_id)
    if kind in FAMILIES["withdrawal"]:
        seats = select(ConcessionarySeat.id).where(
            ConcessionarySeat.application_id.in_(seat_app_id)
        )
        decisions = select(dec.id).where(dec.application_id.in_(app_id))
        return session.scalar(
            select(Withdrawal.id)
            .where(
                or_(
                    Withdrawal.concessionary_seat_id.in_(seats),
                    Withdrawal.decision_id.in_(decisions),
                )
            )
            .order_by(Withdrawal.id.desc())
        )
    if kind in FAMILIES["appeal"]:
        return session.scalar(
            select(Appeal.id)
            .where(Appeal.decision_id.in_(select(dec.id).where(dec.application_id.in_(app_id))))
            .order_by(Appeal.id.desc())
        )
    seats = select(ConcessionarySeat.id).where(ConcessionarySeat.application_id.in_(seat_app_id))
    contributions = select(Contribution.id).where(
        or_(
            Contribution.transport_application_id.in_(app_id),
            Contribution.concessionary_seat_id.in_(seats),
        )
    )
    return session.scalar(
        select(Instalment.id)
        .where(Instalment.contribution_id.in_(contributions))
        .order_by(Instalment.due_on, Instalment.id)
    )


def _first_due(session: Session, kind: LetterKind, year: str, on: date) -> int | None:
    return next((d.record_id for d in called_for(session, year, [kind], on)), None)


def preview(
    session: Session,
    kind: LetterKind,
    year: str,
    title: str,
    body: str,
    reference: str = "",
    on: date | None = None,
) -> Preview:
    """The letter `title`/`body` would make for the case; raises LetterTemplateError for
    wording that cannot be used, NoCase when there is no case to try it on."""
    check_wording(title, body)
    on = on or today_in_england()
    reference = reference.strip()
    record_id = (
        _record_for(session, kind, year, reference)
        if reference
        else _first_due(session, kind, year, on)
    )
    if record_id is None:
        what = f"with the reference {reference}" if reference else "that calls for this letter"
        raise NoCase(f"no {year} case {what} ({LABELS[kind]})")
    case = LOADERS[kind](session, [record_id]).get(record_id)
    if case is None:
        raise NoCase(f"no {year} case {reference}")
    maker = LetterMaker(session, year, on)
    maker._wordings[kind] = Wording(kind, title, body, 0, None)
    values = maker.context(case)
    text_title, text_body = render_wording(maker.wording(kind), values)
    addressee, address = values["recipient"]["name"], values["recipient"]["address"]
    pdf = letter_pdf(
        title=text_title,
        body=text_body,
        council=maker.council,
        addressee=addressee,
        address=address if values["letter"]["channel"] == "post" else [],
        date_line=long_date(on),
        reference=case.reference,
        subject=LABELS[kind],
    )
    return Preview(case.reference, text_title, text_body, pdf)
