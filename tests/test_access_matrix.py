"""Every registered screen x every role x every endpoint: allowed gets through, forbidden gets
403 (or the sign-in page when anonymous) and changes nothing (issue 5, DOMAIN.md roles).

The matrix is built from the Admin registry at run time, so screens added later are covered
without editing this file. Two layers:

* enforcement: each view's declared role attributes are what the server actually does, for
  list, details, create GET/POST, edit GET/POST, delete POST, CSV export and every action;
* policy: the declared roles of the screens the issue names match DOMAIN.md (assistants key
  and maintain; officers decide, review and withdraw; supervisors own settings and users).

A forbidden POST is sent with a real record's id and a plausible form, and must leave the
view's table byte-for-byte unchanged and add no audit row (every ORM or bulk write is audited,
so an unchanged trail means nothing was written anywhere).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from admin_views.base import AppModelView
from models import (
    AuditLog,
    RetentionSetting,
    TermDateVariation,
    User,
    UserRole,
    db,
)
from models.enums import Role
from services.policy import ensure_parameter_set
from tests import factories
from tests.conftest import sign_in

ROLES = ("anonymous", "assistant", "officer", "supervisor")
MISSING_ID = "987654321"
STANDARD = {
    "index_view",
    "create_view",
    "edit_view",
    "details_view",
    "delete_view",
    "action_view",
    "export",
    "ajax_lookup",
    "ajax_update",
}

# DOMAIN.md / issue 5: the lowest role that may change each screen's records (higher roles
# inherit). None: nobody, not even a supervisor.
POLICY_WRITE: dict[str, Role | None] = {
    "school": Role.ASSISTANT,
    "parish": Role.ASSISTANT,
    "postcode": Role.ASSISTANT,
    "dta": Role.ASSISTANT,
    "route": Role.ASSISTANT,
    "pupil": Role.ASSISTANT,
    "transport_application": Role.ASSISTANT,
    "concessionary_application": Role.ASSISTANT,
    "payment": Role.ASSISTANT,
    "eligibility_decision": Role.OFFICER,
    "appeal": Role.OFFICER,
    "withdrawal": Role.OFFICER,
    "academic_year": Role.SUPERVISOR,
    "term_date_variation": Role.SUPERVISOR,
    "contribution_setting": Role.SUPERVISOR,
    "policy_parameter_set": Role.SUPERVISOR,
    "retention_setting": Role.SUPERVISOR,
    "user_account": Role.SUPERVISOR,
    "audit_log": None,
    # Issue 13: the log and the downloads are written by the services, never through a form;
    # template versions are added by supervisors on their own write page.
    "communication": None,
    "letter_download": None,
    "letter_template": None,
    "job": None,
    # Issue 14: a record of each import run, written by the imports themselves.
    "import_run": None,
}
RANK = {Role.ASSISTANT: 1, Role.OFFICER: 2, Role.SUPERVISOR: 3}


def holder(role: str) -> User | None:
    if role == "anonymous":
        return None
    user = User(username=role, full_name=role, password_hash="x")
    user.role_rows = [UserRole(role=Role(role))]
    return user


def has(user: User | None, roles: tuple[Role, ...] | None) -> bool:
    return bool(user is not None and roles and user.has_role(*roles))


def expected(view: AppModelView, role: str, op: str, action: str = "") -> bool:
    """What the view's declared attributes promise for `role` (mirrors AppModelView)."""
    user = holder(role)
    if not has(user, view.read_roles):
        return False
    delete_ok = view.allow_delete and has(user, view.delete_roles or view.write_roles)
    return {
        "list": True,
        "details": True,
        "create": view.allow_create and has(user, view.write_roles),
        "edit": view.allow_edit and has(user, view.write_roles),
        "delete": delete_ok,
        "export": has(user, view.export_roles or view.read_roles),
        "action": delete_ok
        if action == "delete"
        else has(user, view.action_roles.get(action, view.write_roles)),
    }[op]


class _FormHarvester(HTMLParser):
    """The values a form would submit, so a forbidden POST is a change that would succeed."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self.text_field: str | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name and name != "csrf_token":
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self.data[name] = a.get("value", "y")
            elif kind not in {"submit", "button", "file"}:
                self.data[name] = a.get("value", "")
                if kind == "text" and self.text_field is None and "-" not in name:
                    self.text_field = name
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data


def harvest(client: FlaskClient, url: str) -> dict[str, str]:
    try:
        response = client.get(url)
    except Exception:  # a broken form is reported by the GET check itself
        return {}
    if response.status_code != 200:
        return {}
    parser = _FormHarvester()
    parser.feed(response.get_data(as_text=True))
    data = dict(parser.data)
    if parser.text_field:
        data[parser.text_field] = (data[parser.text_field] + " changed")[:7]
    return data


def fingerprint(view: AppModelView) -> tuple[int, str]:
    """The newest audit row and a digest of the view's whole table."""
    with view.admin.app.app_context():
        return _fingerprint(view)


def _fingerprint(view: AppModelView) -> tuple[int, str]:
    last_audit = db.session.scalar(select(func.coalesce(func.max(AuditLog.id), 0)))
    table = view.model.__table__
    rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()
    return int(last_audit or 0), digest


def first_id(view: AppModelView) -> str:
    pk = list(view.model.__table__.primary_key.columns)
    if len(pk) != 1:
        return MISSING_ID
    with view.admin.app.app_context():
        value = db.session.scalar(select(pk[0]).order_by(pk[0]).limit(1))
    return MISSING_ID if value is None else str(value)


def seed() -> None:
    """One record on most screens, so forbidden writes aim at something real."""
    factories.academic_year("2024/25")
    factories.academic_year("2025/26", with_calendar=False)
    factories.contribution_setting("2024/25")
    a = factories.school(name="Alpha School")
    b = factories.school(name="Beta School")
    parish = factories.parish()
    postcode = factories.postcode("LN2 2BB", parish)
    factories.dta(a, parishes=[parish], postcodes=[postcode])
    route = factories.route([a, b])
    pupil = factories.pupil()
    factories.transport_application(pupil, a)
    factories.concessionary_application(pupil, b, route)
    ensure_parameter_set("2024/25")
    db.session.add(
        RetentionSetting(academic_year="2024/25", keep_years=6, legal_basis="Limitation Act 1980")
    )
    db.session.add(
        TermDateVariation(
            school=a,
            academic_year="2025/26",
            notice_on=date(2024, 6, 1),
            details="INSET week moved",
        )
    )
    db.session.commit()


def model_views(app: Flask) -> list[AppModelView]:
    admin = app.extensions["admin"][0]
    return [v for v in admin._views if isinstance(v, AppModelView)]


def action_names(view: AppModelView) -> list[str]:
    return [name for name, _text in view._actions]


@pytest.fixture
def seeded(app: Flask, users: dict[str, int]) -> Flask:
    # No app context stays pushed: requests must each get their own `g`, or a signed-in
    # user cached there by one client would leak into the next client's request.
    with app.app_context():
        seed()
    return app


def client_for(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    if role != "anonymous":
        sign_in(client, role)
    return client


def check_denied(response: Any, role: str, where: str, failures: list[str]) -> None:
    if role == "anonymous":
        location = response.headers.get("Location", "")
        if response.status_code != 302 or "/login" not in location:
            failures.append(f"{where}: anonymous got {response.status_code} {location}")
    elif response.status_code != 403:
        failures.append(f"{where}: {role} should be refused (403), got {response.status_code}")


def check_allowed(response: Any, role: str, where: str, failures: list[str]) -> None:
    if response.status_code == 403 or (
        response.status_code == 302 and "/login" in response.headers.get("Location", "")
    ):
        failures.append(f"{where}: {role} should be allowed, got {response.status_code}")


@pytest.mark.parametrize("role", ROLES)
def test_every_view_every_endpoint_enforces_roles_on_the_server(seeded: Flask, role: str) -> None:
    app = seeded
    client = client_for(app, role)
    harvester = client_for(app, "supervisor")
    failures: list[str] = []
    views = model_views(app)
    assert len(views) >= 20, "every screen is registered"
    for view in views:
        base = view.url
        rid = first_id(view)

        def get(op: str, url: str, view: AppModelView = view) -> None:
            where = f"GET {url}"
            try:
                response = client.get(url)
            except Exception as error:  # noqa: BLE001 - reported, with the rest, below
                failures.append(f"{where}: {role} raised {type(error).__name__}: {error}")
                return
            if expected(view, role, op):
                check_allowed(response, role, where, failures)
            else:
                check_denied(response, role, where, failures)

        def post(
            op: str,
            url: str,
            data: Callable[[], dict[str, str]],
            action: str = "",
            view: AppModelView = view,
            rid: str = rid,
        ) -> None:
            where = f"POST {url} {action}".rstrip()
            if expected(view, role, op, action):
                # Allowed: aim at a record that does not exist, so the matrix does not
                # delete the records later checks rely on.
                payload = data()
                if "rowid" in payload:
                    payload["rowid"] = MISSING_ID
                try:
                    response = client.post(url.replace(rid, MISSING_ID), data=payload)
                except Exception as error:  # noqa: BLE001 - reported below
                    failures.append(f"{where}: {role} raised {type(error).__name__}: {error}")
                    return
                check_allowed(response, role, where, failures)
                return
            # Harvest the form first: the harvester's GET of a case page is itself a read the
            # trail records (issue 16), and it is not what this check is about.
            payload = data()
            before = fingerprint(view)
            try:
                response = client.post(url, data=payload)
            except Exception as error:  # noqa: BLE001 - reported below
                failures.append(f"{where}: {role} raised {type(error).__name__}: {error}")
                return
            check_denied(response, role, where, failures)
            if fingerprint(view) != before:
                failures.append(f"{where}: refused for {role} but the database changed")

        get("list", f"{base}/")
        get("details", f"{base}/details/?id={rid}")
        get("create", f"{base}/new/")
        get("edit", f"{base}/edit/?id={rid}")
        get("export", f"{base}/export/csv/")
        post("create", f"{base}/new/", lambda base=base: harvest(harvester, f"{base}/new/"))
        post(
            "edit",
            f"{base}/edit/?id={rid}",
            lambda base=base, rid=rid: harvest(harvester, f"{base}/edit/?id={rid}"),
        )
        post("delete", f"{base}/delete/", lambda rid=rid: {"id": rid})
        for name in action_names(view):
            post(
                "action",
                f"{base}/action/",
                lambda name=name, rid=rid: {"action": name, "rowid": rid},
                action=name,
            )
    assert not failures, "\n".join(failures)


def test_every_custom_page_requires_sign_in(app: Flask, users: dict[str, int]) -> None:
    """Pages added with @expose (reports, imports) are behind sign-in like the model views."""
    client = app.test_client()
    checked = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin/") or rule.arguments or "static" in rule.endpoint:
            continue
        if "GET" not in (rule.methods or set()):
            continue
        response = client.get(rule.rule)
        checked.append(rule.rule)
        assert response.status_code == 302, rule.rule
        assert "/login" in response.headers["Location"], rule.rule
    assert any(r.endswith("/report/") for r in checked)


def test_every_custom_post_endpoint_refuses_anonymous_and_changes_nothing(
    seeded: Flask,
) -> None:
    """@expose(..., methods=["POST"]) pages (assess, allocate, withdraw, imports) too."""
    client = seeded.test_client()
    views = {v.endpoint: v for v in model_views(seeded)}
    checked = []
    for rule in seeded.url_map.iter_rules():
        endpoint, _, name = rule.endpoint.partition(".")
        if not rule.rule.startswith("/admin/") or "POST" not in (rule.methods or set()):
            continue
        if name in STANDARD or "static" in rule.endpoint:
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", "1").replace(f"<{arg}>", "1")
        view = views.get(endpoint)
        before = fingerprint(view) if view is not None else None
        response = client.post(url, data={})
        checked.append(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"], url
        if view is not None:
            assert fingerprint(view) == before, url
    assert checked, "the panel has custom POST endpoints to check"


@pytest.mark.parametrize("endpoint", sorted(POLICY_WRITE))
def test_declared_roles_match_the_domain_policy(app: Flask, endpoint: str) -> None:
    """DOMAIN.md: assistants key and maintain, officers decide/review/withdraw, supervisors
    own settings and accounts; the audit trail is written by nobody."""
    views = {v.endpoint: v for v in model_views(app)}
    if endpoint not in views:
        pytest.fail(f"no screen registered for {endpoint}")
    view = views[endpoint]
    lowest = POLICY_WRITE[endpoint]
    for role in ROLES[1:]:
        may_write = lowest is not None and RANK[Role(role)] >= RANK[lowest]
        for op in ("create", "edit"):
            if getattr(view, f"allow_{op}"):
                assert expected(view, role, op) == may_write, (endpoint, role, op)
        assert not expected(view, role, "delete") or may_write, (endpoint, role, "delete")
        for name in action_names(view):
            assert not expected(view, role, "action", name) or may_write, (endpoint, role, name)


def test_audit_log_cannot_be_written_by_anyone(app: Flask) -> None:
    view = {v.endpoint: v for v in model_views(app)}["audit_log"]
    for role in ROLES:
        for op in ("create", "edit", "delete"):
            assert not expected(view, role, op)


def test_database_unchanged_check_detects_a_change(seeded: Flask) -> None:
    """Guard the guard: the fingerprint used above really notices a write."""
    view = {v.endpoint: v for v in model_views(seeded)}["school"]
    before = fingerprint(view)
    with seeded.app_context():
        db.session.execute(text("UPDATE school SET name = 'Gamma' WHERE name = 'Alpha School'"))
        db.session.commit()
    assert fingerprint(view) != before
