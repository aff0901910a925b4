"""Users: the screen for User."""

from __future__ import annotations

from models import User

from .base import SUPERVISORS, AppModelView


class UserView(AppModelView):
    write_roles = SUPERVISORS


VIEW = (UserView, User, "Users", "Administration")
