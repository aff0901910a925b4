"""`flask users create`: the first supervisor, and any account, from the command line.

Changes are attributed in the audit trail to "cli:<command>". Bad input prints one line and
exits with status 2, changing nothing.
"""

from __future__ import annotations

from typing import NoReturn

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from auth.passwords import hash_password, password_problem
from models import User, UserRole, db
from models.enums import Role
from services.audit import acting_user


def _refuse(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(2)


@click.group(help="Manage staff accounts.")
def users() -> None:
    pass


@users.command("create")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="The person's full name.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="Repeat for several roles.",
)
@click.password_option(help="Asked for when not given.")
@with_appcontext
def create(username: str, full_name: str, roles: tuple[str, ...], password: str) -> None:
    if db.session.scalar(select(User).where(User.username == username)):
        _refuse(f"a user named {username!r} already exists")
    problem = password_problem(password, username)
    if problem:
        _refuse(problem[0].lower() + problem[1:].rstrip("."))
    with acting_user("cli:users create"):
        user = User(username=username, full_name=full_name, password_hash=hash_password(password))
        user.role_rows = [UserRole(role=Role(r)) for r in roles]
        db.session.add(user)
        db.session.commit()
    click.echo(f"created {username} ({', '.join(roles)})")


@users.command("set-password")
@click.argument("username")
@click.password_option(help="Asked for when not given.")
@with_appcontext
def set_password(username: str, password: str) -> None:
    """Reset a password and clear any lockout (for a supervisor locked out of the panel)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        _refuse(f"no user named {username!r}")
    problem = password_problem(password, username)
    if problem:
        _refuse(problem[0].lower() + problem[1:].rstrip("."))
    with acting_user("cli:users set-password"):
        user.password_hash = hash_password(password)
        user.failed_logins = 0
        user.locked_until = None
        db.session.commit()
    click.echo(f"password set for {username}")
