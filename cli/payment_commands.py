"""`flask payments record`: money received against an instalment, from the command line (B1j).

The rule is the payments screen's, services.contributions.check_payment: a refusal exits 2 with
the same words on one line of standard error, and nothing is recorded.
"""

from __future__ import annotations

from datetime import date
from typing import NoReturn

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from models import Contribution, Instalment, Pupil, User, db
from models.enums import Role
from services import contributions as money
from services import years
from services.audit import acting_user
from services.errors import ServiceError


def _refuse(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(2)


def _instalment(pupil_reference: str, year: str, number: int) -> int:
    """The instalment `number` of the pupil's one contribution for `year`."""
    found = db.session.scalars(
        select(Instalment.id)
        .join(Contribution, Contribution.id == Instalment.contribution_id)
        .join(Pupil, Pupil.id == Contribution.pupil_id)
        .where(
            Pupil.reference == pupil_reference,
            Contribution.academic_year == year,
            Instalment.number == number,
        )
    ).all()
    if not found:
        _refuse(f"no instalment {number} of a {year} contribution for pupil {pupil_reference}")
    if len(found) > 1:
        _refuse(f"pupil {pupil_reference} has more than one {year} contribution; use the screen")
    return found[0]


@click.group(help="Payments received against contributions (B1j).")
def payments() -> None:
    pass


@payments.command("record")
@click.argument("pupil_reference")
@click.argument("year")
@click.argument("number", type=int)
@click.argument("amount")
@click.option("--received-on", "received", required=True, help="The date received, YYYY-MM-DD.")
@click.option("--method", required=True, help="For example card, bank transfer, cheque.")
@click.option("--reference", default=None, help="The payment's own reference.")
@click.option("--user", "username", required=True, help="The staff account recording it.")
@with_appcontext
def record(
    pupil_reference: str,
    year: str,
    number: int,
    amount: str,
    received: str,
    method: str,
    reference: str | None,
    username: str,
) -> None:
    """Record AMOUNT received against instalment NUMBER of the pupil's YEAR contribution."""
    try:
        received_on = date.fromisoformat(received)
    except ValueError:
        _refuse(f"--received-on: {received!r} is not a date (YYYY-MM-DD)")
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not user.has_role(*Role):
        _refuse(f"--user: {username!r} is not an active staff account")
    instalment_id = _instalment(pupil_reference, year, number)
    try:
        with acting_user(user.username, user.id):
            payment = money.record_payment(
                instalment_id,
                money.parse_amount(amount),
                received_on=received_on,
                method=method,
                reference=reference,
                recorded_by_id=user.id,
                today=years.today(),
            )
    except ServiceError as error:
        db.session.rollback()
        _refuse(str(error))
    click.echo(f"Recorded £{payment.amount} received on {received_on:%d/%m/%Y}.")
