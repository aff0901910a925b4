"""`flask` commands: demo data, users, imports, assessment and allocation runs."""

from __future__ import annotations

from flask import Flask


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

    from . import retention_commands

    app.cli.add_command(retention_commands.retention)

    from . import payment_commands

    app.cli.add_command(payment_commands.payments)
