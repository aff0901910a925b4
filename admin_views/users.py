"""Staff accounts (supervisors only): roles as checkboxes, passwords set through the form.

A password is only ever written as its argon2 hash; the form never shows one back and the audit
trail masks the hash. Accounts are deactivated rather than deleted, so the audit trail and
records that name their author keep pointing at a real person. A supervisor cannot remove their
own supervisor role or deactivate themselves, and the last active supervisor cannot be demoted:
someone must always be able to manage accounts.
"""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from sqlalchemy import func, select
from wtforms import (
    BooleanField,
    PasswordField,
    SelectChoice,
    SelectMultipleField,
    ValidationError,
    widgets,
)
from wtforms.validators import Length, Optional

from auth.passwords import MAX_PASSWORD, MIN_PASSWORD, hash_password, password_problem
from models import User, UserRole, db
from models.enums import Role

from .base import SUPERVISORS, AppModelView

EXTRA_FIELDS = ("role_choices", "new_password", "unlock")


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _roles_formatter(view: Any, context: Any, model: User, name: str) -> str:
    return ", ".join(sorted(role.value for role in model.roles))


class UserView(AppModelView):
    read_roles = SUPERVISORS
    write_roles = SUPERVISORS
    allow_delete = False  # deactivate instead: the trail and authored records keep their person
    can_export = False

    column_list = ("username", "full_name", "email", "roles", "active", "last_login_at")
    column_details_list = (
        "username",
        "full_name",
        "email",
        "roles",
        "active",
        "last_login_at",
        "locked_until",
        "failed_logins",
        "created_at",
    )
    column_formatters = {"roles": _roles_formatter}
    column_formatters_detail = {"roles": _roles_formatter}
    column_searchable_list = ("username", "full_name", "email")
    column_filters = ("active",)
    column_default_sort = "username"
    form_columns = ("username", "full_name", "email", "active")
    form_excluded_columns = ("password_hash",)

    def scaffold_form(self):  # type: ignore[no-untyped-def]
        form_class = super().scaffold_form()
        form_class.role_choices = CheckboxesField(
            "Roles",
            choices=[SelectChoice(r.value, r.value.title()) for r in Role],
            description="A supervisor can do everything an officer can; an officer everything "
            "an assistant can.",
        )
        form_class.new_password = PasswordField(
            "New password",
            # Not stripped: twelve spaces must reach password_problem, not pass as "empty".
            validators=[
                Optional(strip_whitespace=False),
                Length(min=MIN_PASSWORD, max=MAX_PASSWORD),
            ],
            description=f"At least {MIN_PASSWORD} characters and not a common password (a few "
            "unrelated words work well). Leave empty to keep the current password. It is "
            "stored only as an argon2 hash.",
        )
        form_class.unlock = BooleanField("Clear a sign-in lockout")

        original = form_class.populate_obj

        def populate_obj(form: Any, obj: Any) -> None:
            # The extra fields are handled in on_model_change; never copy them onto the model.
            saved = {name: form._fields.pop(name) for name in EXTRA_FIELDS if name in form._fields}
            try:
                original(form, obj)
            finally:
                form._fields.update(saved)

        form_class.populate_obj = populate_obj
        return form_class

    def on_form_prefill(self, form: Any, id: Any) -> None:
        user = db.session.get(User, int(id))
        if user is not None:
            form.role_choices.data = sorted(role.value for role in user.roles)

    def on_model_change(self, form: Any, model: User, is_created: bool) -> None:
        chosen = {Role(value) for value in (form.role_choices.data or [])}
        if not chosen:
            raise ValidationError("Choose at least one role.")
        password = form.new_password.data or ""
        if is_created and not password:
            raise ValidationError(f"Set a password of at least {MIN_PASSWORD} characters.")
        is_self = model.id is not None and model.id == current_user.id
        if is_self and (Role.SUPERVISOR not in chosen or not model.active):
            raise ValidationError(
                "You cannot remove your own supervisor role or deactivate your own account; "
                "ask another supervisor."
            )
        if not is_created and (Role.SUPERVISOR not in chosen or not model.active):
            self._keep_a_supervisor(model)
        if chosen != model.roles:
            model.role_rows = [row for row in model.role_rows if row.role in chosen] + [
                UserRole(role=role) for role in chosen - model.roles
            ]
        if password:
            problem = password_problem(password, model.username)
            if problem:
                raise ValidationError(problem)
            model.password_hash = hash_password(password)
        if form.unlock.data:
            model.failed_logins = 0
            model.locked_until = None

    def _keep_a_supervisor(self, model: User) -> None:
        others = db.session.scalar(
            select(func.count(User.id))
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.SUPERVISOR, User.active, User.id != model.id)
        )
        if not others:
            raise ValidationError(
                "This is the last active supervisor; make someone else a supervisor first."
            )


VIEW = (UserView, User, "Users", "Administration")
