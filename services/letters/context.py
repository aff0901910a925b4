"""What a letter may say: the case's own records and the year's dated parameters.

Templates never carry a figure: every distance, deadline and amount comes from here. Each
record is passed whole (`record_fields`: every column the model has today), so a column another
change adds (a panel date, a new decision field) reaches the templates without touching this
module; the derived values (the last date to ask for a review, miles) are added on top.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect

from models import Contact, Pupil, TransportApplication
from models.enums import Channel
from rules.calendar import add_working_days
from rules.parameters import PolicyParameters

from .council import Council

METRES_PER_MILE = Decimal("1609.344")
# Columns that are the panel's bookkeeping, not something a family is told.
_NEVER_SHOWN = frozenset(
    {"facts", "facts_hash", "created_at", "updated_at", "password_hash", "row_version"}
)


def record_fields(obj: object | None) -> dict[str, Any]:
    """Every column of a record, by name: enums as their values, others as stored."""
    if obj is None:
        return {}
    values: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        if attr.key in _NEVER_SHOWN:
            continue
        value = getattr(obj, attr.key)
        values[attr.key] = value.value if isinstance(value, enum.Enum) else value
    return values


def miles(metres: int | None) -> str:
    """Distances in letters are in miles, as the policy states them (A2: 2 and 3 miles)."""
    if metres is None:
        return ""
    value = (Decimal(metres) / METRES_PER_MILE).quantize(Decimal("0.1"))
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"


def parameters(params: PolicyParameters) -> dict[str, Any]:
    """The year's figures, each field as stored, plus every *_m distance in miles."""
    values: dict[str, Any] = asdict(params)
    for name, value in list(values.items()):
        if name.endswith("_m") and isinstance(value, int):
            values[name.removesuffix("_m") + "_miles"] = miles(value)
    return values


def recipient(pupil: Pupil) -> tuple[Contact | None, Channel, str, list[str]]:
    """Who is written to, how, and the address used: the first contact with parental
    responsibility (else the first contact); with none held, "the parent or carer" at home.
    """
    contacts = list(pupil.contacts)
    chosen = next((c for c in contacts if c.parental_responsibility), None) or (
        contacts[0] if contacts else None
    )
    home = [line for line in (pupil.address, pupil.town, pupil.postcode) if line]
    if chosen is None:
        return None, Channel.POST, f"The parent or carer of {pupil.name}", home
    if chosen.preferred_channel is Channel.EMAIL and chosen.email:
        return chosen, Channel.EMAIL, chosen.name, [chosen.email]
    postal = home
    if chosen.postal_address:
        lines = [line.strip() for line in chosen.postal_address.splitlines() if line.strip()]
        postal = [*lines, *([chosen.postcode] if chosen.postcode else [])]
    return chosen, Channel.POST, chosen.name, postal


def base_context(
    *,
    pupil: Pupil,
    application: Any | None,
    letter_date: date,
    params: PolicyParameters,
    council: Council,
    reference: str,
) -> dict[str, Any]:
    """The parts every letter has: the letter, the council, the addressee, child and school."""
    contact, channel, addressee, address = recipient(pupil)
    school = getattr(application, "school", None)
    return {
        "letter": {"date": letter_date, "reference": reference, "channel": channel.value},
        "council": asdict(council),
        "recipient": {"name": addressee, "address": address, **record_fields(contact)},
        "child": {**record_fields(pupil), "full_name": pupil.name},
        "school": record_fields(school),
        "application": record_fields(application),
        "parameters": parameters(params),
        "review": review_deadline(letter_date, params),
    }


def review_deadline(letter_date: date, params: PolicyParameters) -> dict[str, Any]:
    """Appendix C: a review may be asked for "within 20 working days" of the letter (weekends
    and England's bank holidays skipped, rules.calendar), the figure from the year's parameters.
    """
    days = params.review_request_working_days
    return {"working_days": days, "last_date": add_working_days(letter_date, days)}


def decision_context(decision: Any) -> dict[str, Any]:
    """A decision with its reasons read generically: whatever the rules wrote, in order."""
    fields = record_fields(decision)
    return {
        **fields,
        "eligible": fields.get("outcome") == "eligible",
        "reasons": list(decision.reasons or []),
        "clauses": list(decision.clauses or []),
    }


def contribution_context(contribution: Any | None) -> dict[str, Any] | None:
    """B1j: the amount, the plan and each instalment's due date and amount."""
    if contribution is None:
        return None
    return {
        **record_fields(contribution),
        "instalments": [record_fields(i) for i in sorted_by(contribution.instalments, "number")],
    }


def sorted_by(rows: Iterable[Any], key: str) -> list[Any]:
    return sorted(rows, key=lambda row: getattr(row, key))


def application_of(obj: Any) -> TransportApplication | None:
    return obj if isinstance(obj, TransportApplication) else None
