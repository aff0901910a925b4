"""`flask assess run --year 2024/25 [--user USERNAME]`: assess a whole year, set-based.

The same service as the panel's Assess eligibility action (`services.assessment`), so a
night-time batch and an assistant's click decide alike and store the same trail. Bad input is
one line on standard error and exit status 2, and nothing is changed.
"""

from __future__ import annotations

import sys
import time

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from cli import YEAR_HELP, year_or_current
from models import AcademicYear, TransportApplication, User, db
from models.enums import Role
from rules.academic_year import parse_academic_year
from rules.errors import RulesError
from services.assessment import AssessmentError, assess_applications
from services.audit import acting_user


def _refuse(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group(help="Eligibility assessment runs.")
def assess() -> None:
    pass


@assess.command("run")
@click.option("--year", "year", default=None, help=YEAR_HELP)
@click.option("--user", "username", default=None, help="The staff account the run is made as.")
@with_appcontext
def run(year: str | None, username: str | None) -> None:
    """Assess every application of the year; unchanged ones keep their decision."""
    year = year_or_current(year)
    try:
        parse_academic_year(year)
    except RulesError as error:
        _refuse(f"--year: {error.message}")
    if db.session.scalar(select(AcademicYear.id).where(AcademicYear.label == year)) is None:
        _refuse(f"--year: there is no academic year {year} in the database")
    user: User | None = None
    if username is not None:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            _refuse(f"--user: no account named {username!r}")
        assert user is not None
        if not user.active or not user.has_role(*Role):
            _refuse(f"--user: {username!r} is not an active staff account")
    started = time.perf_counter()
    actor = user.username if user else "flask assess run"
    try:
        with acting_user(actor, user.id if user else None):
            summary = assess_applications(
                where=TransportApplication.academic_year == year,
                user_id=user.id if user else None,
            )
    except AssessmentError as error:
        _refuse(str(error))
    elapsed = time.perf_counter() - started
    click.echo(f"{year}: {summary.as_text()}")
    click.echo(f"took {elapsed:.1f} s")
