"""The application factory: wires configuration, database, sign-in, screens and commands."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, redirect, url_for
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

import config
from models import db
from services.private_files import restrict_sqlite_file

csrf = CSRFProtect()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite enforces foreign keys only when asked, per connection."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
        restrict_sqlite_file(dbapi_connection)


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(config.INSTANCE))
    app.config.update(config.from_environment())
    if overrides:
        app.config.update(overrides)

    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind a TLS proxy the client's address (for sign-in rate limits) is in
        # X-Forwarded-For; trust exactly as many hops as there are proxies.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    db.init_app(app)
    csrf.init_app(app)
    from infra import db_timeouts

    with app.app_context():
        db_timeouts.bind(db.engine, app)  # statement and lock timeouts per request (issue 18)

    from infra.audit_actor import request_actor
    from infra.security import init_security
    from services.audit import install as install_audit
    from services.audit import set_request_actor
    from services.record_versions import install as install_record_versions

    install_record_versions()  # set-based UPDATEs raise the rows' versions (issue 18)
    install_audit()  # session-level audit trail: panel, bulk actions, commands, services
    set_request_actor(request_actor)  # the signed-in user, for rows written in a request
    from infra.documents import documents_root
    from services.anonymise import set_documents_root

    set_documents_root(documents_root)  # the evidence documents' store, for anonymising
    init_security(app)  # security headers, CSP nonce, friendly error pages
    from infra import outage

    outage.install(app)  # database down: a static 503 page and one log line (issue 18)

    from auth import bp as auth_bp
    from auth import login_manager

    login_manager.init_app(app)
    from auth.throttle import init_throttle

    init_throttle(app)  # sign-in rate limits, in RATELIMIT_STORAGE_URI's shared storage
    app.register_blueprint(auth_bp)

    from admin_views import init_admin
    from infra.html_params import install as install_html_params

    install_html_params()  # the same attributes, written faster (issue 18)

    init_admin(app)

    from cli import register_commands

    register_commands(app)

    @app.route("/")
    def root():  # type: ignore[no-untyped-def]
        return redirect(url_for("admin.index"))

    return app
