"""`flask retention due|run [--today YYYY-MM-DD]`: the retention rule (services/retention.py).

`due` lists the pupils whose personal data is past its retention period, with their last
academic year and the date it was kept until; `run` anonymises all of them in one transaction
(services/anonymise.py; all or nothing) and is idempotent: run again, it finds nobody. Bad input
is one line on standard error and exit status 2, and nothing is changed.
"""

from __future__ import annotations

import sys
from datetime import date

import click
from flask.cli import with_appcontext

from models import db
from services import years
from services.audit import acting_user
from services.errors import ServiceError


def _refuse(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _today(text: str | None) -> date:
    if not text:
        return years.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        _refuse(f"--today: {text!r} is not a date like 2031-09-01")
        raise


_today_option = click.option(
    "--today", "today_text", help="Act as on this date (YYYY-MM-DD); default: today."
)


@click.group("retention", help="Find and anonymise pupils past their retention period.")
def retention() -> None:
    pass


@retention.command("due")
@_today_option
@with_appcontext
def due_command(today_text: str | None) -> None:
    """List the pupils whose retention period has ended."""
    from services.retention import due

    found = due(db.session, _today(today_text))
    for d in found:
        click.echo(
            f"{d.reference}\tlast year {d.last_year}\tkept {d.keep_years} years, "
            f"until {d.kept_until:%d %b %Y}"
        )
    click.echo(f"{len(found)} pupils due for anonymisation")


@retention.command("run")
@_today_option
@with_appcontext
def run_command(today_text: str | None) -> None:
    """Anonymise every pupil due, all or nothing."""
    from services.retention import run

    today = _today(today_text)
    with acting_user("cli:retention run"):
        try:
            done = run(db.session, today)
        except ServiceError as error:
            _refuse(str(error))
            raise
    click.echo(f"{len(done)} pupils anonymised")
