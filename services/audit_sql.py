"""A set-based statement's trail rows, built by the database from the rows themselves.

A whole-year assessment, an import or a measurement run changes tens of thousands of records
in a handful of statements, and services/audit.py records each record (issue 16). Built in
Python, every one of those rows was read back, converted, JSON-encoded and sent again: a third
of a whole-year assessment's time. Here the same trail rows are one ``INSERT INTO audit_log
... SELECT`` over the records the statement touched, with each value rendered in SQL exactly
as `services.audit.json_safe` renders what the driver reads back (dates ISO 8601, Decimals to
their scale, booleans, JSON embedded, masked fields masked), so a trail row reads the same
whichever way it was written (tests/test_audit_by_database.py compares the two).

It covers the statements bulk work makes: an UPDATE whose SET values are given values, and
an INSERT (executemany or INSERT ... SELECT) whose new keys are known. Anything else (a SET
computed from the row, a column type not rendered here, a composite key) returns None and
the caller builds the rows in Python as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import BindParameter, ColumnElement, Null

from models.audit import AuditLog
from models.enums import AuditAction
from services.id_lists import in_ids

_by_database: ContextVar[bool] = ContextVar("audit_trail_by_database", default=True)


@contextmanager
def built_in_python() -> Iterator[None]:
    """Build every trail row in Python inside the block: the reference the database-built
    rows are compared with (tests/test_audit_by_database.py)."""
    token = _by_database.set(False)
    try:
        yield
    finally:
        _by_database.reset(token)


def enabled() -> bool:
    return _by_database.get()


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Keys per JSON object call: PostgreSQL's functions take at most 100 arguments.
_PAIRS_PER_CALL = 40


class _Dialect:
    """The JSON functions of one engine."""

    def __init__(self, name: str) -> None:
        self.postgresql = name == "postgresql"

    def obj(self, pairs: Sequence[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
        make = func.jsonb_build_object if self.postgresql else func.json_object
        parts = [
            make(*(x for key, value in pairs[i : i + _PAIRS_PER_CALL] for x in (_key(key), value)))
            for i in range(0, len(pairs), _PAIRS_PER_CALL)
        ]
        whole: ColumnElement[Any] = parts[0]
        for part in parts[1:]:
            whole = whole.op("||")(part) if self.postgresql else func.json_patch(whole, part)
        return whole

    def pair(self, old: ColumnElement[Any], new: ColumnElement[Any]) -> ColumnElement[Any]:
        return (func.jsonb_build_array if self.postgresql else func.json_array)(old, new)

    def embedded(self, json_text: str) -> ColumnElement[Any]:
        """A JSON value computed in Python, bound as text and embedded as JSON."""
        bound = literal(json_text, String)
        return cast(bound, JSONB) if self.postgresql else func.json(bound)

    def empty(self) -> ColumnElement[Any]:
        return literal_column("'{}'::jsonb") if self.postgresql else func.json("{}")

    def typed(self, value: ColumnElement[Any], type_: Any) -> ColumnElement[Any]:
        """A bound value of the trail's own columns; PostgreSQL wants its type spelled."""
        return cast(value, type_) if self.postgresql else value


def _key(name: str) -> ColumnElement[Any]:
    if not _NAME.match(name):
        raise ValueError(f"not a column name: {name!r}")
    return literal_column(f"'{name}'")


def _shown_sql(
    d: _Dialect, column: Any, expr: ColumnElement[Any], masked: frozenset[str]
) -> ColumnElement[Any] | None:
    """`services.audit._shown` of the value `expr` holds as stored in `column`, in SQL."""
    if column.key in masked:
        return case((expr.is_(None), null()), else_=literal_column("'***'"))
    kind = column.type
    if isinstance(kind, Boolean):
        if d.postgresql:
            return expr
        return case(
            (expr.is_(None), null()),
            (cast(expr, Integer) == 0, func.json("false")),
            else_=func.json("true"),
        )
    if isinstance(kind, DateTime):
        return _iso_datetime(d, expr, bool(kind.timezone))
    if isinstance(kind, Date | Enum | Integer | String | Text):  # Enum stores its value
        return expr
    if isinstance(kind, Numeric) and kind.asdecimal and kind.scale is not None:
        if d.postgresql:
            return cast(cast(expr, kind), Text)
        return case((expr.is_(None), null()), else_=func.printf(f"%.{int(kind.scale)}f", expr))
    if isinstance(kind, JSON):
        return cast(expr, JSONB) if d.postgresql else func.json(expr)
    if isinstance(kind, LargeBinary):
        size = func.octet_length(expr) if d.postgresql else func.length(expr)
        return (
            literal_column("'<'").op("||")(cast(size, Text)).op("||")(literal_column("' bytes>'"))
        )
    return None  # Time, Float, ...: built in Python


def _iso_datetime(d: _Dialect, expr: ColumnElement[Any], aware: bool) -> ColumnElement[Any]:
    """`datetime.isoformat()` of what the driver reads back: PostgreSQL gives the session's
    time zone; SQLite keeps ``YYYY-MM-DD HH:MM:SS.ffffff``, read back naive. The fraction is
    left out when it is zero, as isoformat leaves it out."""
    if d.postgresql:
        micro = func.to_char(expr, literal_column("'US'"))
        text = func.to_char(expr, literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'")).op("||")(
            case(
                (micro == literal_column("'000000'"), literal_column("''")),
                else_=literal_column("'.'").op("||")(micro),
            )
        )
        return text.op("||")(func.to_char(expr, literal_column("'TZH:TZM'"))) if aware else text
    return case(
        (expr.is_(None), null()),
        (
            func.substr(expr, 20).in_(["", ".000000"]),
            func.replace(func.substr(expr, 1, 19), " ", "T"),
        ),
        else_=func.replace(expr, " ", "T"),
    )


def _same(d: _Dialect, column: Any, old: ColumnElement[Any], new: ColumnElement[Any]) -> Any:
    if isinstance(column.type, JSON):
        if d.postgresql:
            return cast(old, JSONB).is_not_distinct_from(cast(new, JSONB))
        return func.json(old).is_not_distinct_from(func.json(new))
    return old.is_not_distinct_from(new)


def _changed_members(
    d: _Dialect, members: list[tuple[str, Any, ColumnElement[Any]]], statement_key: str
) -> ColumnElement[Any]:
    """An UPDATE's changes: each (key, changed?, [old, new]) member kept only where changed."""
    label: tuple[str, ColumnElement[Any]] = (statement_key, literal_column("'update'"))
    if d.postgresql:
        changes = d.obj([label])
        for key, changed, pair in members:
            changes = case((changed, d.obj([(key, pair)])), else_=d.empty()).op("||")(changes)
        return changes
    kept = [(key, case((changed, pair), else_=null())) for key, changed, pair in members]
    return func.json_patch("{}", d.obj([*kept, label]))  # drops the members left null


def _record_id(table: Any) -> ColumnElement[Any] | None:
    pk = list(table.primary_key.columns)
    if len(pk) != 1:
        return None
    return func.substr(cast(pk[0], String), 1, 60)


def _trail_insert(
    d: _Dialect,
    table: Any,
    action: AuditAction,
    shared: dict[str, Any],
    changes: ColumnElement[Any],
    where: Any,
    *,
    lock: bool = False,
    rows_from: Any = None,
) -> Any:
    """``INSERT INTO audit_log (...) SELECT ... FROM table WHERE where`` (FROM `rows_from`,
    the table joined to what it needs, when given)."""
    trail: Any = AuditLog.__table__
    record = _record_id(table)
    assert record is not None
    columns = [  # when, who, what kind, which table: the same in every row
        d.typed(literal(shared["at"], trail.c.at.type), trail.c.at.type),
        d.typed(literal(shared["user_id"], Integer), Integer),
        d.typed(literal(shared["username"], String), String),
        d.typed(literal(action, trail.c.action.type), String),
        d.typed(literal(table.name, String), String),
        record,
        cast(changes, JSON) if d.postgresql else changes,
    ]
    source = select(*columns).select_from(table if rows_from is None else rows_from).where(where)
    if lock and d.postgresql:
        source = source.with_for_update(of=table)  # the UPDATE would lock them anyway
    names = ["at", "user_id", "username", "action", "table_name", "record_id", "changes"]
    return insert(trail).from_select(names, source)


def update_trail(
    dialect: str,
    table: Any,
    where: Any,
    new_values: dict[Any, Any],
    *,
    shared: dict[str, Any],
    ignored: frozenset[str],
    masked: frozenset[str],
    statement_key: str,
) -> Any | None:
    """The trail of ``UPDATE table SET new_values WHERE where``, run before it: for each row
    that will change, the SET columns whose value differs, ``[old, new]``. None when a SET
    value is not a given value or a column cannot be rendered."""
    d = _Dialect(dialect)
    if _record_id(table) is None or where is None:
        return None
    members: list[tuple[str, Any, ColumnElement[Any]]] = []  # (key, changed?, [old, new])
    for key, value in new_values.items():
        column = table.c.get(getattr(key, "key", key))
        if column is None or getattr(getattr(key, "table", table), "name", None) != table.name:
            return None  # (a statement on an ORM entity names an annotated copy of the table)
        if column.key in ignored:
            continue
        if column.onupdate is not None or column.server_onupdate is not None:
            return None
        given = isinstance(value, BindParameter) and value.callable is None and not value.required
        if isinstance(value, Null) or value is None or (given and value.value is None):
            new: ColumnElement[Any] = null()
        elif given:
            new = literal(value.value, column.type)
        else:
            return None  # computed (``x + 1``) or bound at execution: read back in Python
        if d.postgresql:
            new = cast(new, column.type)  # (a bare NULL has no type to choose functions by)
        old_shown = _shown_sql(d, column, column, masked)
        new_shown = _shown_sql(d, column, new, masked)
        if old_shown is None or new_shown is None:
            return None
        changed = ~_same(d, column, column, new)
        members.append((column.key, changed, d.pair(old_shown, new_shown)))
    if not members:
        return None
    changes = _changed_members(d, members, statement_key)
    anything = or_(*(changed for _key, changed, _pair in members))
    return _trail_insert(
        d, table, AuditAction.UPDATE, shared, changes, and_(where, anything), lock=True
    )


# What an executemany UPDATE may set and still have its trail built here: the value bound is
# what the row then holds and what the Python trail reads back (json_safe of either is one).
_SET_AS_BOUND = (Boolean, Date, Enum, Integer, String, Text)


def update_many_trail(
    dialect: str,
    table: Any,
    key_param: str,
    new_params: dict[str, str],
    rows: list[dict[str, Any]],
    *,
    shared: dict[str, Any],
    ignored: frozenset[str],
    masked: frozenset[str],
    statement_key: str,
    shown: Callable[[str, Any], Any],
) -> Any | None:
    """The trail of ``UPDATE table SET col = :param ... WHERE pk = :key_param`` run once per
    parameter set in `rows` (`new_params`: column -> parameter), run before it: the new values
    travel as one JSON array joined to the records by key, and each record that will change
    gets its row with the columns that differ, ``[old, new]``. None when a column set cannot
    be rendered so."""
    d = _Dialect(dialect)
    if _record_id(table) is None or not rows:
        return None
    if len({row[key_param] for row in rows}) != len(rows):
        return None  # a record set twice: its trail row is the last value, read back
    (pk,) = table.primary_key.columns
    columns = []
    for name, param in new_params.items():
        column = table.c.get(name)
        if column is None or column.key in masked or not isinstance(column.type, _SET_AS_BOUND):
            return None
        if column.key not in ignored and param in rows[0]:
            columns.append((column, param))
    if not columns:
        return None
    given = json.dumps(
        [{"k": row[key_param], **{c.key: shown(c.key, row[p]) for c, p in columns}} for row in rows]
    )
    if d.postgresql:
        each = func.jsonb_array_elements(cast(literal(given, String), JSONB))
        element = each.table_valued("value").alias("given")
        joined = pk == cast(element.c.value.op("->>")(literal_column("'k'")), pk.type)
    else:
        element = func.json_each(literal(given, String)).table_valued("value").alias("given")
        joined = pk == func.json_extract(element.c.value, "$.k")
    members: list[tuple[str, Any, ColumnElement[Any]]] = []
    for column, _param in columns:
        old = _shown_sql(d, column, column, masked)
        assert old is not None  # every _SET_AS_BOUND type renders
        new: ColumnElement[Any]
        if d.postgresql:
            raw = element.c.value.op("->")(literal_column(f"'{column.key}'"))
            new = func.nullif(raw, literal_column("'null'::jsonb"))
            changed = func.to_jsonb(old).is_distinct_from(new)
        else:
            path = f"$.{column.key}"
            new = case(
                (func.json_type(element.c.value, path) == "null", null()),
                else_=func.json(element.c.value.op("->")(literal_column(f"'{path}'"))),
            )
            changed = column.is_distinct_from(func.json_extract(element.c.value, path))
        members.append((column.key, changed, d.pair(old, new)))
    return _trail_insert(
        d,
        table,
        AuditAction.UPDATE,
        shared,
        _changed_members(d, members, statement_key),
        or_(*(changed for _key, changed, _pair in members)),
        lock=True,
        rows_from=table.join(element, joined),
    )


def _where_keys(table: Any, keys: Sequence[int]) -> ColumnElement[bool]:
    """The records with these integer `keys`: one BETWEEN when they are one run of consecutive
    integers (a batch's new serial keys), else the list bound as one value."""
    pk: Column[int] = next(iter(table.primary_key.columns))
    distinct = sorted(set(keys))
    if distinct[-1] - distinct[0] + 1 == len(distinct):
        return pk.between(distinct[0], distinct[-1])
    return in_ids(pk, distinct)


# What a value bound in an executemany is stored as, rendered back (_shown_sql) unchanged:
# other types (a datetime's zone, a Decimal's scale) read back otherwise, and the Python trail
# records the bound value.
_KEPT_AS_BOUND = (Boolean, Date, Enum, Integer, JSON, LargeBinary, String, Text)


def insert_trail(
    dialect: str,
    table: Any,
    keys: Sequence[Any],
    rows: list[dict[str, Any]] | None,
    *,
    shared: dict[str, Any],
    ignored: frozenset[str],
    masked: frozenset[str],
    digested: dict[str, str],
    statement_key: str,
    shown: Callable[[str, Any], Any],
) -> Any | None:
    """The trail of new rows with single-column integer keys `keys`: ``[None, value]`` per
    column.

    `rows` are an executemany's parameter sets (the Python trail records their values: a
    value all rows share is rendered once here with `shown`, the others read from the rows
    as stored); None for an INSERT ... SELECT, whose rows are recorded with every column as
    stored. Returns the statement to run, or None when it cannot be built here."""
    d = _Dialect(dialect)
    if _record_id(table) is None or not keys or any(type(k) is not int for k in keys):
        return None
    if rows is None:
        names = [c.key for c in table.columns]
    else:
        names = list(rows[0])
        if any(row.keys() != rows[0].keys() for row in rows):
            return None
    pairs: list[tuple[str, ColumnElement[Any]]] = []
    for name in names:
        if name in ignored:
            continue
        column = table.c.get(name)
        if column is None:
            return None
        digest = digested.get(name)
        if digest is not None and (rows is None or digest in rows[0]):
            stored = table.c[digest]
            value: ColumnElement[Any] | None = case(
                (stored.is_(None), null()), else_=literal_column("'sha256:'").op("||")(stored)
            )
        elif rows is not None and _shared_value(rows, name):
            pairs.append((name, d.embedded(json.dumps([None, shown(name, rows[0][name])]))))
            continue
        elif rows is not None and not isinstance(column.type, _KEPT_AS_BOUND):
            given = _null_or_one_value(rows, name)
            if given is None:
                return None
            # Each row's value is NULL or that one value (a run's timestamp on some rows):
            # the stored NULL tells which, and the value is rendered as bound.
            value = case(
                (column.is_(None), null()), else_=d.embedded(json.dumps(shown(name, given[0])))
            )
        else:
            value = _shown_sql(d, column, column, masked)
        if value is None:
            return None
        pairs.append((name, d.pair(null(), value)))
    pairs.append((statement_key, literal_column("'insert'")))
    return _trail_insert(
        d, table, AuditAction.INSERT, shared, d.obj(pairs), _where_keys(table, keys)
    )


def _null_or_one_value(rows: list[dict[str, Any]], name: str) -> tuple[Any] | None:
    """(the value,) when every row's `name` is None or that one value; else None."""
    found: tuple[Any] | None = None
    for row in rows:
        value = row[name]
        if value is None:
            continue
        if found is None:
            found = (value,)
        elif type(value) is not type(found[0]) or value != found[0]:
            return None
    return found


def _shared_value(rows: list[dict[str, Any]], name: str) -> bool:
    first = rows[0][name]
    kind = type(first)
    try:
        return all(type(row[name]) is kind and row[name] == first for row in rows)
    except TypeError:
        return False
