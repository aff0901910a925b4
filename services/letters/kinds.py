"""Letter kinds, grouped in the families the command line and the screens name."""

from __future__ import annotations

from models.enums import LetterKind

FAMILIES: dict[str, tuple[LetterKind, ...]] = {
    "decision": (LetterKind.DECISION_ELIGIBLE, LetterKind.DECISION_NOT_ELIGIBLE),
    "evidence": (LetterKind.EVIDENCE_REQUEST,),
    "seat": (LetterKind.SEAT_OFFER, LetterKind.SEAT_WAITING_LIST, LetterKind.SEAT_REFUSED),
    "withdrawal": (LetterKind.SEAT_WITHDRAWAL, LetterKind.ELIGIBILITY_WITHDRAWAL),
    "appeal": (
        LetterKind.APPEAL_ACKNOWLEDGEMENT,
        LetterKind.APPEAL_STAGE_ONE_OUTCOME,
        LetterKind.APPEAL_PANEL_DATE,
        LetterKind.APPEAL_PANEL_OUTCOME,
    ),
    "payment": (LetterKind.PAYMENT_REMINDER,),
}

LABELS: dict[LetterKind, str] = {
    LetterKind.DECISION_ELIGIBLE: "Decision: eligible",
    LetterKind.DECISION_NOT_ELIGIBLE: "Decision: not eligible",
    LetterKind.EVIDENCE_REQUEST: "Request for evidence",
    LetterKind.SEAT_OFFER: "Concessionary seat offer",
    LetterKind.SEAT_WAITING_LIST: "Concessionary seat waiting list",
    LetterKind.SEAT_REFUSED: "Concessionary seat refused",
    LetterKind.SEAT_WITHDRAWAL: "Concessionary seat withdrawn",
    LetterKind.ELIGIBILITY_WITHDRAWAL: "Eligibility withdrawn",
    LetterKind.APPEAL_ACKNOWLEDGEMENT: "Appeal acknowledged",
    LetterKind.APPEAL_STAGE_ONE_OUTCOME: "Appeal: stage one outcome",
    LetterKind.APPEAL_PANEL_DATE: "Appeal: panel date",
    LetterKind.APPEAL_PANEL_OUTCOME: "Appeal: panel outcome",
    LetterKind.PAYMENT_REMINDER: "Payment reminder",
}


class UnknownFamily(ValueError):
    """A --kind the panel does not know; the message lists the ones it does."""


def kinds_of(family: str | None) -> tuple[LetterKind, ...]:
    """Every kind for None, else the family's kinds (a single kind's own name also works)."""
    if family is None:
        return tuple(LetterKind)
    if family in FAMILIES:
        return FAMILIES[family]
    try:
        return (LetterKind(family),)
    except ValueError:
        raise UnknownFamily(
            f"unknown letter kind {family!r}; use one of {', '.join(FAMILIES)}"
        ) from None
