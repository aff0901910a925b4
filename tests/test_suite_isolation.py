"""The suite's own isolation (tests/conftest.py): a rolled-back test sees its commits, across
requests and sessions, and leaves nothing behind; streamed responses come back closed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from models import Parish, db
from tests.conftest import _one_transaction


def _parishes(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Parish.id))) or 0


@pytest.fixture
def outside(app: Flask) -> Iterator[Flask]:
    """A test of its own that is not rolled back, so `_one_transaction` can be watched."""
    yield app


@pytest.mark.commits  # it watches `_one_transaction` from outside one
def test_a_rolled_back_transaction_keeps_commits_until_its_end(outside: Flask) -> None:
    app = outside
    before = _parishes(app)
    with _one_transaction(app):
        with app.app_context():
            db.session.add(Parish(code="E04999990", name="Rolled Back"))
            db.session.commit()
        with app.app_context():  # another session, as a request would have
            assert _parishes(app) == before + 1
            db.session.add(Parish(code="E04999991", name="Then undone"))
            db.session.flush()
            db.session.rollback()  # undoes its own work only, back to its savepoint
        assert _parishes(app) == before + 1
    assert _parishes(app) == before


@pytest.mark.rolled_back
def test_a_rolled_back_test_sees_its_requests_writes(
    app: Flask, client_as: Any, users: dict[str, int]
) -> None:
    """The users fixture's commits and a signed-in request share the one transaction."""
    page = client_as("supervisor").get("/admin/user_account/")
    assert page.status_code == 200 and "Test supervisor" in page.get_data(as_text=True)


def test_a_streamed_export_comes_back_closed(app: Flask, client_as: Any) -> None:
    response = client_as("supervisor").get("/admin/school/export/csv/")
    assert response.status_code == 200 and response.is_sequence
