"""The one clock, and the academic years it falls in: today, the current year, the years in force,
each year's calendar of operational days and its dated policy parameters.

Screens, commands and services all ask `years.today()`, so tests fix the date in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

import rules
from models import (
    AcademicYear,
)
from services.errors import ServiceError


class YearError(ServiceError):
    """The year, its calendar or its policy figures are not there to act on."""


def today() -> date:
    """The date screens and commands act on (one place, so tests can fix it)."""
    return date.today()


def policy_for(academic_year: str, session: Session | None = None) -> rules.PolicyParameters:
    """The dated policy parameters for a year: the supervisors' stored row, else the defaults."""
    from services.policy import PolicyUnavailable, parameters_for_year

    try:
        return parameters_for_year(academic_year, session)
    except PolicyUnavailable as exc:
        raise YearError(f"No policy parameters for {academic_year}: {exc}") from None


def current_year_label(session: Session, today: date) -> str | None:
    """The academic year containing `today`, else the latest one that has started, else any."""
    label = session.scalar(
        select(AcademicYear.label)
        .where(AcademicYear.starts <= today)
        .order_by(AcademicYear.starts.desc())
        .limit(1)
    )
    if label is None:
        label = session.scalar(select(AcademicYear.label).order_by(AcademicYear.starts).limit(1))
    return label


@dataclass(frozen=True)
class Calendar:
    year: str
    ends: date
    terms: list[tuple[date, date]]
    closures: list[date]
    days: list[date]


def calendar_for(session: Session, year: str) -> Calendar:
    row = session.scalar(select(AcademicYear).where(AcademicYear.label == year))
    if row is None:
        raise YearError(f"There is no academic year {year}; add it under Settings first.")
    terms = [(t.starts, t.ends) for t in row.terms]
    closures = [c.day for c in row.closures]
    days = rules.operational_days(terms, closures) if terms else []
    if not days:
        raise YearError(
            f"The {year} calendar has no term dates, so no contribution can be worked out "
            "(A9: it is per operational day). Add the terms under Settings first."
        )
    return Calendar(year, row.ends, terms, closures, days)


def years_in_force(session: Session, on: date) -> list[str]:
    """The academic years whose passengers a vehicle must still seat: the current one and any
    later ones (ending on or after `on`); with none, the latest that has started, the year the
    routes list shows as current (`current_year_label`)."""
    labels = list(
        session.scalars(
            select(AcademicYear.label).where(AcademicYear.ends >= on).order_by(AcademicYear.starts)
        )
    )
    if not labels:
        latest = current_year_label(session, on)
        labels = [latest] if latest is not None else []
    return labels
