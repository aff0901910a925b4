"""'Copy forward to next year' for the per-year settings screens.

Next year's rows start as copies of this year's; existing rows are never edited, so a past
year's figures (and the decisions and contributions made under them) stay as they were.
"""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_admin.actions import action

from models import db
from services.settings import copy_forward


class CopyForwardMixin:
    copy_forward_noun = "settings"  # as a person would say it: "policy parameters"

    @action(
        "copy_forward",
        "Copy forward to next year",
        "Create next year's rows from the selected year's? Existing rows are not changed.",
    )
    def action_copy_forward(self, ids: list[str]) -> None:
        view: Any = self
        try:
            created, skipped = copy_forward(db.session, view.model, map(int, ids))
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        noun = self.copy_forward_noun
        if created:
            flash(f"Created {noun} for {', '.join(created)}.", "success")
        if skipped:
            flash(f"{', '.join(skipped)} already had {noun}; they were not changed.", "warning")
