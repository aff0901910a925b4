"""`flask seats ...`: concessionary seat runs for a whole year (A9, Appendix F).

Bad input (an unknown year, a date that does not parse, a year not yet finished) exits 2 with
one line on standard error and changes nothing.
"""

from __future__ import annotations

import time
from datetime import date
from typing import NoReturn

import click
from flask.cli import AppGroup
from sqlalchemy import select

from cli import YEAR_HELP, year_or_current
from models import AcademicYear, Route, db
from services import seats, years
from services.errors import ServiceError


def _refuse(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(2)


def _on(value: str | None) -> date:
    if value is None:
        return years.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        _refuse(f"--on: {value!r} is not a date (YYYY-MM-DD)")


def _route_ids(codes: tuple[str, ...]) -> list[int] | None:
    if not codes:
        return None
    found = dict(
        db.session.execute(select(Route.code, Route.id).where(Route.code.in_(codes))).all()
    )
    missing = [c for c in codes if c not in found]
    if missing:
        _refuse(f"--route: no route {', '.join(missing)}")
    return list(found.values())


def _report(report: seats.SeatReport, verbose: bool, elapsed: float) -> None:
    if verbose:
        for line in [r.line() for r in report.routes]:
            click.echo(line)
    for note in report.notes:
        click.echo(note)
    click.echo(f"{report.summary()} ({elapsed:.2f}s)")


@click.group(
    cls=AppGroup, help="Concessionary seats: allocate, offer from waiting lists, lapse a year."
)
def seats_group() -> None:
    pass


def _check_year(value: str | None) -> str:
    value = year_or_current(value)
    if not db.session.scalar(select(AcademicYear.id).where(AcademicYear.label == value)):
        _refuse(f"--year: there is no academic year {value!r}")
    return value


YEAR = click.option("--year", default=None, help=YEAR_HELP)
ON = click.option("--on", "on", default=None, help="Act as of this date (default today).")


@seats_group.command("allocate")
@YEAR
@ON
@click.option("--route", "routes", multiple=True, help="Only this route code (repeatable).")
@click.option("--verbose", "-v", is_flag=True, help="One line per route.")
def allocate_command(year: str, on: str | None, routes: tuple[str, ...], verbose: bool) -> None:
    """Allocate every pending application of the year (or of the routes given), in one run."""
    year = _check_year(year)
    when = _on(on)
    ids = _route_ids(routes)
    start = time.perf_counter()
    try:
        report = seats.allocate(year, on=when, route_ids=ids)
    except ServiceError as exc:
        _refuse(str(exc))
    _report(report, verbose, time.perf_counter() - start)


@seats_group.command("offer-next")
@YEAR
@ON
@click.option("--route", "routes", multiple=True, required=True, help="Route code (repeatable).")
def offer_next_command(year: str, on: str | None, routes: tuple[str, ...]) -> None:
    """Offer freed seats to the highest waiting applicant whose sessions fit."""
    year = _check_year(year)
    when = _on(on)
    ids = _route_ids(routes) or []
    start = time.perf_counter()
    try:
        report = seats.offer_next(year, on=when, route_ids=ids)
    except ServiceError as exc:
        _refuse(str(exc))
    _report(report, True, time.perf_counter() - start)


@seats_group.command("lapse")
@YEAR
@ON
def lapse_command(year: str, on: str | None) -> None:
    """Year end: lapse every seat and open application of a finished year (Appendix F)."""
    year = _check_year(year)
    try:
        counts = seats.lapse(year, on=_on(on))
    except ServiceError as exc:
        _refuse(str(exc))
    click.echo(f"{year}: {counts['seats']} seats and {counts['applications']} applications lapsed")


@seats_group.command("spare")
@YEAR
@ON
def spare_command(year: str, on: str | None) -> None:
    """Spare seats per route and session (seats - entitled - concessionary held)."""
    year = _check_year(year)
    when = _on(on)
    codes = dict(db.session.execute(select(Route.id, Route.code)).all())
    for route_id, spare in sorted(
        seats.spare_seats(db.session, year, when).items(), key=lambda kv: codes[kv[0]]
    ):
        click.echo(f"{codes[route_id]}\tAM {spare['am']}\tPM {spare['pm']}")


seats_group.name = "seats"
