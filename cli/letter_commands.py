"""`flask letters run|print --year 2024/25 [--kind decision]`: the letters owed, and the post.

`run` makes every letter the stored state says is still owed (idempotent: again, it makes
none), cancels queued letters whose record has changed, sends queued e-mails through GOV.UK
Notify (log-only without a key) and prints how many letters it made. `print` makes what is
owed too, then writes the queued post letters as one merged PDF and marks them printed.
Bad input is one line on standard error and exit status 2, and nothing is changed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from cli import YEAR_HELP, year_or_current
from models import AcademicYear, db
from models.enums import LetterKind
from rules.academic_year import parse_academic_year
from rules.errors import RulesError
from services.audit import acting_user
from services.letters.kinds import UnknownFamily, kinds_of
from services.letters.owed import make_letters
from services.letters.sending import (
    notify_settings,
    print_batch,
    send_queued_emails,
    sender_from_environment,
)
from services.letters.templates import LetterTemplateError
from services.private_files import write_private


def _refuse(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _checked(year: str, kind: str | None) -> tuple[LetterKind, ...]:
    """Refuse, exit 2, a year that is not in the database or an unknown kind."""
    try:
        parse_academic_year(year)
    except RulesError as error:
        _refuse(f"--year: {error.message}")
    if db.session.scalar(select(AcademicYear.id).where(AcademicYear.label == year)) is None:
        _refuse(f"--year: there is no academic year {year} in the database")
    try:
        return kinds_of(kind)
    except UnknownFamily as error:
        _refuse(f"--kind: {error}")
        raise


def _make(year: str, kinds: tuple[LetterKind, ...]) -> tuple[int, str]:
    try:
        report = make_letters(db.session, year, kinds)
    except LetterTemplateError as error:
        db.session.rollback()
        _refuse(f"a letter template cannot be used: {error}")
        raise
    return report.made, report.as_text()


@click.group(help="Letters and notices to families.")
def letters() -> None:
    pass


YEAR = click.option("--year", "year", default=None, help=YEAR_HELP)
KIND = click.option(
    "--kind", "kind", default=None, help="decision, evidence, seat, withdrawal, appeal, payment."
)


@letters.command("run")
@YEAR
@KIND
@with_appcontext
def run(year: str, kind: str | None) -> None:
    """Make the letters still owed and send queued e-mails; prints how many were made."""
    year = year_or_current(year)
    kinds = _checked(year, kind)
    with acting_user("flask letters run"):
        _made, text = _make(year, kinds)
        sent = send_queued_emails(db.session, year, kinds, sender_from_environment())
    click.echo(f"{text} ({year})")
    click.echo(notify_settings().describe() + " " + sent.as_text(), err=True)


@letters.command("print")
@YEAR
@KIND
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def print_(year: str, kind: str | None, out: Path) -> None:
    """Write the queued post letters as one merged PDF (the post room's batch)."""
    year = year_or_current(year)
    kinds = _checked(year, kind)
    if not out.parent.is_dir():
        _refuse(f"--out: the folder {out.parent} does not exist")
    with acting_user("flask letters print"):
        _made, text = _make(year, kinds)
        document, count = print_batch(db.session, year, kinds)
    click.echo(f"{text} ({year})", err=True)
    if document is None:
        click.echo("0 letters waiting to print; no file written.")
        return
    write_private(out, document)  # letters hold personal data: never readable by others
    click.echo(f"{count} letters printed to {out}")
