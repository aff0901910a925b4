"""The append-only audit trail, written at the session level so nothing slips past it.

Why the session and not the screens: Flask-Admin's bulk ``@action`` methods, the ``flask``
commands and the set-based services never call ``on_model_change``, so a trail built in views
would miss exactly the changes that touch most rows. Two hooks on SQLAlchemy's ``Session`` class
cover every path:

* ``before_flush`` / ``after_flush`` see each ORM object the unit of work inserts, updates or
  deletes and write one ``audit_log`` row per record with the changed fields
  ``{field: [old, new]}``;
* ``do_orm_execute`` sees every INSERT/UPDATE/DELETE statement run through
  ``Session.execute`` (the set-based services' ``session.execute(update(...))``, the imports'
  INSERT ... SELECT) and writes one row per record it touched: for UPDATE and DELETE the rows
  its WHERE clause matches are read before and after, for INSERT ... SELECT the new keys are
  returned and the rows read back, for an executemany each parameter set is a row; the
  record's fields, old and new, marked ``"_statement"``. Only a statement whose rows cannot be
  told keeps one summary row (``record_id "*"``). Where it can, the database builds those
  rows itself from the records (services/audit_sql.py: one INSERT ... SELECT, the same rows),
  so bulk work does not carry tens of thousands of them through Python. Hooking the session
  means a service cannot forget; statements run on a raw ``Connection`` bypass the session and
  are not recorded, so services must use ``db.session.execute``.

A deleted personal record (services/redaction.py's `PERSONAL`) is the exception to "old
values": its delete row names the record with the personal fields redacted, and the trail's
earlier rows about it are redacted the sanctioned way, in the same transaction (issue 16, UK
GDPR Art. 17: deleting a pupil used to copy their whole record into the trail for ever).

Rows are written through the flush's own connection, so they commit or roll back with the
change they describe. Who acted: the signed-in user in a request; a command or service names
its user with ``acting_user("username")``; otherwise "system".
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import operator
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time
from decimal import Decimal
from itertools import repeat
from typing import Any, cast

from sqlalchemy import and_, bindparam, event, insert, inspect, or_, select, text
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.attributes import NO_VALUE
from sqlalchemy.sql.dml import Delete, Insert, Update
from sqlalchemy.sql.elements import BindParameter

from models.audit import AuditLog
from models.base import VERSION_COLUMN, utcnow
from models.enums import AuditAction
from services import audit_sql, redaction
from services.record_versions import set_keys_of
from services.redaction import PERSONAL_FIELDS, redact_changes, words_of

AUDIT_TABLE = AuditLog.__tablename__
MASK = "***"
# Never copied into the trail: the trail is readable by every supervisor.
MASKED_FIELDS = frozenset({"password_hash"})
# Bookkeeping the row itself already carries; listing it on every update is noise.
IGNORED_FIELDS = frozenset({"updated_at", "created_at", "row_version"})  # bookkeeping
BULK_RECORD_ID = "*"
# A large value the row stores beside its own digest (a decision's facts and facts_hash): a new
# row's trail gives the digest, which proves what was stored (the decision row is never edited
# in place, and a changed copy no longer matches), rather than a second copy of the child's
# personal facts in an append-only table (UK GDPR Art. 5(1)(c), data minimisation).
DIGESTED_FIELDS: dict[str, dict[str, str]] = {"eligibility_decision": {"facts": "facts_hash"}}
# In a trail row written for a set-based statement: which kind of statement it was.
STATEMENT_KEY = "_statement"


@dataclasses.dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str


SYSTEM = Actor(None, "system")
_acting: ContextVar[Actor | None] = ContextVar("audit_acting_user", default=None)


@contextmanager
def acting_user(username: str, user_id: int | None = None) -> Iterator[Actor]:
    """Attribute every change made inside the block to `username` (commands, services)."""
    actor = Actor(user_id, username)
    token = _acting.set(actor)
    try:
        yield actor
    finally:
        _acting.reset(token)


# Who is signed in, asked of the web layer (infra/audit_actor.py installs it): services never
# import Flask, so the request's user reaches the trail through this one seam.
RequestActor = Callable[[Session | None], "Actor | None"]
_request_actor: RequestActor | None = None


def set_request_actor(lookup: RequestActor | None) -> None:
    """Install the web layer's "who is signed in" lookup (None outside a request)."""
    global _request_actor
    _request_actor = lookup


def current_actor(session: Session | None = None) -> Actor:
    """The explicit actor if a block named one, else the signed-in user, else "system"."""
    actor = _acting.get()
    if actor is not None:
        return actor
    if _request_actor is not None:
        signed_in = _request_actor(session)
        if signed_in is not None:
            return signed_in
    return SYSTEM


# Values JSON holds as they are, told by their exact type: the trail converts hundreds of
# thousands of values in a bulk run, and most are these.
_PLAIN_TYPES = frozenset({type(None), bool, int, str, float})


def json_safe(value: Any) -> Any:
    """Decimal as its exact string, dates ISO 8601, enums by value: JSON without loss."""
    if type(value) in _PLAIN_TYPES:
        return value
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        if all(type(k) is str and type(v) in _PLAIN_TYPES for k, v in value.items()):
            return dict(value)  # JSON already (a decision's facts): copied, not walked
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return str(value)


def _audited(obj: object) -> bool:
    table = getattr(obj, "__tablename__", None)
    return table is not None and table != AUDIT_TABLE and getattr(obj, "__audit__", True)


def _shown(key: str, value: Any) -> Any:
    return MASK if key in MASKED_FIELDS and value is not None else json_safe(value)


def _record_id(obj: object) -> str:
    # During after_flush a new object has its primary key but no identity key yet.
    state = inspect(obj)
    key = state.mapper.primary_key_from_instance(obj)
    if not key or any(part is None for part in key):
        key = list(state.identity or ())
    return ",".join(str(part) for part in key) or "?"


def _column_keys(obj: object) -> list[str]:
    return [attr.key for attr in inspect(obj).mapper.column_attrs]


def _update_changes(obj: object, stored: dict[str, Any]) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for key in _column_keys(obj):
        if key in IGNORED_FIELDS:
            continue
        history = state.attrs[key].history
        if not history.added and not history.deleted:
            continue
        old = history.deleted[0] if history.deleted else stored.get(key)
        new = history.added[0] if history.added else None
        if old == new:
            continue
        changes[key] = [_shown(key, old), _shown(key, new)]
    return changes


def _stored_values(session: Session, objects: list[object]) -> dict[int, dict[str, Any]]:
    """Old values of attributes set while expired (e.g. after a commit), one SELECT per table.

    Without this an update made after ``commit()`` would be recorded as ``[None, new]``.
    """
    wanted: dict[Any, list[object]] = {}
    for obj in objects:
        state = inspect(obj)
        if len(state.mapper.primary_key) != 1:
            continue
        if any(key not in state.dict for key in _column_keys(obj)):
            wanted.setdefault(state.mapper, []).append(obj)
    found: dict[int, dict[str, Any]] = {}
    for mapper, objs in wanted.items():
        pk = mapper.primary_key[0]
        by_pk = {mapper.primary_key_from_instance(o)[0]: o for o in objs}
        attrs = [a for a in mapper.column_attrs if a.key not in IGNORED_FIELDS]
        query = select(*(a.columns[0] for a in attrs)).where(pk.in_(list(by_pk)))
        for row in session.connection().execute(query):
            values = {a.key: row[i] for i, a in enumerate(attrs)}
            obj = by_pk.get(values.get(mapper.get_property_by_column(pk).key))
            if obj is not None:
                found[id(obj)] = values
    return found


def _digest_of(digest: Any) -> str | None:
    return None if digest is None else f"sha256:{digest}"


def _snapshot(obj: object, *, as_new: bool) -> dict[str, list[Any]]:
    """Every loaded column: [None, value] for an insert, [value, None] for a delete."""
    state = inspect(obj)
    digested = DIGESTED_FIELDS.get(state.mapper.local_table.name, {}) if as_new else {}
    changes: dict[str, list[Any]] = {}
    for key in _column_keys(obj):
        if key in IGNORED_FIELDS:
            continue
        value = state.dict.get(key, NO_VALUE)
        if value is NO_VALUE:
            continue
        if key in digested and state.dict.get(digested[key]) is not None:
            value = _digest_of(state.dict[digested[key]])
        shown = _shown(key, value)
        changes[key] = [None, shown] if as_new else [shown, None]
    return changes


_PENDING_KEY = "audit_pending"
_CASCADED_KEY = "audit_cascaded"
_REDACT_KEY = "audit_redact_deleted"


def _foreign_keys(obj: object) -> list[str]:
    """Attribute keys of the columns that hold a relationship's foreign key."""
    mapper = inspect(obj).mapper
    return [
        attr.key
        for attr in mapper.column_attrs
        if any(column.foreign_keys for column in attr.columns)
    ]


def _relationship_neighbours(obj: object) -> list[object]:
    """Rows added to or removed from `obj`'s collections: the flush rewrites their keys.

    ``route.schools.remove(link)`` changes no attribute of ``link`` itself when there is no
    back-reference, yet the flush sets its ``route_id``; it must be captured before the flush.
    """
    state = inspect(obj)
    found: list[object] = []
    for rel in state.mapper.relationships:
        if rel.viewonly or not rel.uselist:
            continue
        history = state.attrs[rel.key].history
        found.extend(history.added or ())
        found.extend(history.deleted or ())
    return found


def _before_flush(session: Session, _ctx: UOWTransaction, _instances: object) -> None:
    """Capture old values now: after the flush the history is gone.

    A relationship's foreign key is filled in by the flush itself (``application.school =
    other`` sets ``school_id`` only then), so the keys' values are kept here and compared with
    what the flush wrote in `_after_flush` (issue 18: relationship changes were not audited).
    """
    rows: list[tuple[AuditAction, object, dict[str, Any], dict[str, Any]]] = []
    for obj in session.new:
        if _audited(obj):
            rows.append((AuditAction.INSERT, obj, {}, {}))
    dirty = [
        obj
        for obj in session.dirty
        if _audited(obj) and session.is_modified(obj, include_collections=False)
    ]
    seen = {id(obj) for obj in dirty}
    for parent in list(session.dirty):
        for child in _relationship_neighbours(parent):
            state = inspect(child)
            fresh = id(child) not in seen and child not in session.deleted
            if fresh and state.persistent and _audited(child):
                dirty.append(child)
                seen.add(id(child))
    stored = _stored_values(session, dirty) if dirty else {}
    for obj in dirty:
        before = stored.get(id(obj), {})
        changes = _update_changes(obj, before)
        state = inspect(obj)
        keys = {key: state.dict.get(key, before.get(key)) for key in _foreign_keys(obj)}
        for key in keys:
            history = state.attrs[key].history
            if history.deleted:
                keys[key] = history.deleted[0]
        rows.append((AuditAction.UPDATE, obj, changes, keys))
    deleted = [obj for obj in session.deleted if _audited(obj)]
    stored_deleted = _stored_values(session, deleted) if deleted else {}
    deleting = {(obj.__tablename__, _record_id(obj)) for obj in deleted}
    cascaded: list[dict[str, Any]] = []
    for obj in deleted:
        snapshot: dict[str, Any] = {
            key: [_shown(key, value), None]
            for key, value in stored_deleted.get(id(obj), {}).items()
        }
        snapshot.update(_snapshot(obj, as_new=False))
        record_id = _record_id(obj)
        snapshot = _deleted_record(session, obj.__tablename__, record_id, snapshot)
        rows.append((AuditAction.DELETE, obj, {**snapshot, "_id": record_id}, {}))
        cascaded.extend(_cascaded_deletes(session, obj, deleting))
    if rows:
        session.info.setdefault(_PENDING_KEY, []).extend(rows)
    if cascaded:
        session.info.setdefault(_CASCADED_KEY, []).extend(cascaded)


def _deleted_record(
    session: Session, table_name: str, record_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """A deleted record's trail row keeps no personal values (issue 16, UK GDPR Art. 17).

    Its personal fields are redacted as anonymising redacts them (services/redaction.py), and
    the record, with the values it held, is noted so that the trail's earlier rows about it
    and any text carrying those values are redacted after the flush, the same sanctioned way.
    """
    if table_name not in PERSONAL_FIELDS:
        return changes
    pending = session.info.setdefault(_REDACT_KEY, ([], set()))
    pending[0].append((table_name, record_id))
    old = {k: v[0] for k, v in changes.items() if isinstance(v, list) and v}
    pending[1].update(words_of(table_name, old))
    return redact_changes(table_name, changes)


@functools.cache
def _cascading_children(table: Any) -> tuple[tuple[Any, Any], ...]:
    """(child table, foreign key column) for each key that the database deletes with `table`."""
    found = []
    for child in table.metadata.tables.values():
        if child.name == AUDIT_TABLE:
            continue
        for fk in child.foreign_keys:
            if (fk.ondelete or "").upper() == "CASCADE" and fk.column.table is table:
                found.append((child, fk.parent))
    return tuple(found)


def _cascaded_deletes(
    session: Session, obj: object, deleting: set[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Rows the database deletes with `obj` (ON DELETE CASCADE) that the session does not.

    A pupil's home access point goes with the pupil without the ORM seeing it; it gets its
    delete row here, redacted like any other personal record's.
    """
    mapper = inspect(obj).mapper
    if len(mapper.primary_key) != 1:
        return []
    key = mapper.primary_key_from_instance(obj)[0]
    found = []
    for child, column in _cascading_children(mapper.local_table):
        pk = list(child.primary_key.columns)
        for row in session.connection().execute(select(*child.columns).where(column == key)):
            record_id = ",".join(str(row._mapping[c]) for c in pk)
            if (child.name, record_id) in deleting:
                continue
            changes: dict[str, Any] = dict(_row_changes(tuple(child.columns), row, None))
            changes["_deleted_with"] = f"{mapper.local_table.name} {key}"
            found.append(
                {
                    "action": AuditAction.DELETE,
                    "table_name": child.name,
                    "record_id": record_id[:60],
                    "changes": _deleted_record(session, child.name, record_id, changes),
                }
            )
    return found


def _redact_deleted(session: Session, actor: Actor) -> None:
    """Redact the trail about the records just deleted (`_deleted_record`), if any."""
    pending = session.info.pop(_REDACT_KEY, None)
    if pending and pending[0]:
        redaction.redact(
            session.connection(),
            pupil_id=None,
            records=pending[0],
            words=pending[1],
            user_id=actor.user_id,
            username=actor.username,
        )


def _key_changes(obj: object, before: dict[str, Any]) -> dict[str, list[Any]]:
    """Foreign keys the flush changed: compare what it wrote with what was there before."""
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for key, old in before.items():
        new = state.dict.get(key, NO_VALUE)
        if new is NO_VALUE or new == old:
            continue
        changes[key] = [json_safe(old), json_safe(new)]
    return changes


def _after_flush(session: Session, _ctx: UOWTransaction) -> None:
    """Ids of new rows exist now; write the trail on the flush's own connection."""
    pending = session.info.pop(_PENDING_KEY, None)
    cascaded = session.info.pop(_CASCADED_KEY, None)
    if not pending:
        return
    actor = current_actor(session)
    now = utcnow()
    values = []
    for action, obj, changes, keys_before in pending:
        if action is AuditAction.INSERT:
            record_id = _record_id(obj)
            changes = _snapshot(obj, as_new=True)
        elif action is AuditAction.DELETE:
            changes = dict(changes)
            record_id = str(changes.pop("_id"))
        else:
            changes = {**_key_changes(obj, keys_before), **changes}
            if not changes:
                continue
            record_id = _record_id(obj)
        values.append(
            {
                "at": now,
                "user_id": actor.user_id,
                "username": actor.username[:60],
                "action": action,
                "table_name": obj.__tablename__,
                "record_id": record_id[:60],
                "changes": changes,
            }
        )
    for entry in cascaded or ():
        values.append(
            {"at": now, "user_id": actor.user_id, "username": actor.username[:60], **entry}
        )
    if values:
        session.connection().execute(insert(AuditLog), values)
    _redact_deleted(session, actor)


def _after_rollback(session: Session) -> None:
    for key in (_PENDING_KEY, _CASCADED_KEY, _REDACT_KEY):
        session.info.pop(key, None)


_KINDS = {Insert: AuditAction.INSERT, Update: AuditAction.UPDATE, Delete: AuditAction.DELETE}


def _statement_summary(state: ORMExecuteState, rows: int) -> dict[str, Any] | None:
    statement = state.statement
    kind = next((k for cls, k in _KINDS.items() if isinstance(statement, cls)), None)
    if kind is None:
        return None
    table = getattr(statement, "table", None)
    name = getattr(table, "name", None)
    if name is None or name == AUDIT_TABLE:
        return None
    summary: dict[str, Any] = {"bulk": True, "statement": kind.value.upper(), "rows": rows}
    set_columns = [
        getattr(col, "key", str(col)) for col in getattr(statement, "_values", None) or {}
    ]
    if set_columns:
        summary["columns"] = sorted(set_columns)
    where = getattr(statement, "whereclause", None)
    if where is not None:
        summary["where"] = str(where)[:500]
    if isinstance(state.parameters, dict):
        summary["parameters"] = {
            k: _shown(k, v) for k, v in state.parameters.items() if k not in MASKED_FIELDS
        }
    return {"action": kind, "table_name": name, "changes": summary}


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _rows_by_key(
    state: ORMExecuteState, table: Any, where: Any, columns: tuple[Any, ...]
) -> dict[tuple[Any, ...], Any]:
    """The rows a statement will touch (their `columns`), keyed by primary key, read on the
    same connection."""
    pk = list(table.primary_key.columns)
    if not pk:
        return {}
    connection = state.session.connection()
    # An executemany's keys are read a chunk at a time (SQLite allows 32,766 parameters).
    wheres = [pk[0].in_(c) for c in _chunks(where)] if isinstance(where, list) else [where]
    params = state.parameters if isinstance(state.parameters, dict) else {}
    found: dict[tuple[Any, ...], Any] = {}
    for clause in wheres:
        query = select(*columns).where(clause)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()  # the UPDATE would lock them anyway
        for row in connection.execute(query, params):
            found[_key_of(columns, row)] = row
    return found


def _read_columns(state: ORMExecuteState, table: Any) -> tuple[Any, ...]:
    """The columns whose old and new values a statement's trail rows need: for an UPDATE
    whose SET is known, the key, the columns it sets and those the database or the model
    change on every update (onupdate, the row version); for any other statement, all."""
    statement: Any = state.statement
    set_keys = {getattr(key, "key", key) for key in set_keys_of(statement)}
    params = state.parameters
    if state.is_update and not set_keys and isinstance(params, list) and params:
        set_keys = set(params[0])  # an executemany by primary key sets its parameters' keys
    if not state.is_update or not set_keys:
        return tuple(table.columns)
    return tuple(
        column
        for column in table.columns
        if column.primary_key
        or column.key in set_keys
        or column.onupdate is not None
        or column.server_onupdate is not None
        or column.key == VERSION_COLUMN
    )


@functools.cache
def _key_positions(columns: tuple[Any, ...]) -> tuple[int, ...]:
    """Where the table's primary key columns are in `columns`, in the key's own order."""
    listed = list(columns)
    return tuple(listed.index(c) for c in columns[0].table.primary_key.columns)


def _key_of(columns: tuple[Any, ...], row: Any) -> tuple[Any, ...]:
    """The primary key of a row of ``select(*columns)``."""
    return tuple(row[i] for i in _key_positions(columns))


def _where_for(state: ORMExecuteState, table: Any) -> Any:
    """The statement's WHERE clause, or for an executemany by primary key the keys it names
    (a list, read in chunks by `_rows_by_key`)."""
    statement = state.statement
    where = getattr(statement, "whereclause", None)
    params = state.parameters
    if isinstance(params, list):
        pk = list(table.primary_key.columns)
        if len(pk) != 1:
            return None
        key = pk[0].key
        if where is not None:
            # ``WHERE id = :b_id`` run once per parameter set (imports.reading.bulk_update):
            # the keys are the parameter's values (issue 16: a house move by import was one
            # summary row with no ids and no values).
            right = getattr(where, "right", None)
            if not (
                getattr(where, "operator", None) is operator.eq
                and getattr(where, "left", None) is pk[0]
                and isinstance(right, BindParameter)
            ):
                return None
            key = right.key
        if not all(key in p for p in params):
            return None
        return [p[key] for p in params]
    return where


def _row_changes(
    columns: tuple[Any, ...], old: Any | None, new: Any | None, only: set[str] | None = None
) -> dict[str, list[Any]]:
    """`old` and `new` are rows of ``select(*columns)``: read by position."""
    changes: dict[str, list[Any]] = {}
    for i, key in _compared_columns(columns):
        if only is not None and key not in only:
            continue
        before = None if old is None else old[i]
        after = None if new is None else new[i]
        if old is not None and new is not None and before == after:
            continue
        changes[key] = [_shown(key, before), _shown(key, after)]
    return changes


@functools.cache
def _compared_columns(columns: tuple[Any, ...]) -> list[tuple[int, str]]:
    """(position, key) of the columns a trail row lists: not the bookkeeping."""
    return [(i, column.key) for i, column in enumerate(columns) if column.key not in IGNORED_FIELDS]


def _per_row_trail(
    state: ORMExecuteState,
    table: Any,
    action: AuditAction,
    before: dict[tuple[Any, ...], Any],
    extra: dict[str, Any],
    columns: tuple[Any, ...],
) -> list[dict[str, Any]]:
    """One trail row per record a set-based UPDATE or DELETE touched: fields, old and new
    (`before` holds the rows' `columns`, `_read_columns`)."""
    after: dict[tuple[Any, ...], Any] = {}
    if action is AuditAction.UPDATE and before:
        pk = list(table.primary_key.columns)
        connection = state.session.connection()
        for chunk in _chunks(list(before)):
            if len(pk) == 1:
                where = pk[0].in_([key[0] for key in chunk])
            else:
                where = or_(
                    *(and_(*(c == v for c, v in zip(pk, key, strict=True))) for key in chunk)
                )
            for row in connection.execute(select(*columns).where(where)):
                after[_key_of(columns, row)] = row
    values = []
    for key, old in before.items():
        if action is AuditAction.DELETE:
            changes = _row_changes(columns, old, None)
        else:
            changes = _row_changes(columns, old, after.get(key))
            if not changes:
                continue
        values.append(
            {
                "action": action,
                "table_name": table.name,
                "record_id": ",".join(str(part) for part in key)[:60],
                "changes": {**changes, **extra},
            }
        )
    return values


def _inserted_rows(
    state: ORMExecuteState, table: Any, assigned: list[Any] | None
) -> list[dict[str, Any]] | None:
    """An executemany INSERT's rows, each with its values (and the key the database assigned,
    in `assigned`, when the rows named none); None when they cannot be told.

    Converted a column at a time, and each row's ``{field: (None, value)}`` made by zipping
    (a pair is a JSON array as a list is): a bulk run inserts tens of thousands of rows."""
    params = state.parameters
    if not isinstance(params, list) or not params:
        return None
    first = params[0].keys()
    keys = assigned or ["new"] * len(params)
    if any(values.keys() != first for values in params):
        return [
            entry
            for values, key in zip(params, keys, strict=True)
            for entry in _inserted_rows_of(table, [values], [key])
        ]
    return _inserted_rows_of(table, params, keys)


def _converted(column: list[Any], convert: Callable[[Any], Any]) -> list[Any]:
    """`convert` applied to each value, once per distinct value: a bulk statement's column
    mostly repeats a few (an enum, today's date, the statement's timestamp)."""
    done: dict[tuple[type, Any], Any] = {}
    out = []
    for value in column:
        try:
            key = (type(value), value)
            found = done.get(key, done)
        except TypeError:  # unhashable (a JSON column's dict): converted as it is
            out.append(convert(value))
            continue
        if found is done:
            found = done[key] = convert(value)
        out.append(found)
    return out


def _inserted_rows_of(
    table: Any, params: list[dict[str, Any]], assigned: list[Any]
) -> list[dict[str, Any]]:
    """`_inserted_rows` for parameter sets that all name the same columns."""
    keys = [k for k in params[0] if k not in IGNORED_FIELDS]
    digested = DIGESTED_FIELDS.get(table.name, {})
    columns = []
    for k in keys:
        digest = digested.get(k)
        if digest in params[0]:
            columns.append([_digest_of(values[digest]) for values in params])
            continue
        column = [values[k] for values in params]
        if k in MASKED_FIELDS or any(type(v) not in _PLAIN_TYPES for v in column):
            column = _converted(column, functools.partial(_shown, k))
        columns.append(column)
    pk = [c.key for c in table.primary_key.columns]
    keyed = [[values.get(k, new) for values, new in zip(params, assigned, strict=True)] for k in pk]
    records = [",".join(str(part) for part in parts)[:60] for parts in zip(*keyed, strict=True)]
    if not pk:
        records = [""] * len(params)
    rows = list(zip(*columns, strict=True)) if columns else [()] * len(params)
    return [
        {
            "action": AuditAction.INSERT,
            "table_name": table.name,
            "record_id": record,
            "changes": {
                **dict(zip(keys, zip(repeat(None), row, strict=False), strict=True)),
                STATEMENT_KEY: "insert",
            },
        }
        for record, row in zip(records, rows, strict=True)
    ]


def _rows_inserted_by_select(
    state: ORMExecuteState, table: Any, keys: list[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """Each row an INSERT ... SELECT added, read back by its key, with all its values (built
    a column at a time, as an executemany's are: an import adds tens of thousands)."""
    pk = list(table.primary_key.columns)
    columns = tuple(table.columns)
    names = [c.key for c in columns]
    connection = state.session.connection()
    found: list[dict[str, Any]] = []
    for chunk in _chunks(keys):
        if len(pk) == 1:
            where = pk[0].in_([key[0] for key in chunk])
        else:
            where = or_(*(and_(*(c == v for c, v in zip(pk, k, strict=True))) for k in chunk))
        found.extend(
            dict(zip(names, row, strict=True))
            for row in connection.execute(select(*columns).where(where))
        )
    return _inserted_rows_of(table, found, ["new"] * len(found)) if found else []


def _keys_left_to_the_database(state: ORMExecuteState, pk: list[Any]) -> bool:
    """An executemany INSERT of new rows whose single-column key the database will assign."""
    params = state.parameters
    return (
        state.is_insert
        and len(pk) == 1
        and isinstance(params, list)
        and bool(params)
        and isinstance(params[0], dict)
        and pk[0].key not in params[0]
        and not getattr(state.statement, "_returning", ())
        and getattr(state.statement, "select", None) is None
    )


def _reserved_keys(state: ORMExecuteState, table: Any, key: Any) -> list[Any] | None:
    """On PostgreSQL, one new key per parameter set from the key column's sequence (None
    elsewhere, or when the column has none): the values the rows would have been given."""
    connection = state.session.connection()
    if connection.dialect.name != "postgresql":
        return None
    sequence = connection.execute(
        text("SELECT pg_get_serial_sequence(:table, :column)"),
        {"table": table.name, "column": key.name},
    ).scalar()
    params = state.parameters
    if sequence is None or not isinstance(params, list):
        return None
    return list(
        connection.execute(
            text("SELECT nextval(:sequence) FROM generate_series(1, :n)"),
            {"sequence": sequence, "n": len(params)},
        ).scalars()
    )


def _sqlite_rowid_key(state: ORMExecuteState, key: Any) -> bool:
    """On SQLite, a plain INSERT whose key is the table's rowid (a single INTEGER PRIMARY KEY
    column): each parameter set makes exactly one row, or the statement fails."""
    connection = state.session.connection()
    statement: Any = state.statement
    if connection.dialect.name != "sqlite" or statement._prefixes or statement._post_values_clause:
        return False  # INSERT OR IGNORE, ON CONFLICT: a parameter set may insert no row
    return bool(connection.dialect.type_compiler_instance.process(key.type) == "INTEGER")


def _sqlite_keys_just_assigned(state: ORMExecuteState, rows: int) -> list[int]:
    """The keys SQLite gave the `rows` rows the executemany INSERT just made: a rowid key
    left to SQLite is one more than the largest in the table, and the transaction holds the
    database's write lock from its first row to its last, so the keys run without a gap up to
    `last_insert_rowid()` (https://sqlite.org/autoinc.html). Asking for them instead with a
    RETURNING in parameter order cost more than the INSERT itself."""
    connection = state.session.connection()
    last = int(connection.execute(text("SELECT last_insert_rowid()")).scalar_one())
    return list(range(last - rows + 1, last + 1))


def _do_orm_execute(state: ORMExecuteState) -> Any:
    """Run an INSERT/UPDATE/DELETE statement and record what it changed, record by record.

    UPDATE and DELETE: the rows the WHERE clause matches are read first (locked on
    PostgreSQL), and after the statement the same rows again, so each record gets a trail row
    with the fields that changed, old and new (issue 16: a bulk statement used to leave one
    row with no ids and no values). An executemany INSERT records each row's values; any
    other statement (INSERT ... SELECT) keeps the one summary row.
    """
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    statement = state.statement
    table = getattr(statement, "table", None)
    if getattr(table, "name", None) in (None, AUDIT_TABLE):
        return None
    actor = current_actor(state.session)
    shared = {"at": utcnow(), "user_id": actor.user_id, "username": actor.username[:60]}
    if state.is_update:
        if isinstance(state.parameters, list):
            built = _update_many_trail_by_database(state, table, shared)
        else:
            built = _update_trail_by_database(state, table, shared)
        if built is not None:
            return _run_after_its_trail(state, built)
    before: dict[tuple[Any, ...], Any] | None = None
    if state.is_update or state.is_delete:
        where = _where_for(state, table)
        if where is not None:
            read = _read_columns(state, table)
            before = _rows_by_key(state, table, where, read)
    inserted_keys: list[tuple[Any, ...]] | None = None
    assigned: list[Any] | None = None  # the keys the database gave an executemany INSERT
    assert table is not None  # a statement naming no table returned above
    pk = list(table.primary_key.columns)
    if (
        state.is_insert
        and getattr(statement, "select", None) is not None
        and not getattr(statement, "_returning", ())
        and pk
    ):
        # INSERT ... SELECT: ask for the new keys, so each new row is recorded (issue 16).
        # The caller gets the keys back as rows (a count is len(rows): services.seats.common).
        returning = cast(Insert, statement).returning(*pk)
        frozen = state.invoke_statement(statement=returning).freeze()
        inserted_keys = [tuple(row) for row in frozen().all()]
        result = frozen()
    elif _keys_left_to_the_database(state, pk):
        # An executemany INSERT whose keys the database assigns: each trail row must name its
        # record (issue 16), not "new". On PostgreSQL the keys are drawn from the column's own
        # sequence first and given to the rows (a RETURNING doubles a 25,000-row INSERT); on
        # SQLite a rowid key runs on to `last_insert_rowid()`; otherwise they are asked for,
        # in the order of the parameter sets.
        assigned = _reserved_keys(state, table, pk[0])
        if assigned:
            result = state.invoke_statement(params=[{pk[0].key: key} for key in assigned])
        elif _sqlite_rowid_key(state, pk[0]):
            result = state.invoke_statement()
            assigned = _sqlite_keys_just_assigned(state, len(cast(list[Any], state.parameters)))
        else:
            returning = cast(Insert, statement).returning(*pk, sort_by_parameter_order=True)
            frozen = state.invoke_statement(statement=returning).freeze()
            assigned = [row[0] for row in frozen().all()]
            result = frozen()
    else:
        result = state.invoke_statement()
    params = state.parameters
    if isinstance(params, list) and params and (state.is_insert or state.is_update):
        # An executemany (bulk insert, or the ORM's bulk UPDATE by primary key) reports no
        # rowcount of its own; one parameter set is one row.
        rows = len(params)
    else:
        rowcount = getattr(result, "rowcount", None)
        rows = rowcount if rowcount is not None else -1
    entries: list[dict[str, Any]] | None
    if before is not None:
        kind = AuditAction.UPDATE if state.is_update else AuditAction.DELETE
        entries = _per_row_trail(state, table, kind, before, {STATEMENT_KEY: kind.value}, read)
    elif _insert_trail_by_database(state, table, inserted_keys, assigned, shared):
        return result
    elif inserted_keys is not None:
        entries = _rows_inserted_by_select(state, table, inserted_keys)
    elif state.is_insert:
        entries = _inserted_rows(state, table, assigned)
    else:
        entries = None
    if entries is None:
        summary = _statement_summary(state, rows)
        entries = [] if summary is None else [{"record_id": BULK_RECORD_ID, **summary}]
    if before is not None and state.is_delete:
        for entry in entries:
            entry["changes"] = _deleted_record(
                state.session, table.name, entry["record_id"], entry["changes"]
            )
    if entries:
        _insert_trail(state.session.connection(), shared, entries)
        _redact_deleted(state.session, actor)
    return result


def _update_trail_by_database(
    state: ORMExecuteState, table: Any, shared: dict[str, Any]
) -> Any | None:
    """The trail of a set-based UPDATE as one INSERT ... SELECT (services/audit_sql.py), or
    None to build it in Python."""
    statement: Any = state.statement
    if not audit_sql.enabled() or getattr(statement, "_ordered_values", None):
        return None
    return audit_sql.update_trail(
        state.session.connection().dialect.name,
        table,
        getattr(statement, "whereclause", None),
        dict(getattr(statement, "_values", None) or {}),
        shared=shared,
        ignored=IGNORED_FIELDS,
        masked=MASKED_FIELDS,
        statement_key=STATEMENT_KEY,
    )


def _update_many_trail_by_database(
    state: ORMExecuteState, table: Any, shared: dict[str, Any]
) -> Any | None:
    """The trail of an executemany ``UPDATE ... SET col = :param WHERE pk = :key`` (the
    imports' and the measurements' bulk updates) as one INSERT ... SELECT, or None."""
    statement: Any = state.statement
    params = state.parameters
    pk = list(table.primary_key.columns)
    where = getattr(statement, "whereclause", None)
    right = getattr(where, "right", None)
    if not (
        audit_sql.enabled()
        and isinstance(params, list)
        and params
        and len(pk) == 1
        and getattr(where, "operator", None) is operator.eq
        and getattr(where, "left", None) is pk[0]
        and isinstance(right, BindParameter)
        and not getattr(statement, "_ordered_values", None)
    ):
        return None
    new_params: dict[str, str] = {}
    for key, value in (getattr(statement, "_values", None) or {}).items():
        name = getattr(key, "key", key)
        if name in IGNORED_FIELDS:
            continue
        if not (isinstance(value, BindParameter) and value.required and value.key in params[0]):
            return None  # a value given once, or computed: read back in Python
        new_params[name] = value.key
    return audit_sql.update_many_trail(
        state.session.connection().dialect.name,
        table,
        right.key,
        new_params,
        cast(list[dict[str, Any]], params),
        shared=shared,
        ignored=IGNORED_FIELDS,
        masked=MASKED_FIELDS,
        statement_key=STATEMENT_KEY,
        shown=_shown,
    )


_TRAIL_AHEAD_KEY = "audit_trail_ahead_of_a_failed_statement"


def _run_after_its_trail(state: ORMExecuteState, trail: Any) -> Any:
    """Write an UPDATE's trail (which reads the old values), then run the UPDATE.

    Should the UPDATE fail, its trail rows are already written in the transaction; a session
    that then tried to commit without rolling back would keep a change that never happened,
    so it is refused (`_refuse_commit_after_failure`). Every handler here rolls back first."""
    connection = state.session.connection()
    params = state.parameters if isinstance(state.parameters, dict) else {}
    connection.execute(trail, params)
    try:
        return state.invoke_statement()
    except BaseException:
        state.session.info[_TRAIL_AHEAD_KEY] = True
        raise


def _forget_failure(session: Session, _previous: Any) -> None:
    session.info.pop(_TRAIL_AHEAD_KEY, None)  # rolled back, with the rows written ahead


def _refuse_commit_after_failure(session: Session) -> None:
    if session.info.get(_TRAIL_AHEAD_KEY):
        raise RuntimeError(
            "an UPDATE failed after its audit rows were written: roll back, not commit"
        )


def _insert_trail_by_database(
    state: ORMExecuteState,
    table: Any,
    inserted_keys: list[tuple[Any, ...]] | None,
    assigned: list[Any] | None,
    shared: dict[str, Any],
) -> bool:
    """Write an INSERT's trail as INSERT ... SELECTs over its new rows (services/audit_sql.py);
    False (nothing written) when it must be built in Python."""
    if not audit_sql.enabled() or not state.is_insert:
        return False
    pk = list(table.primary_key.columns)
    params = state.parameters
    rows: list[dict[str, Any]] | None = None
    if inserted_keys is not None:
        keys = [key[0] for key in inserted_keys]
    elif isinstance(params, list) and params and len(pk) == 1:
        rows = params
        keys = assigned if assigned is not None else [p.get(pk[0].key) for p in params]
    else:
        return False
    if len(pk) != 1 or not keys or any(key is None for key in keys):
        return False
    statement = audit_sql.insert_trail(
        state.session.connection().dialect.name,
        table,
        keys,
        rows,
        shared=shared,
        ignored=IGNORED_FIELDS,
        masked=MASKED_FIELDS,
        digested=DIGESTED_FIELDS.get(table.name, {}),
        statement_key=STATEMENT_KEY,
        shown=_shown,
    )
    if statement is None:
        return False
    state.session.connection().execute(statement)
    return True


_TRAIL_COLUMNS = ("at", "user_id", "username", "action", "table_name", "record_id", "changes")


def _insert_trail(connection: Any, shared: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """INSERT the trail rows (`shared` values, the same in each, and each row's own) as one
    driver-level executemany.

    A set-based statement over tens of thousands of records has as many trail rows; the
    statement is compiled once and each value converted by its column type's own bind
    processor (as a Core executemany does), without Core's per-row parameter handling."""
    table: Any = AuditLog.__table__
    dialect = connection.dialect
    compiled = (
        insert(table).values({c: bindparam(c) for c in _TRAIL_COLUMNS}).compile(dialect=dialect)
    )
    convert = [
        (c, table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) for c in _TRAIL_COLUMNS
    ]
    columns: dict[str, list[Any]] = {}
    for c, process in convert:
        if c in shared:
            value = shared[c] if process is None else process(shared[c])
            columns[c] = [value] * len(rows)
            continue
        column = [row.get(c) for row in rows]
        if process is not None:
            column = [process(v) for v in column] if c == "changes" else _converted(column, process)
        columns[c] = column
    if dialect.positional:
        order = compiled.positiontup or []
        params: list[Any] = list(zip(*(columns[c] for c in order), strict=True))
    else:
        params = [dict(zip(_TRAIL_COLUMNS, v, strict=True))
                  for v in zip(*(columns[c] for c in _TRAIL_COLUMNS), strict=True)]  # fmt: skip
    connection.exec_driver_sql(str(compiled), params)


# Reads and exports (issue 16): what a trail row about a read may carry, at most.
ACCESS_IDS_LIMIT = 1_000
ACCESS_TEXT_LIMIT = 200
ACCESS_ACTIONS = frozenset({AuditAction.READ, AuditAction.EXPORT, AuditAction.DOWNLOAD})


def record_access(
    action: AuditAction,
    table_name: str,
    *,
    what: str,
    record_ids: Sequence[Any] = (),
    rows: int | None = None,
    filters: dict[str, Any] | None = None,
    session: Session | None = None,
) -> None:
    """One trail row for a read, export or download of personal data: who, when, what.

    UK GDPR accountability (Art. 5(2), 30; issue 16: exporting 6,002 pupils wrote nothing).
    One row per request, never one per record, so a list page or an export costs one INSERT:
    the records' ids when they are few (a details page, a list page), otherwise the filters
    and the row count. With `session` the row is written on its connection and commits with
    the caller's work (a letter batch marked printed); without, the request's session commits
    it at once (a GET holds nothing else to commit), keeping what it has loaded.
    """
    if action not in ACCESS_ACTIONS:
        raise ValueError(f"{action} is not a read, export or download")
    ids = [json_safe(i) for i in record_ids]
    changes: dict[str, Any] = {"what": what[:ACCESS_TEXT_LIMIT]}
    if ids:
        changes["ids"] = ids[:ACCESS_IDS_LIMIT]
        if len(ids) > ACCESS_IDS_LIMIT:
            changes["ids_left_off"] = len(ids) - ACCESS_IDS_LIMIT
    if rows is not None:
        changes["rows"] = rows
    if filters:
        changes["filters"] = json_safe(filters)
    actor = current_actor(session)
    values = {
        "at": utcnow(),
        "user_id": actor.user_id,
        "username": actor.username[:60],
        "action": action,
        "table_name": table_name[:60],
        "record_id": (str(ids[0]) if len(ids) == 1 else BULK_RECORD_ID)[:60],
        "changes": changes,
    }
    if session is not None:
        session.connection().execute(insert(AuditLog), [values])
        return
    from models import db

    # The request's own session, committed at once without expiring what it has loaded (an
    # export's rows are not read again); a GET has nothing else to commit.
    own = db.session()
    own.connection().execute(insert(AuditLog), [values])
    expiring = own.expire_on_commit
    own.expire_on_commit = False
    try:
        own.commit()
    finally:
        own.expire_on_commit = expiring


_installed = False


def install() -> None:
    """Listen on every Session (Flask-SQLAlchemy's and any other); idempotent."""
    global _installed
    if _installed:
        return
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_rollback", _after_rollback)
    event.listen(Session, "after_soft_rollback", _forget_failure)
    event.listen(Session, "before_commit", _refuse_commit_after_failure)
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    _installed = True


@contextmanager
def append_only_guard_lifted(connection: Any) -> Iterator[None]:
    """Test teardown only: lift SQLite's append-only triggers while tables are emptied.

    PostgreSQL's teardown uses TRUNCATE, which row triggers do not see; SQLite has no TRUNCATE,
    so its triggers are dropped and re-created verbatim (from sqlite_master) around the DELETE.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    triggers = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
        (AUDIT_TABLE,),
    ).all()
    for name, _sql in triggers:
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    try:
        yield
    finally:
        for _name, sql in triggers:
            connection.exec_driver_sql(sql)
