"""The one interface through which the panel reads dated policy parameters.

A decision must be made with the figures in force for its own academic year (DOMAIN.md: changing
next year's figure never rewrites a past decision), so every screen, command and service asks
here for a year's `PolicyParameters` rather than reading the table or a literal itself. A
supervisor's stored row for the year wins; a year without one uses the rules module's dated
defaults (`rules.parameters.parameters_for`).

The stored row (`PolicyParameterSet`) carries, column for column, every figure of the rules'
dataclass; `UNSTORED_FIELDS` and `UNREAD_COLUMNS` stay empty while the two agree (tested), and
would otherwise fall back to the dated defaults rather than guess.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AcademicYear, PolicyParameterSet, db
from models.base import VERSION_COLUMN
from rules.errors import RulesError
from rules.parameters import PolicyParameters, parameters_for

# The row's own bookkeeping, not policy figures.
_ROW_ONLY = frozenset({"id", "academic_year", "created_at", "updated_at", VERSION_COLUMN})

STORED_FIELDS: tuple[str, ...] = tuple(
    name
    for name in PolicyParameters.field_names()
    if name in PolicyParameterSet.__table__.columns and name not in _ROW_ONLY
)
# Fields of the rules' dataclass with no column: taken from the year's dated defaults.
UNSTORED_FIELDS: tuple[str, ...] = tuple(
    name
    for name in PolicyParameters.field_names()
    if name != "academic_year" and name not in STORED_FIELDS
)
# Columns with no dataclass field (should stay empty: a figure the rules never read).
UNREAD_COLUMNS: tuple[str, ...] = tuple(
    column.name
    for column in PolicyParameterSet.__table__.columns
    if column.name not in _ROW_ONLY and column.name not in PolicyParameters.field_names()
)


class PolicyUnavailable(ValueError):
    """No figures can be found for a year: said plainly to the user, never guessed."""


def _session(session: Session | None) -> Session:
    return session if session is not None else db.session


def _from_row(row: Any | None, year: str) -> PolicyParameters:
    try:
        defaults = parameters_for(year)
    except RulesError as error:
        defaults = None
        if row is None:
            raise PolicyUnavailable(error.message) from None
    if row is None:
        assert defaults is not None
        return defaults
    values = {name: getattr(row, name) for name in STORED_FIELDS}
    values["full_time_min_hours"] = Decimal(values["full_time_min_hours"])
    if defaults is None:
        # A stored year earlier than every dated default cannot fill the unstored fields.
        raise PolicyUnavailable(
            f"the stored {year} parameters lack {', '.join(UNSTORED_FIELDS)} and no dated "
            "default covers that year"
        )
    try:
        return dataclasses.replace(defaults, academic_year=year, **values)
    except RulesError as error:
        raise PolicyUnavailable(f"the stored {year} parameters are invalid: {error}") from None


def parameters_for_year(year: str, session: Session | None = None) -> PolicyParameters:
    """The figures in force for `year`: the stored row, else the dated defaults."""
    return parameters_for_years([year], session)[year]


def parameters_for_years(
    years: Iterable[str], session: Session | None = None
) -> dict[str, PolicyParameters]:
    """Several years' figures in one query (a bulk assessment may span years)."""
    wanted = sorted(set(years))
    if not wanted:
        return {}
    rows = _session(session).scalars(
        select(PolicyParameterSet).where(PolicyParameterSet.academic_year.in_(wanted))
    )
    by_year = {row.academic_year: row for row in rows}
    return {year: _from_row(by_year.get(year), year) for year in wanted}


def parameters_for_stored_years(session: Session | None = None) -> dict[str, PolicyParameters]:
    """The figures of every academic year the panel holds (two queries), for a screen that
    quotes or compares several years; a year for which no figures can be found is left out."""
    sess = _session(session)
    labels = sess.scalars(select(AcademicYear.label)).all()
    stored = {row.academic_year: row for row in sess.scalars(select(PolicyParameterSet))}
    found: dict[str, PolicyParameters] = {}
    for label in labels:
        try:
            found[label] = _from_row(stored.get(label), label)
        except PolicyUnavailable:
            continue
    return found


def parameters_as_json(params: PolicyParameters) -> dict[str, Any]:
    """A JSON-safe, stable rendering (Decimal as a string) for hashing and display."""
    out: dict[str, Any] = {}
    for name in PolicyParameters.field_names():
        value = getattr(params, name)
        out[name] = str(value) if isinstance(value, Decimal) else value
    return out


def ensure_parameter_set(year: str, session: Session | None = None) -> PolicyParameterSet:
    """Store the year's dated defaults as its row, unless it already has one.

    Supervisors then edit a row that starts from the policy's figures; the academic year row
    itself must exist (foreign key). Flushes; the caller commits.
    """
    sess = _session(session)
    row = sess.scalars(
        select(PolicyParameterSet).where(PolicyParameterSet.academic_year == year)
    ).first()
    if row is not None:
        return row
    try:
        defaults = parameters_for(year)
    except RulesError as error:
        raise PolicyUnavailable(error.message) from None
    row = PolicyParameterSet(
        academic_year=year, **{name: getattr(defaults, name) for name in STORED_FIELDS}
    )
    sess.add(row)
    sess.flush()
    return row
