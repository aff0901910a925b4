"""What every seat workflow shares: names, the refusal texts of Appendix F, the error type and
the set-based statement helpers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from models import (
    ConcessionaryApplication,
    ConcessionarySeat,
    Route,
)
from models.enums import (
    Sessions,
)
from services.errors import ServiceError

CA = ConcessionaryApplication


CS = ConcessionarySeat


SESSION_KEYS = ("am", "pm")


# Bound ids per IN list: well under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
IDS_PER_STATEMENT = 10_000


WANTS = {Sessions.AM: ("am",), Sessions.PM: ("pm",), Sessions.BOTH: ("am", "pm")}


# Appendix F: the two reasons a route offers no concessionary seats at all, in words for staff
# and families.
REFUSAL_TEXT = {
    "fare_paying_alternative": (
        "Appendix F: a local fare-paying bus service makes this journey, so no concessionary "
        "seat can be offered"
    ),
    "additional_cost": (
        "Appendix F: a concessionary seat on this route would cost the council extra, so none "
        "can be offered"
    ),
}


class SeatError(ServiceError):
    """A seat request that cannot be carried out; the message is for the user, nothing changed."""


def count_of(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def rows_written(s: Session, statement: Any) -> int:
    """Run an INSERT ... SELECT and say how many rows it wrote (the audit records it too)."""
    result = s.execute(statement, execution_options={"preserve_rowcount": True})
    rowcount = getattr(result, "rowcount", None)
    # The audit hook asks an INSERT ... SELECT for its new keys and hands them back as rows.
    return int(rowcount) if rowcount is not None else len(result.all())


def literal_rows(
    name: str, columns: Sequence[tuple[str, Any]], rows: Sequence[Sequence[Any]]
) -> Any:
    """A few rows of values as a table in a FROM clause (SQLite has no `VALUES ... AS t (a, b)`)."""
    selects = [
        select(
            *(
                literal(value, type_).label(col)
                for (col, type_), value in zip(columns, row, strict=True)
            )
        )
        for row in rows
    ]
    return (selects[0] if len(selects) == 1 else union_all(*selects)).subquery(name)




def route_codes(session: Session, route_ids: Iterable[int]) -> dict[int, Route]:
    return {
        r.id: r for r in session.scalars(select(Route).where(Route.id.in_(sorted(set(route_ids)))))
    }


SESSION_WORDS = {"am": "morning", "pm": "afternoon"}
