"""`flask demo load`: a deterministic demo county (built by demo.county)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group(help="The demo county.")
def demo() -> None:
    pass


@demo.command("load")
@click.option("--seed", default=2024, show_default=True)
@with_appcontext
def load(seed: int) -> None:
    from demo.county import build_county

    summary = build_county(seed=seed)
    for key, value in summary.items():
        click.echo(f"{key}: {value}")
