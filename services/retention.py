"""The retention rule: which pupils' personal data is past its keeping, per academic year.

UK GDPR Art. 5(1)(e): personal data is kept no longer than needed. A pupil's records are
needed while the council may still have to answer for them: an appeal (Appendix C), a
contribution owed or refunded (A7, A9, Appendix F), a complaint or a claim. The period is a
dated setting: the supervisors' `RetentionSetting` row for the pupil's last academic year (or
the latest earlier year's row), else the dated default below, each with its legal basis. A
pupil is due when their last academic year with the council (the latest year of any transport
or seat application) ended more than that many whole years ago; `run` anonymises every pupil
due (services/anonymise.py) in one transaction, and is idempotent: an anonymised pupil is never
due again.

Pupils with no application at all are never due by this rule (nothing dates them); a
supervisor anonymises them from the pupil's screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from models import (
    AcademicYear,
    ConcessionaryApplication,
    Pupil,
    RetentionSetting,
    TransportApplication,
)

from .anonymise import Anonymised, anonymise_pupil, delete_files


@dataclass(frozen=True)
class RetentionPeriod:
    """How long after a year's end (31 August) its pupils' personal data is kept, and why."""

    from_year: str  # in force for this academic year and later ones
    keep_years: int
    legal_basis: str


# Project default until the council's records retention schedule says otherwise (a
# supervisor's RetentionSetting row for a year takes precedence): the last year's end plus six
# years, the Limitation Act 1980 period (s.2 tort, s.5 contract) for claims and money owed,
# after which UK GDPR Art. 5(1)(e) storage limitation applies.
DATED_DEFAULTS: tuple[RetentionPeriod, ...] = (
    RetentionPeriod(
        from_year="2000/01",
        keep_years=6,
        legal_basis=(
            "UK GDPR Art. 6(1)(e) public task (Education Act 1996 ss.508B-508I, home to school "
            "transport) while the case is live; kept six years after the end of the pupil's "
            "last academic year with the council for appeals, complaints, claims and money "
            "owed (Limitation Act 1980 ss.2, 5); then anonymised (UK GDPR Art. 5(1)(e))."
        ),
    ),
)


@dataclass(frozen=True)
class Due:
    pupil_id: int
    reference: str
    last_year: str
    year_ended: date
    keep_years: int
    kept_until: date


def period_for(session: Session, label: str) -> RetentionPeriod:
    """The period in force for an academic year: its stored row or the latest earlier one,
    else the latest dated default that has started by then (the earliest one before that)."""
    stored = session.execute(
        select(
            RetentionSetting.academic_year,
            RetentionSetting.keep_years,
            RetentionSetting.legal_basis,
        )
        .where(RetentionSetting.academic_year <= label)
        .order_by(RetentionSetting.academic_year.desc())
        .limit(1)
    ).first()
    if stored is not None:
        return RetentionPeriod(stored[0], int(stored[1]), stored[2])
    started = [d for d in DATED_DEFAULTS if d.from_year <= label]
    return started[-1] if started else DATED_DEFAULTS[0]


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def due(session: Session, today: date) -> list[Due]:
    """Every pupil not yet anonymised whose retention period has ended by `today`."""
    years = union_all(
        select(
            TransportApplication.pupil_id.label("pupil_id"),
            TransportApplication.academic_year.label("label"),
        ),
        select(ConcessionaryApplication.pupil_id, ConcessionaryApplication.academic_year),
    ).subquery()
    last = (
        select(years.c.pupil_id, func.max(years.c.label).label("label"))
        .group_by(years.c.pupil_id)
        .subquery()
    )
    rows = session.execute(
        select(Pupil.id, Pupil.reference, last.c.label, AcademicYear.ends)
        .join(last, last.c.pupil_id == Pupil.id)
        .join(AcademicYear, AcademicYear.label == last.c.label)
        .where(Pupil.anonymised_at.is_(None))
        .order_by(Pupil.id)
    ).all()
    periods: dict[str, RetentionPeriod] = {}
    found = []
    for pupil_id, reference, label, ends in rows:
        period = periods.get(label) or periods.setdefault(label, period_for(session, label))
        kept_until = _years_after(ends, period.keep_years)
        if kept_until < today:
            found.append(Due(pupil_id, reference, label, ends, period.keep_years, kept_until))
    return found


def run(session: Session, today: date, *, limit: int | None = None) -> list[Anonymised]:
    """Anonymise every pupil due, all or nothing, in one transaction; idempotent."""
    chosen: Sequence[Due] = due(session, today)
    if limit is not None:
        chosen = chosen[:limit]
    try:
        done = [anonymise_pupil(session, d.pupil_id, commit=False) for d in chosen]
        session.commit()
    except Exception:
        session.rollback()
        raise
    delete_files(path for d in done for path in d.files)
    return done
