"""A server process's start-up heap is left out of the garbage collector's full passes.

A worker holds about 250,000 objects once the app is built (SQLAlchemy's mappers, Flask-Admin's
views and forms, the templates, numpy), all of them kept for the process's life. Python's
cyclic collector walks every one of them in each full pass: about 100 ms of CPU, which a busy
worker paid every few dozen panel requests, inside whichever request happened to trigger it
(issue 18: bench/pages_cpu.py, bench/load.py). `gc.freeze()` moves the objects alive at that
moment into a generation the collector never walks; they are still freed by reference counting
when released. The collector keeps running for everything made afterwards (requests' objects).

Called once per worker process, after the app is loaded (gunicorn.conf.py); not by
`create_app`, which the tests and commands call many times in one process.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect what start-up left behind, then freeze the rest out of the collector's passes."""
    gc.collect()
    gc.freeze()
