"""A database outage is a static 503 page, one log line, and recovery by itself (issue 18).

Before issue 18 users got gunicorn's bare "Internal Server Error" during an outage (the app's
own error page went back to the database) and each failed request wrote about 63 KB of log
with two full tracebacks. Now an error that means "the database cannot be reached" is
answered with a fixed page, built once at import: no template, no query, no session. The log
gets one line per failed request, without a traceback. Recovery needs nothing: the pool
tests each connection before use (``pool_pre_ping``, config.py) and replaces the dead ones.

Other database errors keep their own handling: a statement or lock timeout has its message
(infra/db_timeouts.py); anything else is the panel's ordinary error page.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from infra import db_timeouts

log = logging.getLogger("panel.outage")

# SQLSTATE classes that mean the server is gone or going: connection exceptions (08) and
# operator intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now).
GONE = frozenset({"57P01", "57P02", "57P03"})
RETRY_AFTER_S = 15

PAGE = b"""<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>The panel is unavailable &middot; School transport</title>
</head>
<body>
<main>
<h1>The panel is unavailable</h1>
<p>The panel cannot reach its database just now. Nothing you saved is lost: every change the
panel confirmed is kept. A change you were making when this page appeared was not saved.</p>
<p>Please try again in a minute. If this page stays, tell the system owner.</p>
<p><a href="/">Try again</a></p>
</main>
</body>
</html>
"""


def is_outage(exc: BaseException) -> bool:
    """The database cannot be reached (PostgreSQL down, restarting, the network gone)."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError) or db_timeouts.handles(exc):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if type(orig).__module__.split(".")[0] != "psycopg":
        return False
    import psycopg

    if not isinstance(orig, psycopg.OperationalError | psycopg.InterfaceError):
        return False
    state = db_timeouts.sqlstate(exc)
    return state is None or state.startswith("08") or state in GONE


def unavailable(exc: BaseException) -> Response:
    """The static page; the one log line says which request failed and why, in short."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    log.error(
        "database unavailable: %s %s answered 503 (%s: %s)",
        request.method,
        request.path,
        type(getattr(exc, "orig", None) or exc).__name__,
        reason[0][:200] if reason else "",
    )
    response = Response(PAGE, status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def install(app: Flask) -> None:
    """Answer database errors: an outage, a timeout, or else the panel's usual handling."""
    fallback = app.error_handler_spec[None][None].get(Exception)

    def database_error(exc: Exception) -> Any:
        if is_outage(exc):
            return unavailable(exc)
        if isinstance(exc, DBAPIError) and db_timeouts.handles(exc):
            return db_timeouts.response_for(exc)
        if fallback is not None:
            return fallback(exc)
        raise exc

    app.register_error_handler(DBAPIError, database_error)
    app.register_error_handler(PoolTimeout, database_error)
