"""Setting up an academic year without the browser: its calendar, and its figures copied on.

`create_year` makes a year from terms and closures (read from the council's calendar file by
`imports.calendar`), adds England's bank holidays that fall in term as closures, and copies the
previous year's policy parameters and charges forward (the supervisors then change what differs;
copying forward only ever inserts, so a past decision is never rewritten). `copy_last_year`
makes the year after the latest one from that year's calendar, 52 weeks on (project rule: the
same weekdays; bank holidays recomputed, not shifted), for a supervisor to check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AcademicYear, Closure, ContributionSetting, PolicyParameterSet, Term
from rules.academic_year import parse_academic_year
from rules.calendar import england_bank_holidays
from rules.errors import RulesError
from services.errors import ServiceError
from services.settings import (
    add_bank_holidays_as_closures,
    calendar_warning,
    copy_forward,
    next_label,
    operational_day_count,
)
from services.transaction import transaction

FIFTY_TWO_WEEKS = timedelta(weeks=52)


class YearSetupError(ServiceError):
    """The year cannot be created as asked; nothing was written."""


@dataclass
class YearSetup:
    label: str
    terms: int = 0
    closures: int = 0
    bank_holidays: int = 0
    copied: list[str] = field(default_factory=list)  # "policy parameters", "charges"
    operational_days: int = 0
    warning: str | None = None

    def line(self) -> str:
        copied = f"; copied from the year before: {', '.join(self.copied)}" if self.copied else ""
        text = (
            f"{self.label} created: {self.terms} terms, {self.closures} closures "
            f"({self.bank_holidays} bank holidays), {self.operational_days} operational days"
            f"{copied}."
        )
        return text + (f" {self.warning}" if self.warning else "")


def create_year(
    session: Session,
    label: str,
    terms: list[tuple[str, date, date]],
    closures: list[tuple[date, str]],
    *,
    copy_figures: bool = True,
) -> YearSetup:
    """Create `label` with these terms and closures, all or nothing."""
    try:
        year = parse_academic_year(label)
    except RulesError as error:
        raise YearSetupError(f"{label!r} is not an academic year like 2025/26 ({error})") from None
    if not terms:
        raise YearSetupError(f"{label}: no terms given; nothing was created.")

    def work() -> YearSetup:
        if session.scalar(select(AcademicYear.id).where(AcademicYear.label == label)):
            raise YearSetupError(f"{label} already exists; nothing was changed.")
        row = AcademicYear(label=label, starts=year.start, ends=year.end)
        row.terms = [Term(name=name, starts=s, ends=e) for name, s, e in terms]
        row.closures = [Closure(day=d, reason=r) for d, r in closures]
        session.add(row)
        session.flush()
        setup = YearSetup(label, terms=len(terms))
        setup.bank_holidays = add_bank_holidays_as_closures(session, [row])
        session.flush()
        session.refresh(row)
        setup.closures = len(row.closures)
        setup.bank_holidays += sum(
            1 for d, _ in closures if d in england_bank_holidays(year.start, year.end)
        )
        if copy_figures:
            setup.copied = _copy_figures(session, label)
        setup.operational_days = operational_day_count(row)
        setup.warning = calendar_warning(session, row)
        return setup

    return transaction(session, work)


def _copy_figures(session: Session, label: str) -> list[str]:
    """The year before's policy parameters and charges, as this year's (inserts only)."""
    start = parse_academic_year(label).start_year
    before = f"{start - 1}/{str(start)[2:]}"
    copied = []
    for model, words in (
        (PolicyParameterSet, "policy parameters"),
        (ContributionSetting, "charges"),
    ):
        ids = list(session.scalars(select(model.id).where(model.academic_year == before)))
        if ids and copy_forward(session, model, ids)[0]:
            copied.append(words)
    return copied


def copy_last_year(session: Session) -> YearSetup:
    """The year after the latest: its terms and closures 52 weeks on (the same weekdays), bank
    holidays left out and recomputed for the new dates, and its figures copied forward."""
    last = session.scalar(select(AcademicYear).order_by(AcademicYear.starts.desc()).limit(1))
    if last is None:
        raise YearSetupError("There is no academic year to copy; create one from a calendar file.")
    if not last.terms:
        raise YearSetupError(f"{last.label} has no terms to copy; add them first.")
    label = next_label(last.label)
    holidays = england_bank_holidays(last.starts, last.ends)
    terms = [(t.name, t.starts + FIFTY_TWO_WEEKS, t.ends + FIFTY_TWO_WEEKS) for t in last.terms]
    closures = [(c.day + FIFTY_TWO_WEEKS, c.reason) for c in last.closures if c.day not in holidays]
    closures = [(d, r) for d, r in closures if any(s <= d <= e for _, s, e in terms)]
    return create_year(session, label, terms, closures)
