"""Configuration from the environment, so every process behind gunicorn is configured alike."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent
INSTANCE = ROOT / "instance"


def database_url() -> str:
    """DATABASE_URL, else a SQLite file under instance/ (the embedded default)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        # Heroku-style URLs name the dialect "postgres"; SQLAlchemy wants psycopg 3 spelled out.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgres://")
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url
    INSTANCE.mkdir(exist_ok=True)
    return f"sqlite:///{INSTANCE / 'transport.db'}"


def migration_database_url() -> str:
    """MIGRATION_DATABASE_URL (the tables' owner, for alembic), else DATABASE_URL."""
    url = os.environ.get("MIGRATION_DATABASE_URL")
    if not url:
        return database_url()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def secret_key() -> str:
    """SECRET_KEY from the environment; for the demo, one generated once and kept in instance/.

    A key per process would break sessions across gunicorn workers, hence the file.
    """
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    INSTANCE.mkdir(exist_ok=True)
    path = INSTANCE / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def from_environment() -> dict[str, object]:
    secure = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    return {
        "SQLALCHEMY_DATABASE_URI": database_url(),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SECRET_KEY": secret_key(),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": timedelta(
            minutes=int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
        ),
        "SESSION_REFRESH_EACH_REQUEST": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
        # Sign-in rate limits' counters: redis:// or memcached:// shared by every worker in
        # production; memory:// (per process) only for the single-process demo.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "SESSION_ABSOLUTE_HOURS": float(os.environ.get("SESSION_ABSOLUTE_HOURS", "10")),
        # Evidence documents uploaded to cases (services/casework.py): outside the database,
        # owner-only; back it up with the database.
        "CASE_DOCUMENTS_DIR": os.environ.get(
            "CASE_DOCUMENTS_DIR", str(INSTANCE / "case-documents")
        ),
    }
