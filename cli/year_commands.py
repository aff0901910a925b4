"""`flask year create LABEL --calendar FILE` or `flask year create --copy-last`.

A council sets up a year from its own files: the calendar (terms and closures, see
imports/calendar.py), with England's bank holidays in term added as closures and the year
before's policy parameters and charges copied on. Bad input exits 2 with one line on stderr
(the file's row and column) and creates nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from services.audit import acting_user


@click.group("year", help="Academic years: create one from a calendar file or the last year.")
def year_group() -> None:
    pass


@year_group.command("create")
@click.argument("label", required=False)
@click.option(
    "--calendar",
    "calendar_path",
    type=click.Path(dir_okay=False),
    help="CSV or XLSX: kind, name, first_day, last_day, reason.",
)
@click.option("--copy-last", is_flag=True, help="Copy the latest year's calendar 52 weeks on.")
@click.option(
    "--no-figures", is_flag=True, help="Do not copy the year before's parameters and charges."
)
@with_appcontext
def create(label: str | None, calendar_path: str | None, copy_last: bool, no_figures: bool) -> None:
    """Create an academic year (terms, closures, parameters, charges)."""
    from imports.calendar import read_calendar
    from imports.report import ImportReport
    from models import db
    from services.year_setup import YearSetupError, copy_last_year, create_year

    if copy_last == bool(calendar_path):
        _fail("Give --calendar FILE with a LABEL such as 2025/26, or --copy-last.")
    try:
        with acting_user("cli:year create"):
            if copy_last:
                setup = copy_last_year(db.session)
            else:
                if not label:
                    _fail("Say which year the calendar is for, e.g. flask year create 2025/26.")
                assert label is not None and calendar_path is not None
                try:
                    data = Path(calendar_path).read_bytes()
                except OSError as exc:
                    _fail(f"Cannot read {calendar_path}: {exc.strerror}")
                report = ImportReport("calendar")
                try:
                    found = read_calendar(data, Path(calendar_path).name, label, report)
                except Exception as exc:  # noqa: BLE001 - a bad label: one line, no traceback
                    _fail(f"{label!r} is not an academic year like 2025/26 ({exc})")
                if not report.ok:
                    for line in report.lines()[2:]:
                        click.echo(line)
                    _fail(report.summary())
                setup = create_year(
                    db.session, label, found.terms, found.closures, copy_figures=not no_figures
                )
    except YearSetupError as error:
        _fail(str(error))
    click.echo(setup.line())


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(2)
