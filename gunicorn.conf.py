"""gunicorn's settings for the panel (README, "With gunicorn"): read with `-c gunicorn.conf.py`.

The workers, timeouts and address stay on the command line, as the README gives them; this
file holds what a command line cannot: what each worker does once it has loaded the app.
"""

from __future__ import annotations

from typing import Any


def post_worker_init(worker: Any) -> None:
    """The app is loaded: its start-up heap leaves the collector's full passes (infra/heap.py)."""
    from infra.heap import settle

    settle()
