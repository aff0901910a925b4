"""Every set-based UPDATE of a versioned table raises the rows' version too (issue 18).

The ORM raises ``row_version`` itself when it flushes a changed object (``version_id_col``,
models/base.py). Services and imports also change rows with ``session.execute(update(...))``
(allocations, withdrawals, whole-year assessments, measurements, imports); without this hook
an edit form opened before such a statement would still look current and its save would undo
the statement's work. Hooking ``Session.execute`` covers every such statement, however made;
an UPDATE that sets the version itself is left alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session

from models.base import VERSION_COLUMN


def _bump_versions(state: ORMExecuteState) -> Any:
    """Add ``row_version = row_version + 1`` to an UPDATE of a table that has the counter."""
    if not state.is_update:
        return None
    statement: Any = state.statement
    table = getattr(statement, "table", None)
    columns = getattr(table, "c", None)
    if columns is None or VERSION_COLUMN not in columns:
        return None
    if any(getattr(key, "key", key) == VERSION_COLUMN for key in set_keys_of(statement)):
        return None
    column = columns[VERSION_COLUMN]
    params = state.parameters
    mapper = state.bind_mapper
    if (
        state.is_orm_statement
        and isinstance(params, list)
        and mapper is not None
        and len(mapper.primary_key) == 1
    ):
        # The ORM's bulk UPDATE by primary key wants each row's version in its parameters
        # (version_id_col) and raises it itself.
        return _with_current_versions(state, mapper, params)
    state.statement = statement.values({column: column + 1})
    return None


def _with_current_versions(state: ORMExecuteState, mapper: Any, rows: list[Any]) -> Any:
    """Give each row of an ORM bulk UPDATE by primary key the version it has now.

    The ORM then checks it (``WHERE row_version = :current``) and writes the next one, as it
    does for a flushed object; the rows are locked while read on PostgreSQL, so the check
    cannot fail for a change made in between.
    """
    (pk,) = mapper.primary_key
    key = pk.key
    column = mapper.local_table.c[VERSION_COLUMN]
    ids = [row[key] for row in rows]
    current: dict[Any, int] = {}
    for start in range(0, len(ids), 1000):
        found = state.session.execute(
            select(pk, column).where(pk.in_(ids[start : start + 1000])).with_for_update()
        )
        current.update({row[0]: row[1] for row in found})
    batch = [{**row, VERSION_COLUMN: current.get(row[key], 1)} for row in rows]
    return state.invoke_statement(params=batch)


def set_keys_of(statement: Any) -> list[Any]:
    """The columns (or their keys) an UPDATE statement SETs."""
    values = getattr(statement, "_values", None) or {}
    multi = getattr(statement, "_ordered_values", None) or ()
    return [*values, *(key for key, _value in multi)]


_installed = False


def install() -> None:
    """Listen on every Session, ahead of the audit trail's hook so it records the new version."""
    global _installed
    if _installed:
        return
    event.listen(Session, "do_orm_execute", _bump_versions, insert=True)
    _installed = True
