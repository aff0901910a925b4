"""Staff accounts and their roles; every change in the system is attributed to one of them."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import DateTime, ForeignKey, String, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped, Versioned
from .enums import Role, enum_column


class User(UserMixin, Timestamped, Versioned, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Part of the id Flask-Login keeps in the session cookie (get_id): raising it ends every
    # session of this account, every copy of every cookie included (sign-out, a new password,
    # deactivation; see auth/sessions.py).
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> set[Role]:
        return {r.role for r in self.role_rows}

    def has_role(self, *roles: Role) -> bool:
        """A supervisor can do everything an officer can, and an officer what an assistant can."""
        held = self.roles
        if Role.SUPERVISOR in held:
            return True
        if Role.OFFICER in held and Role.ASSISTANT in roles:
            return True
        return bool(held.intersection(roles))

    def get_id(self) -> str:
        """Flask-Login's session id: the account and its session generation."""
        return f"{self.id}:{self.session_generation or 0}"

    def end_sessions(self) -> None:
        """Every signed-in copy of this account's session stops working at the next request."""
        self.session_generation = (self.session_generation or 0) + 1

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated account cannot sign in
        return self.active

    def __str__(self) -> str:
        return self.full_name


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")

    def __str__(self) -> str:
        return self.role.value


def _ends_sessions(target: User, value: object, oldvalue: object, _initiator: object) -> None:
    """A new password or a change of `active` ends the account's sessions (issue 16).

    On a stored account only; the old value is unknown (expired) after a commit, and then the
    sessions end too: ending one too many is safe, keeping one is not.
    """
    if inspect(target).persistent and value != oldvalue:
        target.end_sessions()


event.listen(User.password_hash, "set", _ends_sessions)
event.listen(User.active, "set", _ends_sessions)
