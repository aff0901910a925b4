"""Where the evidence documents are stored: the running app's CASE_DOCUMENTS_DIR.

services/anonymise.py never imports Flask; the app installs this lookup at start-up
(``services.anonymise.set_documents_root``), read at each call so a changed config is seen.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app, has_app_context


def documents_root() -> Path | None:
    """The store, when an app is running and has one configured; else None."""
    if not has_app_context() or not current_app.config.get("CASE_DOCUMENTS_DIR"):
        return None
    return Path(str(current_app.config["CASE_DOCUMENTS_DIR"]))
