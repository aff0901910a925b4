"""Rate limits in front of the password hash: per client address and per typed username.

Built on `limits` (the maintained library under Flask-Limiter) rather than Flask-Limiter's
route decorators because sign-in needs two things a decorator does not give: the limits are
*tested* before the password is hashed (an exhausted client costs no argon2 work) and *hit*
only by a failed attempt (colleagues signing in all day behind one office address use none).

The counters live in the storage named by ``RATELIMIT_STORAGE_URI`` (config.py reads it from the
environment): ``redis://host:6379/0`` or ``memcached://host:11211`` in production, so every
gunicorn worker and every server counts the same failures; the default ``memory://`` counts per
process and suits only the single-process demo (README, "With gunicorn").

The per-account key is the username as typed, whether or not such an account exists, so the
limit's answer never tells an outsider which usernames are real.
"""

from __future__ import annotations

import dataclasses
import time

from flask import Flask, current_app, request
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

EXTENSION = "sign_in_throttle"
DEFAULT_STORAGE = "memory://"
DEFAULT_PER_CLIENT = "20 per 15 minutes"
DEFAULT_PER_ACCOUNT = "20 per hour"


@dataclasses.dataclass
class SignInThrottle:
    storage: Storage
    limiter: MovingWindowRateLimiter
    per_client: RateLimitItem
    per_account: RateLimitItem

    def _keys(self, username: str) -> list[tuple[RateLimitItem, str]]:
        return [
            (self.per_client, f"client:{request.remote_addr or '?'}"),
            (self.per_account, f"account:{username.strip().casefold()}"),
        ]

    def allowed(self, username: str) -> bool:
        """May this client try this username now? Consumes nothing."""
        return all(self.limiter.test(item, "sign-in", key) for item, key in self._keys(username))

    def failed(self, username: str) -> None:
        for item, key in self._keys(username):
            self.limiter.hit(item, "sign-in", key)

    def retry_minutes(self, username: str) -> int:
        """Whole minutes until every exhausted limit lets one more attempt through."""
        wait = 0.0
        for item, key in self._keys(username):
            stats = self.limiter.get_window_stats(item, "sign-in", key)
            if stats.remaining <= 0:
                wait = max(wait, stats.reset_time - time.time())
        return max(1, int(wait // 60) + (1 if wait % 60 else 0))

    def reset(self) -> None:
        self.storage.reset()


def init_throttle(app: Flask) -> None:
    config = app.config
    storage = storage_from_string(config.get("RATELIMIT_STORAGE_URI") or DEFAULT_STORAGE)
    assert isinstance(storage, Storage), "sign-in limits use a synchronous storage"
    app.extensions[EXTENSION] = SignInThrottle(
        storage=storage,
        limiter=MovingWindowRateLimiter(storage),
        per_client=parse(config.get("SIGN_IN_LIMIT_PER_CLIENT") or DEFAULT_PER_CLIENT),
        per_account=parse(config.get("SIGN_IN_LIMIT_PER_ACCOUNT") or DEFAULT_PER_ACCOUNT),
    )


def throttle() -> SignInThrottle:
    found: SignInThrottle = current_app.extensions[EXTENSION]
    return found
