"""The base every screen inherits: role checks on the server, clear messages, no N+1 lists.

Access is decided here, per request, from the signed-in user's roles; hiding a link is never
the control. Reading, writing, deleting, exporting and each bulk action have their own roles.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import abort, flash, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from models import db
from models.enums import Role

STAFF = (Role.ASSISTANT, Role.OFFICER, Role.SUPERVISOR)
ASSISTANTS = (Role.ASSISTANT,)  # User.has_role lets officers and supervisors through too
OFFICERS = (Role.OFFICER,)
SUPERVISORS = (Role.SUPERVISOR,)

WRITE_ENDPOINTS = {"create_view", "edit_view", "delete_view", "ajax_update"}


def user_has(roles: Iterable[Role]) -> bool:
    return bool(current_user.is_authenticated and current_user.has_role(*roles))


class SecuredIndexView(AdminIndexView):
    @expose("/")
    def index(self):  # type: ignore[no-untyped-def]
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.path))
        return self.render("admin/home.html")


class AppModelView(ModelView):
    """A Flask-Admin ModelView with per-role access enforced for every endpoint."""

    read_roles: tuple[Role, ...] = STAFF
    write_roles: tuple[Role, ...] = ASSISTANTS
    delete_roles: tuple[Role, ...] | None = None  # defaults to write_roles
    export_roles: tuple[Role, ...] | None = None  # defaults to read_roles
    action_roles: dict[str, tuple[Role, ...]] = {}

    page_size = 50
    can_set_page_size = True
    can_view_details = True
    can_export = True
    export_types = ["csv", "xlsx"]
    export_max_rows = 100_000
    details_modal = False
    create_modal = False
    edit_modal = False

    def __init__(self, model: type, *args: object, **kwargs: object) -> None:
        super().__init__(model, db, *args, **kwargs)

    # Flask-Admin reads these flags to draw buttons and to guard its own endpoints; making
    # them depend on the user keeps the screens and the server in agreement.
    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return self.allow_create and user_has(self.write_roles)

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self.allow_edit and user_has(self.write_roles)

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return self.allow_delete and user_has(self.delete_roles or self.write_roles)

    allow_create = True
    allow_edit = True
    allow_delete = True

    def is_accessible(self) -> bool:
        return user_has(self.read_roles)

    def inaccessible_callback(self, name: str, **kwargs: object):  # type: ignore[no-untyped-def]
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)

    def _handle_view(self, name: str, **kwargs: object):  # type: ignore[no-untyped-def]
        denied = super()._handle_view(name, **kwargs)
        if denied is not None:
            return denied
        if name == "create_view" and not self.can_create:
            abort(403)
        if name in {"edit_view", "ajax_update"} and not self.can_edit:
            abort(403)
        if name == "delete_view" and not self.can_delete:
            abort(403)
        if name == "export" and not user_has(self.export_roles or self.read_roles):
            abort(403)
        if name == "action_view" and request.method == "POST":
            action = request.form.get("action", "")
            if action == "delete" and not self.can_delete:
                abort(403)
            if action in self.action_roles and not user_has(self.action_roles[action]):
                abort(403)
        return None

    def is_action_allowed(self, name: str) -> bool:
        if name == "delete":
            return self.can_delete
        if name in self.action_roles:
            return user_has(self.action_roles[name])
        return super().is_action_allowed(name)

    def handle_view_exception(self, exc: Exception) -> bool:
        """A refused delete or a clash with a unique key is a message, never a 500."""
        if isinstance(exc, IntegrityError):
            db.session.rollback()
            flash(integrity_message(exc), "error")
            return True
        return super().handle_view_exception(exc)


def integrity_message(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    if "foreign key" in text or "violates foreign key" in text:
        return (
            "This record is still used elsewhere (for example by routes, areas or applications), "
            "so it cannot be deleted or changed that way. Remove or reassign those first."
        )
    if "unique" in text or "duplicate key" in text:
        return "Another record already has this value; each must be unique. Nothing was saved."
    if "check" in text:
        return (
            "A value is outside what is allowed (for example a negative number). Nothing was saved."
        )
    return (
        "The change could not be saved because it conflicts with other records. Nothing was saved."
    )
