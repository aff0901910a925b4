"""Password hashing with argon2id (OWASP's first choice), and the rules a new password meets.

The rules follow the NCSC's password guidance: a minimum length, a deny list of the most common
passwords, no composition rules (no "one capital, one digit"), no expiry, and nothing that
cannot be typed back: a password of only whitespace is refused, since sign-in strips nothing and
the form would treat it as empty.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD = 12
MAX_PASSWORD = 200
_COMMON = Path(__file__).with_name("common_passwords.txt")

_hasher = PasswordHasher()
_dummy: str | None = None


def configure_hashing(*, time_cost: int, memory_cost: int, parallelism: int) -> None:
    """Change argon2's cost for new hashes. Only the test suite calls this (tests/conftest.py:
    a cheap hash keeps sign-ins quick there); the panel keeps argon2-cffi's defaults. A hash
    records its own parameters, so existing hashes verify either way."""
    global _hasher, _dummy
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    _dummy = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def dummy_hash() -> str:
    """A hash no password matches, at the current cost: verified against when the username is
    unknown, so a wrong username takes as long as a wrong password."""
    global _dummy
    if _dummy is None:
        _dummy = hash_password("not a real password: timing equaliser")
    return _dummy


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _common() -> frozenset[str]:
    lines = _COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def _folded(password: str) -> str:
    return re.sub(r"\s+", "", password).lower()


def is_common(password: str) -> bool:
    """On the deny list, alone, repeated or with digits or symbols after it ("password123!")."""
    folded = _folded(password)
    if folded in _common():
        return True
    stem = re.sub(r"[\d\W_]+$", "", folded)
    if stem in _common() and len(stem) >= 4:
        return True
    for word in _common():
        if len(word) >= 3 and folded == word * (len(folded) // len(word)) and len(folded) > 0:
            return True
    return len(set(folded)) <= 2


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why `password` cannot be used, in words for the person choosing it; None when it can."""
    if not password.strip():
        return "The password cannot be only spaces."
    if len(password) < MIN_PASSWORD:
        return f"The password must be at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"The password must be at most {MAX_PASSWORD} characters."
    if username and _folded(username) and _folded(username) in _folded(password):
        return "The password cannot contain the username."
    if is_common(password):
        return "That password is too common to protect an account; choose a less guessable one."
    return None
