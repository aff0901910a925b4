"""The one clock, and the academic years it falls in: today, the current year, the years in force,
each year's calendar of operational days and its dated policy parameters.

Screens, commands and services all ask `years.today()`, so tests fix the date in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, bindparam, select, update
from sqlalchemy.orm import Session

import rules
from models import AcademicYear, TermDateVariation, TransportApplication
from models.base import table_of
from models.enums import VariationStatus
from services.errors import ServiceError

ENGLAND = ZoneInfo("Europe/London")


class YearError(ServiceError):
    """The year, its calendar or its policy figures are not there to act on."""


def today() -> date:
    """The date screens and commands act on, in England (one place, so tests can fix it)."""
    return datetime.now(ENGLAND).date()


def local_date(moment: datetime) -> date:
    """The date in England of a stored moment (decisions are stamped in UTC).

    Every deadline the policy gives in working days (Appendix C, B2, notice periods) counts from
    the day the family and the council see, which in British Summer Time starts an hour before
    UTC's: a decision made at 00:30 on 10 June is a 10 June decision, not a 9 June one.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ENGLAND).date()


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


def calendar_for(session: Session, year: str, school_id: int | None = None) -> Calendar:
    """The year's operational days, for the council's term dates or one school's own.

    A9: a contribution "is reduced in proportion to the number of school/college days
    remaining", so a school with an accepted term-date variation (A23, Appendix H) has its own
    days: see `school_calendars`.
    """
    if school_id is not None:
        return school_calendars(session, year, [school_id])[school_id]
    row = session.scalar(select(AcademicYear).where(AcademicYear.label == year))
    if row is None:
        raise YearError(f"There is no academic year {year}; add it under Settings first.")
    terms = [(t.starts, t.ends) for t in row.terms]
    closures = [c.day for c in row.closures]
    return _calendar(year, row.ends, terms, closures)


def _calendar(
    year: str, ends: date, terms: list[tuple[date, date]], closures: list[date]
) -> Calendar:
    days = rules.operational_days(terms, closures) if terms else []
    if not days:
        raise YearError(
            f"The {year} calendar has no term dates, so no contribution can be worked out "
            "(A9: it is per operational day). Add the terms under Settings first."
        )
    return Calendar(year, ends, terms, closures, days)


def school_calendars(session: Session, year: str, school_ids: Iterable[int]) -> dict[int, Calendar]:
    """Each school's calendar for the year: the council's, or its accepted variation's.

    A term-date variation (A23, Appendix H) gives the school's own first and last day of the
    year (project rule: the council's terms, with the first term starting on the school's
    `first_day` and the last ending on its `last_day`; a term wholly outside them is dropped,
    and the council's closures apply inside). Requested or refused variations change nothing.
    Two queries for any number of schools.
    """
    ids = sorted(set(school_ids))
    council = calendar_for(session, year)
    variations = {
        v.school_id: v
        for v in session.scalars(
            select(TermDateVariation)
            .where(
                TermDateVariation.academic_year == year,
                TermDateVariation.status == VariationStatus.ACCEPTED,
                TermDateVariation.school_id.in_(ids),
            )
            .order_by(TermDateVariation.notice_on, TermDateVariation.id)
        )
        if v.first_day is not None or v.last_day is not None
    }
    found: dict[int, Calendar] = {}
    for school_id in ids:
        variation = variations.get(school_id)
        if variation is None:
            found[school_id] = council
            continue
        terms = list(council.terms)
        if variation.first_day is not None:
            terms = [(s, e) for s, e in terms if e >= variation.first_day]
            if terms:
                terms[0] = (variation.first_day, max(terms[0][1], variation.first_day))
        if variation.last_day is not None:
            terms = [(s, e) for s, e in terms if s <= variation.last_day]
            if terms:
                terms[-1] = (min(terms[-1][0], variation.last_day), variation.last_day)
        found[school_id] = _calendar(year, council.ends, terms, council.closures)
    return found


# ------------------------------------------------------------------ B2 decision targets


class DecisionTargets:
    """B2a's rule, with each year's figures read once: `of(year, received)` is the target date
    and whether it falls in the busy period. The one definition every writer uses (the bulk
    refresh, a screen saving one application, an import inserting many)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._figures: dict[str, rules.PolicyParameters] = {}

    def of(self, year: str, received: date) -> tuple[date, bool]:
        if year not in self._figures:
            with self.session.no_autoflush:
                self._figures[year] = policy_for(year, self.session)
        target = rules.decision_target(received, self._figures[year])
        return target.due, target.busy_period


def apply_decision_target(session: Session, application: TransportApplication) -> None:
    """B2a for one application being saved on a screen."""
    if application.received_on is None or not application.academic_year:
        return
    due, busy = DecisionTargets(session).of(application.academic_year, application.received_on)
    application.decision_target_on, application.decision_target_busy = due, busy


def refresh_decision_targets(session: Session, where: ColumnElement[bool] | None = None) -> int:
    """B2a: every application's decision target, from its receipt date and its year's figures.

    The one writer of `decision_target_on` / `decision_target_busy` (screens, imports and
    commands call it after writing applications; the work queues read the columns). Only rows
    whose target differs are written; returns how many. B2a: "within 5 working days"; at busy
    periods (July-September) the guideline "is dis-applied if it cannot be reasonably met", so
    the date is kept and flagged rather than dropped.
    """
    ta = TransportApplication
    stmt = select(
        ta.id, ta.academic_year, ta.received_on, ta.decision_target_on, ta.decision_target_busy
    )
    if where is not None:
        stmt = stmt.where(where)
    rows = session.execute(stmt).all()
    targets = DecisionTargets(session)
    changes = []
    for app_id, year, received, stored_on, stored_busy in rows:
        due, busy = targets.of(year, received)
        if (stored_on, stored_busy) != (due, busy):
            changes.append({"row_id": app_id, "due": due, "busy": busy})
    if changes:
        session.execute(
            update(table_of(ta))
            .where(ta.__table__.c.id == bindparam("row_id"))
            .values(decision_target_on=bindparam("due"), decision_target_busy=bindparam("busy")),
            changes,
        )
    return len(changes)


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
