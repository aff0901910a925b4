"""`flask network load FILE` and `flask network measure --year 2024/25` (A4b)."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from cli import YEAR_HELP, year_or_current
from models import User, db


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def _user_id(username: str | None) -> int | None:
    if not username:
        return None
    found = db.session.scalar(select(User.id).where(User.username == username))
    if found is None:
        _fail(f"there is no user {username!r}")
    return found


@click.group("network", help="The road network distances are measured over (A4b).")
def network_group() -> None:
    pass


@network_group.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--user", "username", help="Who loads it (recorded on the network).")
@with_appcontext
def load(path: str, username: str | None) -> None:
    """Read an OpenStreetMap extract (.osm.pbf or .osm) and make it the network in use."""
    from services.road_networks import OsmError, load_network

    user_id = _user_id(username)
    try:
        row, new = load_network(db.session, path, user_id=user_id)
        db.session.commit()
    except OsmError as error:
        db.session.rollback()
        _fail(str(error))
        return
    if not new:
        click.echo(f"{row.source_file} is already the network in use (#{row.id}); nothing changed.")
        return
    click.echo(
        f"Network #{row.id} from {row.source_file} (OSM date "
        f"{row.osm_timestamp:%Y-%m-%d %H:%M} UTC): {row.nodes} nodes, "
        f"{row.walk_edges} walking and {row.drive_edges} driving segments; {row.engine}."
        if row.osm_timestamp
        else f"Network #{row.id} from {row.source_file} (undated): {row.nodes} nodes."
    )


@network_group.command("measure")
@click.option("--year", default=None, help=YEAR_HELP)
@click.option("--user", "username", help="Who runs it (recorded on each measurement).")
@click.option("--no-assess", is_flag=True, help="Measure only; do not assess again.")
@with_appcontext
def measure(year: str | None, username: str | None, no_assess: bool) -> None:
    """Measure every application of a year: its school and every school that could be nearer;
    then assess again the applications whose distance changed."""
    year = year_or_current(year)
    from services.measurement import MeasurementError, handler

    user_id = _user_id(username)
    try:
        out = handler(
            {"year": year, "user_id": user_id, "assess": not no_assess,
             "via": "flask network measure"},
            lambda done, total: None,
        )
    except MeasurementError as error:
        _fail(str(error))
        return
    click.echo(f"{out['summary']}.")
    if "assessment" in out:
        click.echo(f"Assessed again: {out['assessment']}")
