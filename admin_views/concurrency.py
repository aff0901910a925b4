"""Optimistic concurrency for every edit screen: a save from a stale form is refused (issue 18).

Two officers open the same application; one saves a note, the other saves a form opened
before it. Before issue 18 the note was gone and both saw "Record was successfully saved".
Now every edit form carries, in a signed hidden field, the record's version (``row_version``,
models/base.py) and the values it showed when it was opened. The save compares them with the
record as it is now, under a row lock on PostgreSQL:

- nothing changed meanwhile: the save goes ahead (and the ORM's ``version_id_col`` still
  refuses it if another save slipped in between, StaleDataError);
- something changed: nothing is written; each changed field says what it is now and what it
  was when the form was opened; the user's own changes stay in the form, the fields they had
  not touched show the new values, and the form now carries the current version, so saving
  again reapplies their change on top of the other one.

The value comparison also covers what the version cannot see: rows edited inline on the same
form (a pupil's contacts, a school's gates) have no version of their own on the parent.
A form posted without the field (no screen renders one) is not checked.

Create forms carry a one-time token instead (double submits, issue 18): it is written with
the new record, in its transaction, so the same form saved twice makes one record. A token is
kept for the session's absolute lifetime (submitted_form_lifetime) and pruned after that.
"""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import abort, current_app, flash, g, redirect, request
from flask_admin.form import rules
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup
from sqlalchemy import delete, insert, inspect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField, ValidationError

from auth.blueprint import absolute_lifetime
from infra import db_timeouts, outage
from models import SubmittedForm, db
from models.base import VERSION_COLUMN, utcnow

VERSION_FIELD = "opened_version"
TOKEN_FIELD = "submission_token"
SKIPPED_FIELDS = frozenset({VERSION_FIELD, TOKEN_FIELD, "csrf_token"})
SHOWN_LENGTH = 120
STALE_SAVE = (
    "Not saved: someone else saved this record after you opened it, so saving your form "
    "would have undone their change. Nothing of yours was written. Each field they changed "
    "says what it is now and what it was when you opened the form; your own changes are kept "
    "in the form. Check them and save again."
)
STALE_HIDDEN = (
    "Not saved: someone else changed this record after you opened it (in details this form "
    "does not show). Nothing of yours was written; your changes are kept in the form. "
    "Check them and save again."
)
SENT_TWICE = (
    "This form was sent twice: its record was saved the first time, and was not saved again."
)
SAME_MOMENT = (
    "Not saved: someone else saved this record at the same moment. Nothing of yours was "
    "written; open the record again to see their change, then reapply yours."
)


class OpenedVersionField(HiddenField):
    """The signed version-and-values the form was opened with; never written to the record."""

    def populate_obj(self, obj: Any, name: str) -> None:
        return None


class _CarriesVersion(rules.BaseRule):
    """Keeps the hidden fields in forms laid out by form_rules (they render with hidden_tag)."""

    @property
    def visible_fields(self) -> list[str]:
        return [VERSION_FIELD, TOKEN_FIELD]

    def __call__(self, form: Any, form_opts: Any = None, field_args: Any = None) -> str:
        return Markup("")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key or "", salt="opened-version")


def plain(value: Any) -> Any:
    """A field's value in a form JSON can hold and two readings can compare."""
    if value is None or value == "":
        return None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal | float):
        text = format(Decimal(str(value)).normalize(), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return items if isinstance(value, list | tuple) else sorted(items, key=repr)
    state = inspect(value, raiseerr=False)
    if state is not None and getattr(state, "identity", None) is not None:
        return ["@", type(value).__name__, *[plain(k) for k in state.identity]]
    return str(value)


def shown(value: Any) -> str:
    """A field's value as the screens show it, for the "changed meanwhile" message."""
    from .dates import long_date
    from .enum_support import _label

    if value is None or value == "" or value == [] or value == {}:
        return "(blank)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return value.strftime("%d %b %Y %H:%M")
    if isinstance(value, date):
        return long_date(value)
    if isinstance(value, enum.Enum):
        return _label(value)
    if isinstance(value, dict):
        parts = [shown(v) for k, v in value.items() if k != "id" and v not in (None, "", False)]
        return ", ".join(parts) or "(blank)"
    if isinstance(value, list | tuple | set | frozenset):
        return "; ".join(shown(v) for v in value) or "(blank)"
    text = str(value)
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 1] + "…"


def snapshot(form: Any) -> dict[str, list[Any]]:
    """{field name: [plain value, shown value]} for every field the user can see."""
    return {
        name: [plain(field.data), shown(field.data)]
        for name, field in form._fields.items()
        if name not in SKIPPED_FIELDS
    }


def submitted_form_lifetime() -> timedelta:
    """How long a saved create form's token is kept: the session's absolute lifetime.

    A form can be sent again only with its page's CSRF token, which lives in the session
    (WTF_CSRF_TIME_LIMIT is None, config.py) and is made anew at every sign-in (the session is
    cleared, auth/blueprint.py); a session ends at most this long after sign-in, and the form
    was opened after it. So a token older than this guards nothing: its form is refused as
    expired (400) before it is looked up (issue 18); the lifetime is SESSION_ABSOLUTE_HOURS.
    """
    return absolute_lifetime()


def prune_submitted_forms(now: datetime) -> None:
    """Delete the tokens past their lifetime, in the saving form's transaction.

    Pruned as each token is written, not by a scheduled run: the table then never holds more
    than one lifetime's create forms (a few hundred rows a working day), so the look-up and the
    prune stay cheap without a job to schedule, and no deployment can forget to run it.
    """
    cutoff = now - submitted_form_lifetime()
    db.session.execute(delete(SubmittedForm).where(SubmittedForm.submitted_at < cutoff))


class OptimisticLockMixin:
    """Put before ModelView: the version travels with every edit form of a versioned model."""

    def _versioned(self) -> bool:
        table = getattr(self.model, "__table__", None)  # type: ignore[attr-defined]
        return table is not None and VERSION_COLUMN in table.c

    # --- the counter is bookkeeping: never a form field, list column or export column ----

    def scaffold_form(self):  # type: ignore[no-untyped-def]
        form_class = super().scaffold_form()  # type: ignore[misc]
        if VERSION_COLUMN in vars(form_class):
            delattr(form_class, VERSION_COLUMN)
        return form_class

    def _without_version(self, columns: list[tuple[Any, str]]) -> list[tuple[Any, str]]:
        return [c for c in columns if c[0] != VERSION_COLUMN]

    def get_list_columns(self):  # type: ignore[no-untyped-def]
        return self._without_version(super().get_list_columns())  # type: ignore[misc]

    def get_details_columns(self):  # type: ignore[no-untyped-def]
        return self._without_version(super().get_details_columns())  # type: ignore[misc]

    def get_export_columns(self):  # type: ignore[no-untyped-def]
        return self._without_version(super().get_export_columns())  # type: ignore[misc]

    # --- the hidden field ----------------------------------------------------------------

    def get_edit_form(self):  # type: ignore[no-untyped-def]
        form_class = super().get_edit_form()  # type: ignore[misc]
        if not self._versioned():
            return form_class
        return type(form_class.__name__, (form_class,), {VERSION_FIELD: OpenedVersionField()})

    def get_create_form(self):  # type: ignore[no-untyped-def]
        form_class = super().get_create_form()  # type: ignore[misc]
        return type(form_class.__name__, (form_class,), {TOKEN_FIELD: OpenedVersionField()})

    def _refresh_form_rules_cache(self) -> None:
        super()._refresh_form_rules_cache()  # type: ignore[misc]
        for name in ("_form_edit_rules", "_form_create_rules"):
            ruleset = getattr(self, name, None)
            if ruleset is not None and not any(
                isinstance(r, _CarriesVersion) for r in ruleset.rules
            ):
                ruleset.rules.append(_CarriesVersion().configure(ruleset, None))

    def create_form(self, obj: Any = None):  # type: ignore[no-untyped-def]
        """A create form carries a one-time token: sent twice, it makes one record."""
        form = super().create_form(obj)  # type: ignore[misc]
        field = form._fields.get(TOKEN_FIELD)
        if field is not None and request.method == "GET":
            field.data = secrets.token_urlsafe(24)
        return form

    def validate_form(self, form: Any) -> bool:
        """A create form already saved once goes back to the list, saying so (no new record)."""
        token = form._fields.get(TOKEN_FIELD)
        value = (token.data or "").strip()[:64] if token is not None else ""
        if value and db.session.get(SubmittedForm, value) is not None:
            flash(SENT_TWICE, "info")
            abort(redirect(self.get_url(".index_view")))  # type: ignore[attr-defined]
        return bool(super().validate_form(form))  # type: ignore[misc]

    def create_model(self, form: Any) -> Any:
        token = form._fields.get(TOKEN_FIELD)
        # Per request (flask.g), never on the view, which every request and thread shares.
        g.submission_token = (token.data or "").strip()[:64] if token is not None else ""
        try:
            return super().create_model(form)  # type: ignore[misc]
        finally:
            g.submission_token = ""

    def _on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        super()._on_model_change(form, model, is_created)  # type: ignore[misc]
        token = g.get("submission_token", "") if is_created else ""
        if token:
            # In the record's own transaction: a second save of the form fails on the key,
            # however close behind the first it comes.
            db.session.flush()  # the record's own refusals first, in their own words
            now = utcnow()
            try:
                db.session.execute(insert(SubmittedForm).values(token=token, submitted_at=now))
            except IntegrityError as exc:
                if "submitted_form" not in str(exc.orig):
                    raise
                raise ValidationError(SENT_TWICE) from exc
            prune_submitted_forms(now)

    def edit_form(self, obj: Any = None):  # type: ignore[no-untyped-def]
        form = super().edit_form(obj)  # type: ignore[misc]
        field = form._fields.get(VERSION_FIELD)
        if field is not None and obj is not None and request.method == "GET":
            self._stamp(form, obj, snapshot(form))
        return form

    def _stamp(self, form: Any, model: Any, values: dict[str, list[Any]]) -> None:
        field = form._fields[VERSION_FIELD]
        field.data = _serializer().dumps({"v": getattr(model, VERSION_COLUMN), "s": values})
        field.raw_data = []

    def _opened(self, form: Any) -> dict[str, Any] | None:
        field = form._fields.get(VERSION_FIELD)
        if field is None or not field.data:
            return None
        try:
            opened = _serializer().loads(field.data)
        except BadSignature:
            return {"v": None, "s": {}}  # a damaged form is as stale as can be
        return opened if isinstance(opened, dict) else {"v": None, "s": {}}

    # --- the save ------------------------------------------------------------------------

    def update_model(self, form: Any, model: Any) -> bool:
        opened = self._opened(form) if self._versioned() else None
        if opened is None:
            return bool(super().update_model(form, model))  # type: ignore[misc]
        # Read the record as it is now, locked (PostgreSQL) until this save commits or not.
        try:
            db.session.refresh(model, with_for_update=True)
        except DBAPIError as exc:
            if not db_timeouts.handles(exc):
                raise
            db.session.rollback()
            flash(db_timeouts.message(exc), "error")  # the form keeps what the user typed
            return False
        fresh = self._edit_form_class(formdata=None, obj=model)  # type: ignore[attr-defined]
        now = snapshot(fresh)
        then: dict[str, list[Any]] = opened.get("s") or {}
        names = [n for n in form._fields if n not in SKIPPED_FIELDS and n in now]
        changed = [n for n in names if n in then and then[n][0] != now[n][0]]
        if opened.get("v") == getattr(model, VERSION_COLUMN) and not changed:
            return bool(super().update_model(form, model))  # type: ignore[misc]
        db.session.rollback()  # nothing written; the row lock goes
        self._merge_stale(form, fresh, then, now, changed)
        self._stamp(form, model, now)
        flash(STALE_SAVE if changed else STALE_HIDDEN, "error")
        return False

    def _merge_stale(
        self,
        form: Any,
        fresh: Any,
        then: dict[str, list[Any]],
        now: dict[str, list[Any]],
        changed: list[str],
    ) -> None:
        """Fields the user left alone take the new values; each changed field says how."""
        for name in changed:
            field = form._fields[name]
            mine = plain(field.data)
            if mine == then[name][0]:
                field.process(None, data=fresh._fields[name].object_data)
                field.raw_data = []  # shown from the new value, not from what was posted
                kept = "The form now shows the new value."
            elif mine == now[name][0]:
                kept = "Your form has the same value."
            else:
                kept = "The form keeps your value: check which should stay."
            message = (
                f"Changed by someone else since you opened this form: now “{now[name][1]}”, "
                f"when you opened it “{then[name][1]}”. {kept}"
            )
            field.errors = [*list(field.errors or []), message]

    def handle_view_exception(self, exc: Exception) -> bool:
        """Another save in the instant between reading and writing, or a lock or statement
        timeout: refused in words over the form as filled in. A database outage goes on to
        the panel's static page (infra/outage.py)."""
        if isinstance(exc, StaleDataError):
            db.session.rollback()
            flash(SAME_MOMENT, "error")
            return True
        if isinstance(exc, DBAPIError) and db_timeouts.handles(exc):
            db.session.rollback()
            flash(db_timeouts.message(exc), "error")
            return True
        if outage.is_outage(exc):
            raise exc
        return bool(super().handle_view_exception(exc))  # type: ignore[misc]
