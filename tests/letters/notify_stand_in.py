"""A local stand-in for GOV.UK Notify's e-mail API, strict about what it is sent.

It answers POST /v2/notifications/email as Notify does (201 with the notification's id, or
Notify's error shape) and checks each request the way Notify documents:

* `Authorization: Bearer <JWT>`, HS256, signed with the API key's secret (its last 36
  characters), `iss` the service id (the 36 before them), `iat` within 30 seconds of now;
* a JSON body with `email_address`, `template_id` (the service's template), `personalisation`
  (here `subject` and `body`, the template's two placeholders) and an optional `reference`.

Everything received (auth claims and body) is kept for the tests to read; refused requests are
kept too, with the reason.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

BOUND_SECONDS = 30


def make_api_key(name: str = "panel_test") -> tuple[str, str, str]:
    """(the API key, its service id, its secret), in Notify's key format."""
    service_id, secret = str(uuid.uuid4()), str(uuid.uuid4())
    return f"{name}-{service_id}-{secret}", service_id, secret


@dataclass
class Received:
    status: int
    claims: dict[str, Any] | None
    body: dict[str, Any] | None
    error: str | None = None


@dataclass
class NotifyStandIn:
    service_id: str
    secret: str
    template_id: str
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.status == 201]

    def start(self) -> NotifyStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status, payload, record = stand_in.handle(
                    self.path, self.headers.get("Authorization", ""), raw
                )
                stand_in.received.append(record)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- the checks ------------------------------------------------------------------------

    def handle(self, path: str, authorization: str, raw: bytes) -> tuple[int, Any, Received]:
        claims, auth_error = self._check_auth(authorization)
        if auth_error:
            return (
                403,
                _error(403, "AuthError", auth_error),
                Received(403, claims, None, auth_error),
            )
        if path != "/v2/notifications/email":
            return 404, _error(404, "NotFound", "not found"), Received(404, claims, None, "path")
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return (
                400,
                _error(400, "BadRequestError", "not JSON"),
                Received(400, claims, None, "json"),
            )
        problem = self._check_body(body)
        if problem:
            return (
                400,
                _error(400, "ValidationError", problem),
                Received(400, claims, body, problem),
            )
        notification_id = str(uuid.uuid4())
        personal = body["personalisation"]
        response = {
            "id": notification_id,
            "reference": body.get("reference"),
            "content": {
                "subject": personal["subject"],
                "body": personal["body"],
                "from_email": "school.transport@notifications.service.gov.uk",
            },
            "uri": f"{self.url}/v2/notifications/{notification_id}",
            "template": {
                "id": self.template_id,
                "version": 1,
                "uri": f"{self.url}/services/{self.service_id}/templates/{self.template_id}",
            },
        }
        return 201, response, Received(201, claims, body)

    def _check_auth(self, authorization: str) -> tuple[dict[str, Any] | None, str | None]:
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token:
            return None, "Unauthorized: authentication token must be provided"
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, key=self.secret, algorithms=["HS256"], leeway=BOUND_SECONDS)
        except jwt.InvalidSignatureError:
            return None, "Invalid token: signature, api token not found"
        except jwt.PyJWTError as error:
            return None, f"Invalid token: {type(error).__name__}"
        if header.get("typ") != "JWT" or header.get("alg") != "HS256":
            return claims, "Invalid token: header"
        if claims.get("iss") != self.service_id:
            return claims, "Invalid token: service not found"
        iat = claims.get("iat")
        if not isinstance(iat, int) or abs(time.time() - iat) > BOUND_SECONDS:
            return claims, "Error: Your system clock must be accurate to within 30 seconds"
        return claims, None

    def _check_body(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "body must be a JSON object"
        allowed = {"email_address", "template_id", "personalisation", "reference",
                   "email_reply_to_id", "one_click_unsubscribe_url"}  # fmt: skip
        extra = set(body) - allowed
        if extra:
            return f"Additional properties are not allowed ({', '.join(sorted(extra))})"
        email = body.get("email_address")
        if not isinstance(email, str) or "@" not in email or " " in email.strip():
            return "email_address Not a valid email address"
        if body.get("template_id") != self.template_id:
            return "template_id is not a valid UUID or not this service's template"
        personal = body.get("personalisation")
        if not isinstance(personal, dict):
            return "personalisation must be an object"
        missing = [p for p in ("subject", "body") if not isinstance(personal.get(p), str)]
        if missing:
            return f"Missing personalisation: {', '.join(missing)}"
        reference = body.get("reference")
        if reference is not None and not isinstance(reference, str):
            return "reference must be a string"
        return None


def _error(status: int, kind: str, message: str) -> dict[str, Any]:
    return {"errors": [{"error": kind, "message": message}], "status_code": status}
