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
    assert "safeConfirm(" in form.group(2)
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
