"""The sign-in and sign-out pages; accounts lock after repeated failures.

Sign-in holds against guessing and against telling accounts apart (issue 16):

* the client's and the typed username's rate limits (auth/throttle.py) are checked before any
  password is hashed;
* exactly one argon2 verification runs for every attempt that passes them, against the
  account's hash or, for an unknown username, a dummy one, so a locked, deactivated or
  unknown account answers in the same time as a wrong password, with the same words;
* failures are counted by one UPDATE in the database (``failed_logins = failed_logins + 1``,
  locking at the limit), never read and written back from Python, so parallel guesses cannot
  slip past the lock; a success is recorded by an UPDATE that matches only an active, unlocked
  account, so a lock set while the hash ran still holds.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import bindparam, case, or_, select, update
from sqlalchemy.orm import joinedload
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from models import User, db
from services.audit import acting_user

from .passwords import MAX_PASSWORD, dummy_hash, verify_password
from .throttle import throttle

# Defaults; LOGIN_MAX_FAILURES and LOGIN_LOCKOUT_MINUTES in the app config override them.
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
# SESSION_ABSOLUTE_HOURS overrides: however busy, a session ends this long after sign-in.
ABSOLUTE_LIFETIME = timedelta(hours=10)
SIGNED_IN_AT = "signed_in_at"

bp = Blueprint("auth", __name__, template_folder="templates")
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to use the transport panel."
login_manager.session_protection = "strong"


# The roles in the user's own statement: every request asks for them (one round trip, not
# two); the option is built once, not per request.
WITH_ROLES = (joinedload(User.role_rows),)
# The statement itself, built once: `session.get` builds its SELECT anew on every request.
USER_WITH_ROLES = select(User).options(*WITH_ROLES).where(User.id == bindparam("user_id"))


def absolute_lifetime() -> timedelta:
    """How long after sign-in a session ends, however busy (SESSION_ABSOLUTE_HOURS)."""
    hours = current_app.config.get("SESSION_ABSOLUTE_HOURS")
    return timedelta(hours=float(hours)) if hours is not None else ABSOLUTE_LIFETIME


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The account behind a session cookie, if that session may still be used.

    The cookie holds "<id>:<generation>" (User.get_id); a generation other than the account's
    current one is a session ended by sign-out, a new password or deactivation, whichever copy
    of the cookie presents it. A session older than the absolute lifetime ends too, however
    recently it was used.
    """
    user_id, _, generation = session_id.partition(":")
    if not user_id.isdigit() or not generation.isdigit():
        return None
    signed_in_at = session.get(SIGNED_IN_AT)
    if not isinstance(signed_in_at, int | float):
        return None
    if time.time() - signed_in_at > absolute_lifetime().total_seconds():
        return None
    user = db.session.execute(USER_WITH_ROLES, {"user_id": int(user_id)}).unique().scalar()
    if user is None or not user.active or user.session_generation != int(generation):
        return None
    return user


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=60)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_PASSWORD)])


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would let a phishing link borrow our sign-in."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(ch) < 32 for ch in target)
    ):
        return target
    return url_for("admin.index")


def _limits() -> tuple[int, timedelta]:
    config = current_app.config
    failures = int(config.get("LOGIN_MAX_FAILURES", MAX_FAILED_SIGN_INS))
    minutes = config.get("LOGIN_LOCKOUT_MINUTES")
    return failures, (timedelta(minutes=int(minutes)) if minutes is not None else LOCKOUT)


def failure_message() -> str:
    """The one message for every failed sign-in, whatever the account's state."""
    max_failures, lockout = _limits()
    minutes = int(lockout.total_seconds() // 60)
    return (
        "Sign-in failed: check your username and password. After "
        f"{max_failures} failed attempts an account is locked for {minutes} minutes; to get "
        "back in sooner, ask a supervisor to reset your password (Users screen, or "
        "`flask users set-password`)."
    )


def _unlocked(now: datetime):  # type: ignore[no-untyped-def]
    return or_(User.locked_until.is_(None), User.locked_until <= now)


def record_failure(user_id: int, now: datetime) -> None:
    """Count one failure in a single UPDATE; the limit-th locks the account and restarts the count.

    The row lock the UPDATE takes orders concurrent failures, and a locked account's row is not
    matched, so its lock is never extended or lifted by further guesses.
    """
    max_failures, lockout = _limits()
    reaches = User.failed_logins + 1 >= max_failures
    db.session.execute(
        update(User)
        .where(User.id == user_id, _unlocked(now))
        .values(
            failed_logins=case((reaches, 0), else_=User.failed_logins + 1),
            locked_until=case((reaches, now + lockout), else_=None),
        )
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()


def record_success(user: User, now: datetime) -> bool:
    """Clear the count, unless the account was locked or deactivated while the hash ran."""
    with acting_user(user.username, user.id):
        signed = db.session.execute(
            update(User)
            .where(User.id == user.id, User.active.is_(True), _unlocked(now))
            .values(failed_logins=0, locked_until=None, last_login_at=now)
            .returning(User.id)
            .execution_options(synchronize_session=False)
        ).all()
        db.session.commit()
    return bool(signed)


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 200
    username = (form.username.data or "").strip()
    guard = throttle()
    if not guard.allowed(username):
        flash(
            "Too many failed sign-ins from here or for this username. Wait "
            f"{guard.retry_minutes(username)} minutes and try again, or ask a supervisor to "
            "reset your password.",
            "error",
        )
        return render_template("auth/login.html", form=form), 429
    user = db.session.scalar(select(User).where(User.username == username))
    password = form.password.data or ""
    # One verification whatever the account's state: the time taken tells nothing.
    correct = verify_password(user.password_hash if user is not None else dummy_hash(), password)
    now = datetime.now(UTC)
    if user is not None and correct and user.active and record_success(user, now):
        db.session.refresh(user)
        session.clear()
        session.permanent = True
        session[SIGNED_IN_AT] = time.time()
        login_user(user)
        return redirect(_safe_next(request.args.get("next")))
    guard.failed(username)
    if user is not None:
        record_failure(user.id, now)  # the trail names "anonymous": anyone may type a name
    flash(failure_message(), "error")
    return render_template("auth/login.html", form=form), 200


@bp.route("/logout", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    """Ends this account's sessions everywhere: a copied cookie stops working too."""
    if current_user.is_authenticated:
        user = db.session.get(User, current_user.id)
        if user is not None:
            with acting_user(user.username, user.id):
                user.end_sessions()
                db.session.commit()
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))
