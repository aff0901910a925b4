"""Sign-in, sign-out and the current user (Flask-Login), with argon2 password hashes."""

from .blueprint import bp, login_manager
from .passwords import hash_password, verify_password

__all__ = ["bp", "hash_password", "login_manager", "verify_password"]
