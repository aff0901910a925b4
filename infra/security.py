"""Security headers on every response, the CSP nonce, and friendly error pages.

The Content-Security-Policy allows scripts only from this site or carrying the per-request
nonce that Flask-Admin 2 stamps on its inline scripts (``Admin(csp_nonce_generator=...)``), so an
injected ``<script>`` in a pupil's name cannot run. Flask-Admin's delete buttons use two inline
``onclick`` confirmations; rather than allow every inline handler, the policy allows exactly those
two by hash ('unsafe-hashes'). Styles keep 'unsafe-inline' because the admin templates and their
widgets set ``style=`` attributes, which nonces cannot cover; style injection cannot run code.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from flask import Flask, Response, current_app, g, render_template, request
from werkzeug.exceptions import HTTPException

# The exact inline handlers of the delete confirmations (Flask-Admin 2.2's row_actions.html;
# the record page's delete form, admin/details.html, which asks with the browser's own
# confirm) and of layout.html: hashing them keeps the confirmation working under the CSP.
ALLOWED_INLINE_HANDLERS = (
    "return faHelpers.safeConfirm('Are you sure you want to delete this record?');",
    "return confirm('Are you sure you want to delete this record?');",
    "return false;",
)


def _hash(source: str) -> str:
    digest = hashlib.sha256(source.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


HANDLER_HASHES = " ".join(_hash(s) for s in ALLOWED_INLINE_HANDLERS)


def _panel_handlers(app: Flask) -> str:
    """Hashes of the inline handlers Flask-Admin writes for this app's own screens.

    actions.html: ``return modelActions.execute('<action>');`` per bulk action, and
    inline_list_base.html: ``faForm.addInlineField(this, '<field>');`` per inline list. The
    names come from the registered views, so the list is fixed once the app is built.
    """
    cached = app.extensions.get("csp_handler_hashes")
    if cached is not None:
        return str(cached)
    sources = set(ALLOWED_INLINE_HANDLERS) | {"javascript:void(0)"}
    for admin in app.extensions.get("admin", []):
        for view in getattr(admin, "_views", []):
            for name, _text in getattr(view, "_actions", None) or []:
                sources.add(f"return modelActions.execute('{name}');")
            inline = {getattr(i, "model", i) for i in getattr(view, "inline_models", None) or ()}
            mapper = getattr(getattr(view, "model", None), "__mapper__", None)
            if inline and mapper is not None:
                for rel in mapper.relationships:
                    if rel.mapper.class_ in inline:
                        sources.add(f"faForm.addInlineField(this, '{rel.key}');")
    value = " ".join(sorted(_hash(source) for source in sources))
    app.extensions["csp_handler_hashes"] = value
    return value


def csp_nonce() -> str:
    """One nonce per request, however many times templates ask for it."""
    nonce = getattr(g, "csp_nonce", None)
    if nonce is None:
        nonce = secrets.token_urlsafe(18)
        g.csp_nonce = nonce
    return nonce


def content_security_policy(nonce: str, handler_hashes: str = HANDLER_HASHES) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}' 'unsafe-hashes' {handler_hashes}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


# Static files carry no personal data and may be cached; everything else may (pupil names,
# addresses, payments), so browsers and proxies must not keep a copy.
def _cacheable(path: str) -> bool:
    return "/static/" in path


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(
        csp_nonce(), _panel_handlers(current_app)
    )
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if not _cacheable(request.path):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


MESSAGES = {
    400: (
        "The request could not be used",
        "The form was incomplete or had expired. Go back, reload the page and try again.",
    ),
    403: (
        "Not allowed",
        "Your role does not allow this. Nothing was changed. Ask a supervisor if you need access.",
    ),
    404: ("Not found", "There is nothing at this address. It may have been deleted."),
    405: ("Not allowed", "This address cannot be used that way."),
    413: ("Too large", "The upload is too large."),
    500: (
        "Something went wrong",
        "The change was not saved. The error has been logged; "
        "please try again, and tell the system owner if it happens again.",
    ),
}


def _error_page(error: Exception) -> tuple[str, int]:
    code = error.code if isinstance(error, HTTPException) and error.code else 500
    if code == 500:
        from models import db

        db.session.rollback()
    title, message = MESSAGES.get(code, ("Error", "The request could not be completed."))
    if isinstance(error, HTTPException) and code == 400 and "CSRF" in (error.description or ""):
        message = (
            "The form's security token was missing or expired, so nothing was changed. "
            "Reload the page and try again."
        )
    return render_template("errors/error.html", code=code, title=title, message=message), code


def init_security(app: Flask) -> None:
    app.after_request(set_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    for code in MESSAGES:
        app.register_error_handler(code, _error_page)
    # Anything unexpected: a plain page, never a traceback (unless debugging locally).
    app.register_error_handler(Exception, _unexpected)


def _unexpected(error: Exception):  # type: ignore[no-untyped-def]
    if isinstance(error, HTTPException):
        return _error_page(error)
    from flask import current_app

    propagate = current_app.config.get("PROPAGATE_EXCEPTIONS")
    if propagate is None:
        propagate = current_app.testing or current_app.debug
    if propagate:  # tests and local debugging want the real traceback
        raise error
    current_app.logger.exception("unhandled error on %s", request.path)
    return _error_page(error)
