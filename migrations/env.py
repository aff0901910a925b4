"""Alembic environment: the same DATABASE_URL as the app, the models' metadata as the target."""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, event, make_url, pool

import config as app_config
from models import Base
from models.base import built_on
from services.db_roles import grant_runtime_role
from services.private_files import restrict_sqlite_file

alembic_config = context.config
if alembic_config.config_file_name is not None and not alembic_config.attributes.get(
    "skip_logging"
):
    fileConfig(alembic_config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    """The owner's URL: MIGRATION_DATABASE_URL when the app runs as a lesser role."""
    return (
        alembic_config.get_main_option("sqlalchemy.url")
        or app_config.migration_database_url()
    )


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
        include_object=built_on(make_url(_url()).get_backend_name()),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = alembic_config.attributes.get("connection")
    if connectable is None:
        section = alembic_config.get_section(alembic_config.config_ini_section, {})
        section["sqlalchemy.url"] = _url()
        engine = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
        # The database file the migration creates is the owner's alone (issue 16).
        event.listen(engine, "connect", restrict_sqlite_file)
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=built_on(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()
        role = alembic_config.attributes.get("app_role") or os.environ.get("APP_DB_ROLE")
        if role:
            # The runtime role may only INSERT and SELECT the trail (services/db_roles.py).
            grant_runtime_role(connection, role)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
