"""List search that reads each table once, by itself, instead of scanning a join in sort order.

Flask-Admin searches by joining every related table named in `column_searchable_list` and
testing `lower(CAST(col AS VARCHAR)) LIKE lower('%term%')` on each joined row while walking the
list's sort index. When few rows match (the usual search: a reference, a surname) that walk
visits every row: 200 ms on 25,000 transport applications joined to 100,000 pupils
(bench/RESULTS.md). Here each word becomes `id IN (SELECT id ... UNION SELECT id ...)`: one
branch tests the view's own columns, and one branch per table reached by a single many-to-one
key tests that table's columns (`key IN (SELECT id FROM pupil WHERE ...)`). The databases then
find the few matching rows first and sort only those, and on PostgreSQL each branch is served by
trigram indexes (migration 0007).

On PostgreSQL each column's test is a branch of its own (`SELECT id ... WHERE reference ILIKE
... UNION SELECT id ... WHERE last_name ILIKE ...`), not one branch testing the columns with
OR. The planner prices an ILIKE like any operator, far below what it costs (each row's text
and the pattern are case-folded), so a table of a few thousand rows tested on four columns was
scanned rather than read through its four trigram indexes: a surname on the demo county's
6,000 pupils took 9.5 ms of the server's CPU, most of every search's (bench.load, issue 18);
one column at a time, each index is cheaper than the scan and is used: 1-2 ms. SQLite has no
such index: there one pass with OR is the cheaper.

The meaning is Flask-Admin's: every word must match some searchable column, anywhere in it
(`^word` at the start, `=word` exactly), ignoring case. SQLite's LIKE already ignores ASCII
case, as its lower() does, so there the columns are compared as they are; PostgreSQL uses
ILIKE. A view whose searchable columns are further away (two hops, or a table with two keys to
it) keeps Flask-Admin's own search.

Postcodes ignore spacing and case (issue 15): "ln16wt" finds "LN1 6WT". Postcodes are stored in
their one written form (outward code, a space, the three-character inward code that starts with
a digit), so a word typed without the space is also tried with the space put back before each
digit that could begin the inward code: a handful of ordinary LIKE patterns on the column
itself, so PostgreSQL's trigram index on it still serves them (no function of the column).
On a list that searches postcodes, a whole postcode typed with its space ("ln1 6wt") is one
word, so it does not also find LN17 6WT.
"""

from __future__ import annotations

import re
from typing import Any

from flask_admin.contrib.sqla import tools
from sqlalchemy import ColumnElement, Select, Table, inspect, or_, select, union
from sqlalchemy.orm import RelationshipProperty
from sqlalchemy.sql.sqltypes import String

from models import db

POSTCODE_COLUMNS = frozenset({"postcode"})
_WHOLE_POSTCODE = re.compile(r"(?<!\S)([\^=]?[A-Za-z]{1,2}\d[A-Za-z\d]?)\s+(\d[A-Za-z]{2})(?!\S)")
_INWARD = 3  # a digit and two letters


def postcode_spellings(term: str) -> list[str]:
    """`term`, and `term` with the space before an inward code restored ("ln16wt" ->
    "ln1 6wt", "ln 16wt"); Flask-Admin's ^ (starts with) and = (exactly) prefixes are kept."""
    operator = term[:1] if term[:1] in ("^", "=") else ""
    body = term[len(operator) :]
    if not body.isalnum() or len(body) > 7:  # the longest postcode, less its space
        return [term]
    cuts = range(max(1, len(body) - _INWARD), len(body))
    return [term] + [f"{operator}{body[:i]} {body[i:]}" for i in cuts if body[i].isdigit()]


def _table_and_key(model: Any, path: list[Any]) -> tuple[Any, Any] | None:
    """(the model's key column, the column it points at) for a one-hop path, else None."""
    if len(path) != 1:
        return None
    step = path[0]
    if isinstance(step, Table):
        keys = [fk for fk in model.__table__.foreign_keys if fk.column.table is step]
        if len(keys) != 1:
            return None
        return keys[0].parent, keys[0].column
    prop = getattr(step, "property", None)
    if isinstance(prop, RelationshipProperty) and prop.direction.name == "MANYTOONE":
        pairs = list(prop.local_remote_pairs or ())
        if len(pairs) == 1 and pairs[0][0].table is model.__table__:
            local, remote = pairs[0]
            return local, remote
    return None


_TRIGRAM_INDEXED: dict[Any, frozenset[str]] = {}


def _has_trigram_index(column: Any) -> bool:
    """A trigram GIN index on this column alone (models.base.trigram_index)? Read once per
    table from its metadata."""
    table = getattr(column, "table", None)
    if table is None:
        return False
    names = _TRIGRAM_INDEXED.get(table)
    if names is None:
        names = _TRIGRAM_INDEXED[table] = frozenset(
            index.columns[0].name
            for index in getattr(table, "indexes", ())
            if index.name and index.name.endswith("_trgm") and len(index.columns) == 1
        )
    return column.name in names


class SubquerySearchMixin:
    """Overrides Flask-Admin's `_apply_search` (see the module docstring)."""

    model: Any  # the mapped class
    _search_fields: list[tuple[Any, list[Any]]] | None

    def _search_plan(self) -> tuple[Any, list[Any], list[tuple[Any, Any, list[Any]]]] | None:
        """(primary key, own columns, [(key, column it points at, that table's columns)])."""
        primary: tuple[Any, ...] = tuple(inspect(self.model).primary_key)
        if len(primary) != 1:
            return None
        own: list[Any] = []
        related: dict[Any, tuple[Any, Any, list[Any]]] = {}
        for column, path in self._search_fields or ():
            if not path:
                own.append(column)
                continue
            hop = _table_and_key(self.model, path)
            if hop is None:
                return None
            key, target = hop
            related.setdefault(key, (key, target, []))[2].append(column)
        return primary[0], own, list(related.values())

    def _apply_search(  # type: ignore[no-untyped-def]
        self, query, count_query, joins, count_joins, search: str
    ):
        plan = self._search_plan()
        if plan is None:
            return super()._apply_search(  # type: ignore[misc]
                query, count_query, joins, count_joins, search
            )
        primary, own, related = plan
        searched = own + [column for _key, _target, columns in related for column in columns]
        if any(getattr(column, "key", None) in POSTCODE_COLUMNS for column in searched):
            search = _WHOLE_POSTCODE.sub(r"\1\2", search)
        postgresql = db.session.get_bind().dialect.name == "postgresql"

        def tests(columns: list[Any], term: str) -> list[ColumnElement[bool]]:
            found = []
            for column in columns:
                spellings = [term]
                if getattr(column, "key", None) in POSTCODE_COLUMNS:
                    spellings = postcode_spellings(term)
                if not isinstance(column.type, String):
                    column = column.cast(String)
                for pattern in map(tools.parse_like_term, spellings):
                    found.append(column.ilike(pattern) if postgresql else column.like(pattern))
            return found

        def ids(key: Any, columns: list[Any], term: str) -> list[Select[Any]]:
            """SELECTs of `key` whose rows match `term` in some column: the tests joined by
            OR in one (one pass over the table), except that on PostgreSQL each column with a
            trigram index is tested by a SELECT of its own, which that index serves (see the
            module docstring)."""
            indexed = [c for c in columns if postgresql and _has_trigram_index(c)]
            found = [select(key).where(test) for test in tests(indexed, term)]
            rest = [c for c in columns if not any(c is i for i in indexed)]
            if rest:
                found.append(select(key).where(or_(*tests(rest, term))))
            return found

        for term in search.split():
            branches = ids(primary, own, term) if own else []
            for key, target, columns in related:
                inner = ids(target, columns, term)
                chosen = union(*inner) if len(inner) > 1 else inner[0]
                branches.append(select(primary).where(key.in_(chosen)))
            # A UNION, or OFFSET 0 on a lone branch, keeps PostgreSQL from folding the search
            # into a join it walks in the list's sort order, testing rows until 50 match: a
            # surname on the pupils list took 87 ms that way, 30 ms finding the matches first.
            found = primary.in_(union(*branches) if len(branches) > 1 else branches[0].offset(0))
            query = query.filter(found)
            if count_query is not None:
                count_query = count_query.filter(found)
        return query, count_query, joins, count_joins
