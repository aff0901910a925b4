"""Every request's database work is bounded below gunicorn's worker timeout (issue 18).

Before issue 18 PostgreSQL had no ``statement_timeout`` or ``lock_timeout``: a route row lock
held for 45 s turned an allocation into a bare 500 (``WORKER TIMEOUT``) and a table lock
stalled every page, sign-in included. Now each pooled connection, when a request checks it
out, carries ``DB_STATEMENT_TIMEOUT_MS`` and ``DB_LOCK_TIMEOUT_MS`` (config.py; both below
``GUNICORN_TIMEOUT_S``). Outside a request (commands, background jobs) the connection carries
``DB_BACKGROUND_STATEMENT_TIMEOUT_MS`` / ``DB_BACKGROUND_LOCK_TIMEOUT_MS`` (0: no limit),
since nothing there is killed by the worker timeout. The SET is sent only when the
connection's bounds change, so a worker's connections pay for it once.

When a bound fires the user is told so in words: a lock wait is "The route is being changed
by someone else; try again." (HTTP 409), a statement stopped for time is 503 and says nothing
was saved. Edit screens show the message above the form they had filled in
(admin_views/concurrency.py).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from flask import Flask, has_request_context, render_template
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

LOCK_TIMEOUT = "55P03"  # lock_not_available
QUERY_CANCELED = "57014"  # query_canceled (statement_timeout)
BOUNDS_KEY = "panel_bounds"

# What a locked table is called in the message ("The route is being changed ...").
NOUNS = {
    "route": "route",
    "route_school": "route",
    "transport_application": "application",
    "concessionary_application": "seat application",
    "concessionary_seat": "seat",
    "pupil": "pupil's record",
    "school": "school",
    "contribution": "contribution",
    "payment": "payment",
    "policy_parameter_set": "policy parameter set",
    "contribution_setting": "contribution setting",
    "academic_year": "academic year",
    "user_account": "user account",
}

Kind = Literal["lock", "statement"]


def sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def kind_of(exc: BaseException) -> Kind | None:
    """'lock' for a lock wait that ran out, 'statement' for a statement stopped for time."""
    if not isinstance(exc, DBAPIError):
        return None
    state = sqlstate(exc)
    if state == LOCK_TIMEOUT:
        return "lock"
    if state == QUERY_CANCELED:
        return "statement"
    return None


def _locked_noun(exc: DBAPIError) -> str:
    match = re.search(
        r"\b(?:FROM|UPDATE|INTO|JOIN)\s+\"?(\w+)\"?", str(exc.statement or ""), re.IGNORECASE
    )
    return NOUNS.get(match.group(1).lower(), "record") if match else "record"


def message(exc: DBAPIError) -> str:
    if kind_of(exc) == "lock":
        noun = _locked_noun(exc)
        return (
            f"The {noun} is being changed by someone else; try again. Nothing was saved."
            if noun != "record"
            else "This record is being changed by someone else; try again. Nothing was saved."
        )
    return (
        "That took too long and was stopped, so nothing was saved. Try again in a moment; "
        "if it keeps happening, ask for the work to be run in the background."
    )


def status(exc: DBAPIError) -> int:
    return 409 if kind_of(exc) == "lock" else 503


def _respond(exc: DBAPIError) -> Any:
    """The panel's plain error page (the database is up: only this transaction failed)."""
    from models import db

    db.session.rollback()
    code = status(exc)
    title = "Try again" if code == 409 else "That took too long"
    page = render_template("errors/error.html", code=code, title=title, message=message(exc))
    return page, code


def _bounds(app: Flask) -> tuple[tuple[int, int], tuple[int, int]]:
    c = app.config
    return (
        (int(c["DB_STATEMENT_TIMEOUT_MS"]), int(c["DB_LOCK_TIMEOUT_MS"])),
        (int(c["DB_BACKGROUND_STATEMENT_TIMEOUT_MS"]), int(c["DB_BACKGROUND_LOCK_TIMEOUT_MS"])),
    )


def bind(engine: Engine, app: Flask) -> None:
    """Give each connection of this PostgreSQL engine the bounds of whoever checks it out."""
    if engine.dialect.name != "postgresql":
        return
    in_request, outside = _bounds(app)

    @event.listens_for(engine, "checkout")
    def _set_bounds(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        wanted = in_request if has_request_context() else outside
        if record.info.get(BOUNDS_KEY) == wanted:
            return
        statement_ms, lock_ms = wanted
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"SET statement_timeout = {int(statement_ms)}")
            cursor.execute(f"SET lock_timeout = {int(lock_ms)}")
        finally:
            cursor.close()
        # SET is transactional: committed now, it outlives whatever the request rolls back.
        dbapi_connection.commit()
        record.info[BOUNDS_KEY] = wanted


def handles(exc: BaseException) -> bool:
    return kind_of(exc) is not None


def response_for(exc: DBAPIError) -> Any:
    return _respond(exc)
