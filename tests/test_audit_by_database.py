"""The trail rows the database builds for set-based statements (services/audit_sql.py) read
exactly as the rows built in Python did (issue 16's trail, made cheap for issues 11 and 12).

Two checks: every column of every table, as stored in a county that has been through a year's
casework, renders in SQL as `services.audit._shown` renders what the driver reads back; and
the same county built twice, once with each way of writing the trail, ends with the same
trail, row for row.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import bindparam, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from demo.county import build_county
from models import AuditLog, Base, School, User, db
from services import audit_sql
from services.assessment import assess_applications
from services.audit import IGNORED_FIELDS, MASKED_FIELDS, _shown
from services.id_lists import in_ids
from tests.conftest import PASSWORD, fresh_database, make_app

DAY = date(2025, 10, 1)  # a county with a history year (2024/25) and a current one
NOW = datetime(2025, 10, 1, 9, 30, tzinfo=UTC)


def _built(request: pytest.FixtureRequest, tmp: Path, name: str, *, in_python: bool) -> Flask:
    flask_app = make_app(fresh_database(request, name, tmp))
    with flask_app.app_context():
        if in_python:
            with audit_sql.built_in_python():
                _casework()
        else:
            _casework()
    return flask_app


def _casework() -> None:
    """The demo county's load and history year, then a whole-year assessment of this year."""
    build_county(seed=11, size="small", password=PASSWORD, today=DAY)
    assess_applications(where=true(), user_id=None, now=NOW)


@pytest.fixture(scope="module")
def counties(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, Flask]]:
    tmp = tmp_path_factory.mktemp("trail_by_db")
    in_python = _built(request, tmp, "trail_python", in_python=True)
    by_database = _built(request, tmp, "trail_database", in_python=False)
    yield in_python, by_database
    for flask_app in (in_python, by_database):
        with flask_app.app_context():
            db.session.remove()
            db.engine.dispose()


_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?([+-]\d\d:\d\d)?$")


def _when_masked(value: Any) -> Any:
    """A timestamp taken from the clock differs between two builds; its format must not."""
    if isinstance(value, str) and _DATETIME.match(value):
        return "<datetime" + ("+zone>" if "+" in value[19:] else ">")
    if isinstance(value, list):
        return [_when_masked(v) for v in value]
    if isinstance(value, dict):
        return {k: _when_masked(v) for k, v in value.items()}
    return value


def _trail() -> Counter[str]:
    rows = db.session.execute(
        select(AuditLog.action, AuditLog.table_name, AuditLog.record_id, AuditLog.changes)
    )
    return Counter(
        json.dumps([a.value, t, r, _when_masked(c)], sort_keys=True) for a, t, r, c in rows
    )


def test_the_same_casework_leaves_the_same_trail_either_way(
    counties: tuple[Flask, Flask],
) -> None:
    in_python, by_database = counties
    with in_python.app_context():
        expected = _trail()
    with by_database.app_context():
        found = _trail()
    assert sum(expected.values()) > 1_000  # a year's casework: every kind of statement
    missing, extra = expected - found, found - expected
    assert not missing and not extra, (list(missing)[:3], list(extra)[:3])


def _as_sql_reads(table: Any, column: Any) -> list[tuple[Any, Any]]:
    dialect = audit_sql._Dialect(db.engine.dialect.name)
    shown = audit_sql._shown_sql(dialect, column, column, MASKED_FIELDS)
    if shown is None:
        return []
    pair = dialect.pair(shown, shown)  # a JSON array, read back as text or as a list
    (pk,) = table.primary_key.columns
    return [
        (key, (json.loads(value) if isinstance(value, str) else value)[0])
        for key, value in db.session.execute(select(pk, pair).order_by(pk))
    ]


def test_every_stored_value_renders_in_sql_as_python_reads_it_back(
    counties: tuple[Flask, Flask],
) -> None:
    _in_python, by_database = counties
    checked: Counter[str] = Counter()
    with by_database.app_context():
        for table in Base.metadata.sorted_tables:
            if len(table.primary_key.columns) != 1:
                continue
            (pk,) = table.primary_key.columns
            for column in table.columns:
                if column.key in IGNORED_FIELDS:
                    continue
                rendered = _as_sql_reads(table, column)
                read = [
                    (key, json.loads(json.dumps(_shown(column.key, value))))
                    for key, value in db.session.execute(select(pk, column).order_by(pk))
                ]
                if rendered:
                    assert rendered == read, (table.name, column.key)
                    checked[type(column.type).__name__] += sum(v is not None for _k, v in read)
    # Every kind of column the schema uses, with values in it, was compared.
    for kind in ("Boolean", "Date", "DateTime", "Enum", "Integer", "JSON", "Numeric", "String"):
        assert checked[kind] > 0, kind


@pytest.mark.usefixtures("app_ctx")
def test_edge_values_render_as_python_reads_them_back() -> None:
    """A timestamp on the second (isoformat drops the zero fraction), a whole-pound Decimal,
    a boolean false, a masked field."""
    user = User(
        username="edge",
        full_name="Edge Case",
        email="edge@example.org",
        password_hash="secret",
        locked_until=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    db.session.add(user)
    db.session.flush()
    for table, column in (
        (User.__table__, User.__table__.c.locked_until),
        (User.__table__, User.__table__.c.password_hash),
    ):
        found = dict(_as_sql_reads(table, column))
        value = db.session.execute(select(column).where(table.c.id == user.id)).scalar_one()
        assert found[user.id] == _shown(column.key, value)


@pytest.mark.usefixtures("app_ctx")
def test_an_update_and_a_bulk_insert_give_the_same_rows_either_way() -> None:
    """One statement each, run twice in savepoints (one per way), the trail compared."""
    rows = [
        {"urn": 998000 + i, "name": f"S{i}", "phase": "primary", "establishment_type": "community",
         "statutory_low_age": 4, "close_date": date(2030, 8, 31) if i % 2 else None}
        for i in range(5)
    ]  # fmt: skip

    def run() -> list[Any]:
        savepoint = db.session.begin_nested()
        db.session.execute(insert(School), rows)
        db.session.execute(
            update(School).where(School.urn >= 998002).values(name="Renamed", statutory_low_age=5)
        )
        found = db.session.execute(
            select(AuditLog.action, AuditLog.record_id, AuditLog.changes)
            .where(AuditLog.table_name == "school")
            .order_by(AuditLog.id)
        ).all()
        first = min(int(r.record_id) for r in found)
        savepoint.rollback()
        return [(a, int(r) - first, c) for a, r, c in found]

    with audit_sql.built_in_python():
        expected = run()
    assert run() == expected
    assert [c for a, _r, c in expected if a.value == "update"][0] == {
        "name": ["S2", "Renamed"], "statutory_low_age": [4, 5], "_statement": "update"
    }  # fmt: skip
    assert len(expected) == 5 + 3


@pytest.mark.usefixtures("app_ctx")
def test_a_failed_update_after_its_trail_cannot_be_committed() -> None:
    """The trail of an UPDATE is written before it runs (it reads the old values); should the
    UPDATE then fail, committing instead of rolling back would keep a change that never
    happened, so it is refused (SQLite keeps a transaction open after a failed statement)."""
    db.session.execute(
        insert(School),
        [{"urn": 997001, "name": "Kept", "phase": "primary", "establishment_type": "community"}],
    )
    savepoint = db.session.begin_nested()
    with pytest.raises(IntegrityError):
        db.session.execute(update(School).where(School.urn == 997001).values(name=None))
    with pytest.raises(RuntimeError, match="roll back, not commit"):
        db.session.commit()
    savepoint.rollback()
    rows = db.session.execute(
        select(AuditLog.changes).where(AuditLog.table_name == "school")
    ).scalars()
    assert [c["_statement"] for c in rows] == ["insert"]


@pytest.mark.usefixtures("app_ctx")
def test_in_ids_names_the_same_rows_as_in() -> None:
    db.session.execute(
        insert(School),
        [
            {
                "urn": 996000 + i,
                "name": f"S{i}",
                "phase": "primary",
                "establishment_type": "community",
            }
            for i in range(30)
        ],
    )
    ids = db.session.execute(select(School.id).order_by(School.id)).scalars().all()
    wanted = ids[::3] + [10**9]
    found = db.session.execute(select(School.id).where(in_ids(School.id, wanted))).scalars()
    assert sorted(found) == ids[::3]
    assert db.session.execute(select(School.id).where(in_ids(School.id, []))).all() == []


@pytest.mark.usefixtures("app_ctx")
def test_a_bulk_insert_with_a_timestamp_on_some_rows_gives_the_same_rows_either_way() -> None:
    """A column that is NULL on some rows and one value on the others (a run's timestamp on
    the rows it supersedes at once, as measuring does) is rendered as bound."""
    when = datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC)
    rows = [
        {"username": f"u{i}", "full_name": f"U {i}", "email": f"u{i}@example.org",
         "password_hash": "secret", "locked_until": when if i % 2 else None}
        for i in range(4)
    ]  # fmt: skip

    def run() -> list[Any]:
        savepoint = db.session.begin_nested()
        db.session.execute(insert(User), rows)
        found = db.session.execute(
            select(AuditLog.record_id, AuditLog.changes)
            .where(AuditLog.table_name == "user_account")
            .order_by(AuditLog.id)
        ).all()
        first = min(int(r.record_id) for r in found)
        savepoint.rollback()
        return [(int(r) - first, c) for r, c in found]

    with audit_sql.built_in_python():
        expected = run()
    assert run() == expected
    assert [c["locked_until"][1] for _r, c in expected] == [None, when.isoformat()] * 2
    assert expected[0][1]["password_hash"] == [None, "***"]


@pytest.mark.usefixtures("app_ctx")
def test_a_bulk_update_by_key_gives_the_same_rows_either_way() -> None:
    """``UPDATE ... SET col = :b_col WHERE id = :b_id`` once per row (the imports' and the
    measurements' bulk updates): a row whose values are unchanged gets no trail row; a NULL
    set, a date, an enum and a boolean read as the Python trail reads them back."""
    db.session.execute(
        insert(School),
        [
            {"urn": 995000 + i, "name": f"S{i}", "phase": "primary",
             "establishment_type": "community", "statutory_low_age": 4}
            for i in range(4)
        ],
    )  # fmt: skip
    ids = db.session.execute(select(School.id).order_by(School.id)).scalars().all()
    table = School.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            {c: bindparam(f"b_{c}", type_=table.c[c].type)
             for c in ("statutory_low_age", "close_date", "phase", "selective")}
        )
    )  # fmt: skip
    changes = [
        {"b_id": ids[0], "b_statutory_low_age": 4, "b_close_date": None, "b_phase": "primary",
         "b_selective": False},  # as it is: no trail row
        {"b_id": ids[1], "b_statutory_low_age": None, "b_close_date": date(2030, 8, 31),
         "b_phase": "secondary", "b_selective": True},
        {"b_id": ids[2], "b_statutory_low_age": 11, "b_close_date": None, "b_phase": "primary",
         "b_selective": False},
    ]  # fmt: skip

    def run() -> list[Any]:
        savepoint = db.session.begin_nested()
        db.session.execute(statement, changes)
        found = db.session.execute(
            select(AuditLog.record_id, AuditLog.changes)
            .where(AuditLog.table_name == "school", AuditLog.action == "update")
            .order_by(AuditLog.record_id)
        ).all()
        savepoint.rollback()
        return [tuple(row) for row in found]

    with audit_sql.built_in_python():
        expected = run()
    assert run() == expected
    assert expected == [
        (str(ids[1]), {"statutory_low_age": [4, None], "close_date": [None, "2030-08-31"],
                       "phase": ["primary", "secondary"], "selective": [False, True],
                       "_statement": "update"}),
        (str(ids[2]), {"statutory_low_age": [4, 11], "_statement": "update"}),
    ]  # fmt: skip


@pytest.mark.usefixtures("app_ctx")
def test_each_row_of_a_bulk_insert_is_recorded_under_its_own_key() -> None:
    """The keys a bulk INSERT's rows were given are not asked for (PostgreSQL takes them from
    the sequence first; SQLite's run on from `last_insert_rowid()`): each trail row names the
    record holding its values, also after the table's newest row was deleted, whose key
    SQLite gives again."""
    table = School.__table__

    def added(first: int, count: int) -> None:
        db.session.execute(
            insert(table),
            [
                {"urn": 996000 + i, "name": f"Bulk {i}", "phase": "primary",
                 "establishment_type": "community", "statutory_low_age": 4}
                for i in range(first, first + count)
            ],
        )  # fmt: skip

    added(0, 3)
    newest = db.session.execute(select(School).where(School.urn == 996002)).scalar_one()
    db.session.delete(newest)
    db.session.flush()
    added(3, 4)
    recorded = db.session.execute(
        select(AuditLog.record_id, AuditLog.changes).where(
            AuditLog.table_name == "school", AuditLog.action == "insert"
        )
    ).all()
    names = {key: name for key, name in db.session.execute(select(School.id, School.name))}
    bulk = [(int(r), c["name"][1]) for r, c in recorded if c["name"][1].startswith("Bulk ")]
    assert sorted(name for _key, name in bulk) == [f"Bulk {i}" for i in range(7)]
    for key, name in bulk:
        if name != "Bulk 2":  # deleted
            assert names[key] == name
