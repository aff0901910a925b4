"""`flask users create`: the first supervisor, and any account, from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from auth.passwords import hash_password
from models import User, UserRole, db
from models.enums import Role


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
        raise click.ClickException(f"a user named {username!r} already exists")
    if len(password) < 12:
        raise click.ClickException("the password must be at least 12 characters")
    user = User(username=username, full_name=full_name, password_hash=hash_password(password))
    user.role_rows = [UserRole(role=Role(r)) for r in roles]
    db.session.add(user)
    db.session.commit()
    click.echo(f"created {username} ({', '.join(roles)})")
