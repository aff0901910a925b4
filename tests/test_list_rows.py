"""List rows link to their record; deleting is done from the record page (issue 18).

A delete form on every list row (its CSRF token, hidden fields and inline confirmation) was
most of a 50-row page's HTML and rendering time. The rows keep their links to the record page
and the edit form; the record page carries the one delete form, with the same access checks.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from sqlalchemy import select

from models import School, db
from tests import factories as f


def _schools(app: Flask, count: int) -> list[int]:
    with app.app_context():
        rows = [f.school(name=f"List Row School {n}", urn=140100 + n) for n in range(count)]
        db.session.commit()
        return [row.id for row in rows]


def test_list_rows_link_to_their_record_and_carry_no_delete_form(
    app: Flask, client_as: Any
) -> None:
    ids = _schools(app, 3)
    body = client_as("assistant").get("/admin/school/").get_data(as_text=True)
    start = body.index('<table class="table')
    table = body[start : body.index("</table>", start)]
    assert "/admin/school/delete/" not in body
    assert "<form" not in table
    for school_id in ids:
        for action in ("details", "edit"):
            found = rf'href="/admin/school/{action}/\?id={school_id}&amp;url=([^"]+)"'
            link = re.search(found, table)
            assert link, (action, school_id)
            assert link.group(1).startswith("/admin/school/")  # back to this list
        assert f'value="{school_id}"' in table  # the bulk actions' selection box


def test_the_record_page_deletes_with_its_confirmation(app: Flask, client_as: Any) -> None:
    (school_id,) = _schools(app, 1)
    client = client_as("assistant")
    page = client.get(f"/admin/school/details/?id={school_id}").get_data(as_text=True)
    form = re.search(r'<form class="record-delete[^>]*action="([^"]+)"(.*?)</form>', page, re.S)
    assert form and form.group(1) == "/admin/school/delete/"
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(2)))
    assert fields["id"] == str(school_id) and "csrf_token" in fields
    assert "return confirm('Are you sure you want to delete this record?');" in form.group(2)
    answer = client.post(form.group(1), data=fields)
    assert answer.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(School).where(School.id == school_id)) is None


def test_no_delete_form_where_deleting_is_not_allowed(
    app: Flask, client_as: Any, users: dict[str, int]
) -> None:
    page = client_as("supervisor").get(f"/admin/user_account/details/?id={users['officer']}")
    assert page.status_code == 200
    assert "Delete this record" not in page.get_data(as_text=True)


def test_list_addresses_are_flask_admins_own(app: Flask, client_as: Any) -> None:
    """AppModelView._get_list_url builds the list's address once per request and adds the
    query as url_for would: the same address as Flask-Admin's for every kind of argument
    (issue 18)."""
    from flask_admin.contrib.sqla import ModelView
    from flask_admin.model.base import ViewArgs
    from flask_login import login_user

    from models import User

    with app.test_request_context("/admin/pupil/"):
        login_user(db.session.scalars(select(User)).first())
        view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "pupil")
        assert view.get_filters()
        cases = [
            ViewArgs(page=None, page_size=None, sort=None, sort_desc=None, search=None,
                     filters=None),
            ViewArgs(page=3, page_size=100, sort=1, sort_desc=True, search="Ada Lovelace&co/ü?",
                     filters=[(0, "x", "a b;c")], extra_args={"mine": "1", "none": None}),
            ViewArgs(page=0, page_size=20, sort=0, sort_desc=False, search="",
                     filters=[(0, "x", "one"), (1, "y", "two")]),
        ]  # fmt: skip
        for args in cases:
            assert view._get_list_url(args) == ModelView._get_list_url(view, args), args


def test_the_applications_list_loads_only_what_its_decision_cells_show(
    app: Flask, client_as: Any
) -> None:
    """The decisions joined to a page of applications carry the outcome, basis and end date
    the cells show, not their facts and reasons; and no decision is loaded again (issue 18)."""
    from sqlalchemy import event

    with app.app_context():
        f.academic_year()
        school = f.school()
        for _ in range(3):
            f.decision(f.transport_application(f.pupil(), school))
        db.session.commit()
        engine = db.engine
    statements: list[str] = []

    def listen(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", listen)
    try:
        page = client_as("assistant").get("/admin/transport_application/")
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert page.status_code == 200
    loads = [s for s in statements if "eligibility_decision" in s]
    assert len(loads) == 1, loads
    assert "facts" not in loads[0] and "reasons" not in loads[0], loads[0]
    assert "eligibility_decision_1.outcome" in loads[0]
