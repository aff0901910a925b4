"""`in_ids(column, ids)`: ``column IN (ids)`` sent as one bound value, not one per id.

Bulk work (a whole-year assessment, its status changes, its audit trail) names thousands of
records by id. ``column.in_(ids)`` binds each id on its own: SQLAlchemy processes and renders
every one and psycopg rewrites each placeholder, which cost about a second of a 25,000-row
assessment on PostgreSQL. Here the list travels as one value: an ``integer[]`` with
``= ANY(...)`` on PostgreSQL, a JSON array read by ``json_each`` on SQLite. Same rows, same
index use (both plan it as a lookup per id).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Integer, String, TypeDecorator, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean


class _IdList(TypeDecorator[list[int]]):
    """A list of integer ids: an ``integer[]`` on PostgreSQL, JSON text elsewhere."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(Integer))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        ids = [int(v) for v in value]
        return ids if dialect.name == "postgresql" else json.dumps(ids)


class InIds(ColumnElement[bool]):
    type = Boolean()
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("ids", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], ids: Iterable[int]) -> None:
        self.column = column
        self.ids = bindparam(None, list(ids), type_=_IdList())


def in_ids(column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """``column IN (ids)`` with the ids bound as one value (integer columns)."""
    return InIds(column, ids)


@compiles(InIds)
def _in_json(element: InIds, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} IN (SELECT value FROM json_each({compiler.process(element.ids, **kw)}))"


@compiles(InIds, "postgresql")
def _in_array(element: InIds, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY({compiler.process(element.ids, **kw)})"
