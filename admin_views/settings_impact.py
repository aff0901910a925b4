"""Saving a change to the year in force's charges or policy figures asks first (issue 14).

The edit form's save, when it changes a figure of the academic year in force, answers with a
page that says in words what the change reaches and what stays as it is (counted by
`services.settings_impact`), carrying the form's values; only its confirm button saves. A form
the screen would refuse goes straight on to the save, which shows its errors as ever.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_admin import expose
from flask_admin.model.helpers import get_mdict_item_or_list
from wtforms import ValidationError

from models import db
from models.base import VERSION_COLUMN
from services.errors import ServiceError
from services.settings_impact import Kind, impact_of

from .base import current_year, pounds, value_in_words
from .confirm import CONFIRM_FIELD, is_confirmed


class ConfirmImpactMixin:
    """For the settings views of charges (`impact_kind = "charges"`) and policy figures."""

    impact_kind: Kind
    impact_fields: tuple[str, ...]
    impact_money: frozenset[str] = frozenset()  # shown in pounds

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self) -> Any:
        if request.method == "POST" and not is_confirmed():
            page = self._impact_page()
            if page is not None:
                return page
        return super().edit_view()  # type: ignore[misc]

    def _impact_page(self) -> Any | None:
        view: Any = self
        record_id = get_mdict_item_or_list(request.args, "id")
        model = view.get_one(record_id) if record_id is not None else None
        if model is None or model.academic_year != current_year():
            return None
        form = view.edit_form(obj=model)
        if not view.validate_form(form):
            return None
        opened = view._opened(form)
        if opened is not None and opened.get("v") != getattr(model, VERSION_COLUMN):
            return None  # changed since it was opened: the save refuses it, in its own words
        changed = {}
        for name in self.impact_fields:
            old, new = getattr(model, name), form[name].data
            if _differs(old, new):
                label = str(form[name].label.text)
                words = pounds if name in self.impact_money else value_in_words
                changed[name] = (label, words(old), words(new))
        if not changed:
            return None
        proposed = type(model)(**{name: form[name].data for name in view.form_columns})
        try:  # the screen's own checks: a refused figure is shown on the form, not here
            view.on_model_change(form, proposed, False)
        except (ValidationError, ServiceError):
            return None
        impact = impact_of(db.session, self.impact_kind, model.academic_year, changed)
        return view.render(
            "admin/settings/impact_confirm.html",
            impact=impact,
            fields=[(k, v) for k, v in request.form.items(multi=True) if k != CONFIRM_FIELD],
            confirm_field=CONFIRM_FIELD,
            action=request.full_path,
            cancel_url=view.get_url(".edit_view", id=record_id),
        )


def _differs(old: Any, new: Any) -> bool:
    """Stored and typed figures compared as values (a Decimal 10.00 equals 10)."""
    if old is None or new is None:
        return old is not new
    try:
        return bool(old != type(old)(new))
    except (TypeError, ValueError, ArithmeticError):
        return str(old) != str(new)
