"""`flask demo load`: a deterministic demo county (built by demo.county)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group(help="The demo county.")
def demo() -> None:
    pass


@demo.command("load")
@click.option("--seed", default=2024, show_default=True)
@click.option(
    "--size",
    type=click.Choice(["small", "demo", "bench"]),
    default="demo",
    show_default=True,
    help="How big a county: small (tests), demo (a few hundred schools), bench (issue 7).",
)
@with_appcontext
def load(seed: int, size: str) -> None:
    """Load the demo county into an empty database; a database with data is left alone."""
    from demo.county import DemoRefused, build_county

    try:
        summary = build_county(seed=seed, size=size)
    except DemoRefused as refused:
        click.echo(f"Demo county not loaded: {refused}.")
        return
    from demo.network import load_demo_network
    from models import db

    # Issue 17: a road network consistent with the county's coordinates, so distances can be
    # measured (A4b) from the first command.
    network = load_demo_network(db.session)
    db.session.commit()
    summary["road network"] = (
        f"#{network.id} {network.source_file}: {network.walk_edges} walking, "
        f"{network.drive_edges} driving segments"
    )
    password = summary.pop("password")
    source = summary.pop("password_source")
    for key, value in summary.items():
        click.echo(f"{key}: {value}")
    note = "generated; note it now" if source == "generated" else "from DEMO_PASSWORD"
    click.echo(f"supervisor password ({note}): {password}")
