"""The audit trail's "who acted" in a request: the signed-in user, read from Flask-Login.

services/audit.py never imports Flask (the layering contract in pyproject.toml); the app
installs this lookup at start-up (``services.audit.set_request_actor``).
"""

from __future__ import annotations

from flask import has_request_context
from flask_login.utils import _get_user
from sqlalchemy.orm import Session

from services.audit import Actor


def request_actor(session: Session | None) -> Actor | None:
    """The signed-in user, "anonymous" in a request without one, None outside a request."""
    if not has_request_context():
        return None
    # Loading the user may query; inside a flush that query must not flush again.
    if session is not None:
        with session.no_autoflush:
            user = _get_user()
    else:
        user = _get_user()
    if user is not None and getattr(user, "is_authenticated", False):
        return Actor(getattr(user, "id", None), str(getattr(user, "username", "?")))
    return Actor(None, "anonymous")
