"""`flask` commands: demo data, users, imports, assessment and allocation runs."""

from __future__ import annotations

from flask import Flask

YEAR_HELP = "Academic year, e.g. 2026/27 (default: the year containing today)."


def year_or_current(year: str | None) -> str:
    """--year as given, else the academic year containing today (issue 15: a newcomer's first
    command works on the demo built for today); with no years at all, an empty label that the
    command's own check refuses."""
    if year:
        return year
    from models import db
    from services import years

    return years.current_year_label(db.session, years.today()) or ""


def register_commands(app: Flask) -> None:
    from . import demo_commands, user_commands

    app.cli.add_command(demo_commands.demo)
    app.cli.add_command(user_commands.users)

    from . import import_commands

    app.cli.add_command(import_commands.import_group)

    from . import assess_commands

    app.cli.add_command(assess_commands.assess)

    from . import seat_commands

    app.cli.add_command(seat_commands.seats_group, "seats")

    from . import network_commands

    app.cli.add_command(network_commands.network_group, "network")

    from . import letter_commands

    app.cli.add_command(letter_commands.letters)

    from . import job_commands

    app.cli.add_command(job_commands.jobs)

    from . import retention_commands

    app.cli.add_command(retention_commands.retention)

    from . import payment_commands

    app.cli.add_command(payment_commands.payments)

    from . import year_commands

    app.cli.add_command(year_commands.year_group, "year")
