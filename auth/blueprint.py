"""The sign-in and sign-out pages; accounts lock after repeated failures."""

from __future__ import annotations

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
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from models import User, db
from services.audit import acting_user

from .passwords import hash_password, verify_password

# Defaults; LOGIN_MAX_FAILURES and LOGIN_LOCKOUT_MINUTES in the app config override them.
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
# Verified against when the username is unknown, so a wrong username takes as long as a wrong
# password and response times do not reveal which accounts exist.
_DUMMY_HASH = hash_password("not a real password: timing equaliser")

bp = Blueprint("auth", __name__, template_folder="templates")
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to use the transport panel."
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=60)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


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


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data))
        now = datetime.now(UTC)
        locked = (
            user is not None and user.locked_until is not None and _aware(user.locked_until) > now
        )
        password = form.password.data or ""
        if user is None:
            verify_password(_DUMMY_HASH, password)
        if (
            user is not None
            and user.active
            and not locked
            and verify_password(user.password_hash, password)
        ):
            user.failed_logins = 0
            user.locked_until = None
            user.last_login_at = now
            # The trail shows who signed in; failures stay "anonymous" (anyone may type a name).
            with acting_user(user.username, user.id):
                db.session.commit()
            session.clear()
            session.permanent = True
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        if user is not None and not locked:
            max_failures, lockout = _limits()
            user.failed_logins += 1
            if user.failed_logins >= max_failures:
                user.locked_until = now + lockout
                user.failed_logins = 0
            db.session.commit()
        # One message for every failure, so the page does not reveal which usernames exist.
        flash("Sign-in failed: check your username and password, or try again later.", "error")
    return render_template("auth/login.html", form=form), 200


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@bp.route("/logout", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))
