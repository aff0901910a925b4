"""`flask import schools|areas|applications FILE`: reference data and casework in bulk.

The detailed report goes to stdout (or --report FILE); a refused import exits 2 with one line on
stderr and writes nothing. File formats are described in imports/gias.py, imports/areas.py and
imports/applications.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from imports.report import ImportReport
from services.audit import acting_user


@click.group(
    "import",
    help="Import schools (GIAS), areas and DTAs, pupils and applications, low-income lists, "
    "care status, satellites' main sites and post-16 course facts.",
)
def import_group() -> None:
    pass


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        click.echo(f"Cannot read {path}: {exc.strerror}", err=True)
        sys.exit(2)


def _finish(report: ImportReport, report_path: str | None, file: str) -> None:
    from models import db
    from services import import_runs

    # Refused or not, the run is recorded (the home page counts refused imports).
    with acting_user("cli:import"):
        import_runs.record(
            db.session,
            kind=report.kind,
            filename=Path(file).name,
            via="command",
            rows_read=report.rows_read,
            error_count=report.error_count,
            committed=report.committed,
            user_id=None,
            username="command line",
        )
        db.session.commit()
    text = "\n".join(report.lines())
    if report_path:
        Path(report_path).write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)
    if not report.ok:
        click.echo(report.summary(), err=True)
        sys.exit(2)


_report_option = click.option(
    "--report", "report_path", type=click.Path(dir_okay=False), help="Write the report here."
)
_dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Check the file and show what would change; write nothing."
)


@import_group.command("schools")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--la", type=int, help="Keep one local authority's rows, e.g. 925.")
@_report_option
@_dry_run_option
@with_appcontext
def schools(file: str, la: int | None, report_path: str | None, dry_run: bool) -> None:
    """Schools from a GIAS establishment-fields CSV."""
    from imports.gias import import_schools

    with acting_user("cli:import schools"):
        report = import_schools(_read(file), Path(file).name, la, commit=not dry_run)
    _finish(report, report_path, file)


@import_group.command("areas")
@click.argument("file", type=click.Path(dir_okay=False))
@_report_option
@_dry_run_option
@with_appcontext
def areas(file: str, report_path: str | None, dry_run: bool) -> None:
    """Parishes, postcodes and DTAs from CSV or XLSX."""
    from imports.areas import import_areas

    with acting_user("cli:import areas"):
        report = import_areas(_read(file), Path(file).name, commit=not dry_run)
    _finish(report, report_path, file)


@import_group.command("applications")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--as",
    "username",
    help="The officer importing: needed for determinations (route_unsuitable), who is "
    "recorded as the determiner.",
)
@_report_option
@_dry_run_option
@with_appcontext
def applications(file: str, username: str | None, report_path: str | None, dry_run: bool) -> None:
    """Pupils and transport applications from CSV or XLSX."""
    from sqlalchemy import select

    from imports.applications import import_applications
    from models import User, db

    user_id = None
    if username:
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        if user_id is None:
            click.echo(f"There is no account {username!r}.", err=True)
            sys.exit(2)
    with acting_user(username or "cli:import applications", user_id):
        report = import_applications(
            _read(file), Path(file).name, commit=not dry_run, user_id=user_id
        )
    _finish(report, report_path, file)


def _casework_command(kind: str, help_text: str) -> None:
    """`flask import low-income|care|satellites|post16 FILE` (imports/casework_facts.py)."""

    @import_group.command(kind, help=help_text)
    @click.argument("file", type=click.Path(dir_okay=False))
    @_report_option
    @_dry_run_option
    @with_appcontext
    def command(file: str, report_path: str | None, dry_run: bool) -> None:
        from imports.casework_facts import IMPORTERS

        with acting_user(f"cli:import {kind}"):
            report = IMPORTERS[kind](_read(file), Path(file).name, commit=not dry_run)
        _finish(report, report_path, file)


_casework_command("low-income", "Low-income (free-school-meals) evidence per year (A5, A6).")
_casework_command("care", "Care status and placements of pupils (A21, A22).")
_casework_command("satellites", "Each satellite's main site (A3f, A7i).")
_casework_command("post16", "Post-16 course facts on applications (A7, A8, A16).")
