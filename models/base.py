"""The declarative base and the Flask-SQLAlchemy handle every model shares.

A fixed naming convention gives every constraint a stable name, so Alembic's autogenerate
and downgrades behave the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Index, Integer, MetaData, Numeric, Table, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Money: pounds and pence, exact (Decimal in Python).
MONEY = Numeric(10, 2)


def trigram_index(table: str, column: str) -> Index:
    """PostgreSQL only: serves the lists' `ILIKE '%word%'` search (admin_views/search.py).

    SQLite's LIKE cannot use an index for a word in the middle of a value, so it gets none.
    """
    return Index(
        f"ix_{table}_{column}_trgm",
        column,
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
        # Searches read GIN's whole pending list; a small one keeps them quick after bulk
        # writes (migration 0007).
        postgresql_with={"gin_pending_list_limit": 256},
    ).ddl_if(dialect="postgresql")


def built_on(dialect: str) -> Callable[..., bool]:
    """Alembic's include_object: leave out what the models declare for another database only.

    Alembic's autogenerate does not read `ddl_if`, so without this a SQLite comparison would
    ask for the PostgreSQL-only indexes above.
    """

    def include(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
        only = getattr(obj, "_ddl_if", None)  # set by ddl_if(dialect=...)
        if only is None or only.dialect is None:
            return True
        return dialect in ((only.dialect,) if isinstance(only.dialect, str) else only.dialect)

    return include


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class _SQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy's handle, its `session` typed as the `Session` it stands for.

    At run time `db.session` is a scoped_session, which proxies every Session method to the
    current app context's session; typing it so lets services take a plain `Session` (the one
    type tests and commands pass) without a cast at each call. Nothing else differs.
    """

    if TYPE_CHECKING:

        class _CurrentSession(Session):
            def __call__(self) -> Session: ...  # the scoped registry's session itself

        session: _CurrentSession  # type: ignore[assignment]


db = _SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Timestamped:
    """When a row was made and last changed; who did it lives in the audit trail."""

    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )


VERSION_COLUMN = "row_version"


class Versioned:
    """A counter raised by every UPDATE of the row, so a save from a stale form is refused.

    SQLAlchemy's ``version_id_col`` adds ``WHERE row_version = <the version read>`` to every
    UPDATE the ORM flushes and raises StaleDataError when no row matched: two sessions can
    never both write the same version. The edit screens carry the version the user saw and
    refuse a save made from an older one (admin_views/base.py, OptimisticLockMixin); set-based
    UPDATEs raise it too (services/record_versions.py). Issue 18: "nothing lost silently".
    """

    row_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.row_version}


def table_of(model: Any) -> Table:
    """A mapped class's table, for a Core INSERT or UPDATE of many rows (mypy sees
    `__table__` only as a FromClause, which `insert` and `update` do not take)."""
    table: Table = model.__table__
    return table
