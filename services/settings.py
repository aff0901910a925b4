"""Supervisors' settings: the calendar's day count, bank holidays, term-date variations, and
copying a year's charges and policy figures forward.

Each year's settings are their own rows, and copying forward only ever inserts next year's rows,
so a decision or contribution made under this year's figures is never rewritten (DOMAIN.md:
"changing next year's figure never rewrites a past decision").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import date, time
from typing import cast

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, aliased

from models import (
    AcademicYear,
    Closure,
    ContributionSetting,
    PolicyParameterSet,
    RouteSchool,
    School,
    TermDateVariation,
    TransportApplication,
)
from models.enums import EstablishmentType, VariationStatus
from rules.academic_year import label_for, parse_academic_year
from rules.calendar import england_bank_holidays, operational_days
from rules.errors import RulesError
from rules.figures import first_value
from rules.parameters import parameters_for
from services.years import refresh_decision_targets

# Appendix H: these schools' term dates are set by the council, so they cannot vary them.
NO_VARIATION_TYPES = frozenset(
    {EstablishmentType.COMMUNITY, EstablishmentType.VOLUNTARY_CONTROLLED}
)
REFUSAL_REASON = (
    "Appendix H: community and voluntary-controlled schools follow the council's term dates"
)


class SettingsError(ValueError):
    """A refused settings change; the message is shown to the supervisor as it is."""


# ---------------------------------------------------------------- calendar (Appendix H)


def operational_day_count(year: AcademicYear) -> int:
    """Term-time weekdays less closures: the days transport runs (A9, Appendix H)."""
    return len(
        operational_days(
            [(t.starts, t.ends) for t in year.terms if t.starts and t.ends],
            [c.day for c in year.closures if c.day],
        )
    )


def expected_operational_days(session: Session, label: str) -> int:
    """The year's stored figure if a supervisor set one, else the policy's dated default."""
    stored = session.scalar(
        select(PolicyParameterSet.operational_days_expected).where(
            PolicyParameterSet.academic_year == label
        )
    )
    if stored is not None:
        return int(stored)
    try:
        return parameters_for(label).operational_days_expected
    except RulesError:  # a year before every dated figure: the earliest (Appendix H)
        return int(first_value("operational_days_expected"))


def calendar_warning(session: Session, year: AcademicYear) -> str | None:
    """None when the count is as expected; otherwise the message a supervisor sees."""
    count = operational_day_count(year)
    expected = expected_operational_days(session, year.label)
    if count == expected:
        return None
    return (
        f"{year.label} has {count} operational days, not the {expected} expected "
        "(Appendix H, glossary 'School year'): check the terms and closures."
    )


def bank_holidays_in_term(year: AcademicYear) -> list[tuple[date, str]]:
    """England's bank holidays on a weekday inside a term and not yet a closure."""
    closed = {c.day for c in year.closures}
    found = []
    for day, name in england_bank_holidays(year.starts, year.ends).items():
        if day.weekday() >= 5 or day in closed:
            continue
        if any(t.starts <= day <= t.ends for t in year.terms):
            found.append((day, name))
    return found


def add_bank_holidays_as_closures(session: Session, years: Sequence[AcademicYear]) -> int:
    """Insert the missing bank-holiday closures for each year; idempotent (skips existing)."""
    rows = [
        {"academic_year_id": year.id, "day": day, "reason": f"Bank holiday: {name}"[:120]}
        for year in years
        for day, name in bank_holidays_in_term(year)
    ]
    if rows:
        session.execute(insert(Closure), rows)
    return len(rows)


# ------------------------------------------------------- term-date variations (Appendix H)


def notice_deadline(academic_year: str) -> date:
    """Appendix H: a year's notice, i.e. by 31 August before the September a year earlier."""
    start = parse_academic_year(academic_year).start_year
    return date(start - 1, 8, 31)


def apply_variation_rules(variation: TermDateVariation, school: School) -> list[str]:
    """Refuse what Appendix H forbids and flag short notice; returns what was decided."""
    notes: list[str] = []
    variation.short_notice = variation.notice_on > notice_deadline(variation.academic_year)
    if variation.short_notice:
        notes.append(
            f"Short notice (Appendix H): notice on {variation.notice_on:%d %B %Y} is after "
            f"{notice_deadline(variation.academic_year):%d %B %Y}."
        )
    if school.establishment_type in NO_VARIATION_TYPES:
        variation.status = VariationStatus.REFUSED
        variation.refusal_reason = REFUSAL_REASON
        notes.append(f"Refused automatically: {REFUSAL_REASON}.")
    return notes


@dataclasses.dataclass(frozen=True)
class RouteConflict:
    """Two schools on one route that open on different dates or at different times (A23)."""

    route_id: int
    route: str
    school_a: str
    school_b: str
    differs_in: tuple[str, ...]


def _term_pattern(school: School, accepted: dict[int, tuple[date | None, date | None]]) -> object:
    if school.id in accepted:
        return ("variation", accepted[school.id])
    return "council" if school.follows_council_term_dates else ("own dates", school.id)


def _times(school: School, accepted_times: dict[int, tuple[time | None, time | None]]) -> object:
    return accepted_times.get(school.id, (school.day_starts, school.day_ends))


def route_conflicts(session: Session, academic_year: str) -> list[RouteConflict]:
    """Schools sharing a route whose term dates or day times differ: a cost risk (A23).

    Two queries in all (route-school pairs, accepted variations), never one per route.
    """
    from models import Route

    other = aliased(RouteSchool)
    school_a = aliased(School)
    school_b = aliased(School)
    pairs = session.execute(
        select(Route.id, Route, school_a, school_b)
        .join(RouteSchool, RouteSchool.route_id == Route.id)
        .join(other, (other.route_id == Route.id) & (other.school_id > RouteSchool.school_id))
        .join(school_a, school_a.id == RouteSchool.school_id)
        .join(school_b, school_b.id == other.school_id)
        .order_by(Route.id, school_a.name, school_b.name)
    ).all()
    accepted_dates: dict[int, tuple[date | None, date | None]] = {}
    accepted_times: dict[int, tuple[time | None, time | None]] = {}
    for v in session.scalars(
        select(TermDateVariation).where(
            TermDateVariation.academic_year == academic_year,
            TermDateVariation.status == VariationStatus.ACCEPTED,
        )
    ):
        if v.first_day or v.last_day:
            accepted_dates[v.school_id] = (v.first_day, v.last_day)
        if v.day_starts or v.day_ends:
            accepted_times[v.school_id] = (v.day_starts, v.day_ends)
    conflicts = []
    for route_id, route, a, b in pairs:
        differs = []
        if _term_pattern(a, accepted_dates) != _term_pattern(b, accepted_dates):
            differs.append("term dates")
        if _times(a, accepted_times) != _times(b, accepted_times):
            differs.append("start/finish times")
        if differs:
            conflicts.append(RouteConflict(route_id, str(route), str(a), str(b), tuple(differs)))
    return conflicts


# ------------------------------------------------------------------------ copy forward


def next_label(label: str) -> str:
    return label_for(parse_academic_year(label).start_year + 1)


def _ensure_year(session: Session, label: str) -> bool:
    """Next year's calendar row must exist for the foreign key; created empty if missing."""
    if session.scalar(select(AcademicYear.id).where(AcademicYear.label == label)) is not None:
        return False
    year = parse_academic_year(label)
    session.add(AcademicYear(label=label, starts=year.start, ends=year.end))
    session.flush()
    return True


def copy_forward(
    session: Session,
    model: type[ContributionSetting] | type[PolicyParameterSet],
    ids: Iterable[int],
) -> tuple[list[str], list[str]]:
    """Create next year's row from each selected row; never edits an existing row.

    Returns (labels created, labels skipped because next year already has its own row).
    """
    rows = cast(
        "list[ContributionSetting | PolicyParameterSet]",
        list(session.scalars(select(model).where(model.id.in_(list(ids))))),
    )
    existing = set(session.scalars(select(model.academic_year)))
    skip = {"id", "academic_year", "created_at", "updated_at", "row_version"}
    created: list[str] = []
    skipped: list[str] = []
    for row in sorted(rows, key=lambda r: r.academic_year):
        target = next_label(row.academic_year)
        if target in existing:
            skipped.append(target)
            continue
        _ensure_year(session, target)
        values = {
            attr.key: getattr(row, attr.key)
            for attr in model.__mapper__.column_attrs
            if attr.key not in skip
        }
        session.add(model(academic_year=target, **values))
        existing.add(target)
        created.append(target)
    session.flush()
    if created and model is PolicyParameterSet:
        # B2a: applications already received for those years take the copied figures.
        refresh_decision_targets(session, TransportApplication.academic_year.in_(created))
    return created, skipped
