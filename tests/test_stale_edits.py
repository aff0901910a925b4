"""Two officers, one record: a save from a form opened before another save is refused (issue 18).

Before issue 18 the second save silently undid the first ("the note is gone, both saw 'Record
was successfully saved'"; a route's seats went from 17 back to 7). Each test opens the same
record's edit form in two signed-in sessions (two test clients), saves a change from the
first, then saves the second, stale form. The stale save writes nothing, says which field
changed, what it is now and what it was when the form was opened, and keeps the second
user's own change in the form, which now shows the first user's value in the fields the second
left alone; saving that form again keeps both changes. Runs on SQLite and, with
`--db postgresql`, on PostgreSQL.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from admin_views.concurrency import STALE_SAVE, VERSION_FIELD
from models import (
    ConcessionaryApplication,
    ContributionSetting,
    PolicyParameterSet,
    Pupil,
    Route,
    School,
    TransportApplication,
    db,
)
from tests import factories as f


class FormReader(HTMLParser):
    """What a browser would post from the page's edit form (text, hidden, selects, boxes)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "form" and a.get("method", "").lower() == "post" and not self.data:
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and name and name != "csrf_token":
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self.data[name] = a.get("value", "y")
            elif kind not in {"submit", "button", "file"}:
                self.data[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False

    def handle_data(self, data: str) -> None:
        if self._textarea:
            if not self.data[self._textarea]:
                data = data.removeprefix("\r\n").removeprefix("\n")  # as browsers do
            self.data[self._textarea] += data


def form_of(page: str) -> dict[str, str]:
    reader = FormReader()
    reader.feed(page)
    return reader.data


def open_form(client: FlaskClient, url: str) -> dict[str, str]:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    form = form_of(response.get_data(as_text=True))
    assert form.get(VERSION_FIELD), "the edit form carries the version it was opened at"
    return form


def plain_text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _race(
    client_as: Callable[[str], FlaskClient],
    role: str,
    url: str,
    first: dict[str, str],
    second: dict[str, str],
) -> tuple[Any, dict[str, str]]:
    """Both open `url`; the first saves `first`; the second saves `second` from its old form.

    Returns the stale save's response and the form it shows again.
    """
    one, two = client_as(role), client_as(role)
    form_one, form_two = open_form(one, url), open_form(two, url)
    saved = one.post(url, data={**form_one, **first})
    assert saved.status_code == 302, plain_text(saved)[:3000]
    stale = two.post(url, data={**form_two, **second})
    return stale, form_of(stale.get_data(as_text=True))


def _assert_refused(stale: Any, label_now: str, label_then: str) -> None:
    assert stale.status_code == 200
    page = plain_text(stale)
    assert STALE_SAVE in page
    assert f"now “{label_now}”, when you opened it “{label_then}”" in page


@pytest.fixture
def year(app: Flask) -> None:
    with app.app_context():
        f.academic_year()
        f.contribution_setting()
        db.session.commit()


def test_a_stale_application_save_keeps_the_other_officer_s_note(
    app: Flask, client_as: Callable[[str], FlaskClient], year: None
) -> None:
    with app.app_context():
        ta = f.transport_application(
            f.pupil(), f.school(), determination_notes="Called the family."
        )
        db.session.commit()
        ta_id = ta.id
    url = f"/admin/transport_application/edit/?id={ta_id}"
    stale, shown = _race(
        client_as,
        "officer",
        url,
        {"determination_notes": "Called the family. Awaiting the EHCP."},
        {"received_on": "2024-06-03"},
    )
    _assert_refused(stale, "Called the family. Awaiting the EHCP.", "Called the family.")
    with app.app_context():
        ta = db.session.get(TransportApplication, ta_id)
        assert ta.determination_notes == "Called the family. Awaiting the EHCP."
        assert ta.received_on != date(2024, 6, 3), "nothing of the stale save was written"
    # The re-shown form: the other officer's note, this officer's date; saving it keeps both.
    assert shown["determination_notes"].strip() == "Called the family. Awaiting the EHCP."
    assert shown["received_on"] == "2024-06-03"
    again = client_as("officer").post(url, data=shown)
    assert again.status_code == 302, plain_text(again)[:3000]
    with app.app_context():
        ta = db.session.get(TransportApplication, ta_id)
        assert ta.determination_notes == "Called the family. Awaiting the EHCP."
        assert ta.received_on == date(2024, 6, 3)


def test_a_stale_application_save_cannot_move_the_pupil_off_a_route(
    app: Flask, client_as: Callable[[str], FlaskClient], year: None
) -> None:
    """Issue 18: 'a stale save took a pupil off a route another officer had just put them on'."""
    with app.app_context():
        school = f.school()
        route = f.route([school], seats=20)
        ta = f.transport_application(f.pupil(), school)
        f.decision(ta)
        db.session.commit()
        ta_id, route_id, code = ta.id, route.id, route.code
    url = f"/admin/transport_application/edit/?id={ta_id}"
    stale, shown = _race(
        client_as,
        "officer",
        url,
        {"route": str(route_id), "route_sessions": "both"},
        {"determination_notes": "Spoke to the school."},
    )
    assert stale.status_code == 200 and STALE_SAVE in plain_text(stale)
    assert code in plain_text(stale)
    with app.app_context():
        ta = db.session.get(TransportApplication, ta_id)
        assert ta.route_id == route_id and not ta.determination_notes
    assert shown["route"] == str(route_id)
    assert shown["determination_notes"].strip() == "Spoke to the school."


def test_a_stale_pupil_save_keeps_the_new_address(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        pupil = f.pupil(address="4 Church Lane")
        db.session.commit()
        pupil_id = pupil.id
    url = f"/admin/pupil/edit/?id={pupil_id}"
    stale, shown = _race(
        client_as,
        "assistant",
        url,
        {"address": "9 Mill Road"},
        {"first_name": "Freyja"},
    )
    _assert_refused(stale, "9 Mill Road", "4 Church Lane")
    with app.app_context():
        pupil = db.session.get(Pupil, pupil_id)
        assert pupil.address == "9 Mill Road" and pupil.first_name != "Freyja"
    assert shown["address"] == "9 Mill Road" and shown["first_name"] == "Freyja"


def test_a_stale_route_save_cannot_put_the_seats_back(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    """Issue 18: 'a route's seats went from 17 back to 7'."""
    with app.app_context():
        route = f.route([f.school()], seats=7)
        db.session.commit()
        route_id = route.id
    url = f"/admin/route/edit/?id={route_id}"
    stale, shown = _race(client_as, "assistant", url, {"seats": "17"}, {"operator": "Lincs Cars"})
    _assert_refused(stale, "17", "7")
    with app.app_context():
        route = db.session.get(Route, route_id)
        assert route.seats == 17 and route.operator != "Lincs Cars"
    assert shown["seats"] == "17" and shown["operator"] == "Lincs Cars"


def test_both_changing_the_same_field_keeps_the_second_value_in_the_form_only(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        route = f.route([f.school()], seats=7)
        db.session.commit()
        route_id = route.id
    url = f"/admin/route/edit/?id={route_id}"
    stale, shown = _race(client_as, "assistant", url, {"seats": "17"}, {"seats": "9"})
    _assert_refused(stale, "17", "7")
    assert "The form keeps your value: check which should stay." in plain_text(stale)
    assert shown["seats"] == "9"
    with app.app_context():
        assert db.session.get(Route, route_id).seats == 17


def test_a_stale_seat_application_save_is_refused(
    app: Flask, client_as: Callable[[str], FlaskClient], year: None
) -> None:
    with app.app_context():
        school = f.school()
        first, second = f.route([school], code="R-FIRST"), f.route([school], code="R-SECOND")
        ca = f.concessionary_application(f.pupil(), school, first)
        db.session.commit()
        ca_id, second_id, second_code = ca.id, second.id, second.code
        first_code = first.code
    url = f"/admin/concessionary_application/edit/?id={ca_id}"
    stale, shown = _race(
        client_as, "assistant", url, {"route": str(second_id)}, {"received_on": "2024-05-02"}
    )
    assert STALE_SAVE in plain_text(stale)
    assert second_code in plain_text(stale) and first_code in plain_text(stale)
    with app.app_context():
        ca = db.session.get(ConcessionaryApplication, ca_id)
        assert ca.route_id == second_id and ca.received_on != date(2024, 5, 2)
    assert shown["received_on"] == "2024-05-02" and shown["route"] == str(second_id)


def test_a_stale_contribution_setting_save_is_refused(
    app: Flask, client_as: Callable[[str], FlaskClient], year: None
) -> None:
    with app.app_context():
        setting = db.session.scalar(select(ContributionSetting))
        setting_id = setting.id
    url = f"/admin/contribution_setting/edit/?id={setting_id}"
    stale, shown = _race(
        client_as,
        "supervisor",
        url,
        {"post16_contribution": "700.00", "confirmed": "1"},  # past the impact page (issue 14)
        {"concessionary_annual_charge": "480.00"},
    )
    _assert_refused(stale, "700.00", "456.00")
    with app.app_context():
        setting = db.session.get(ContributionSetting, setting_id)
        assert setting.post16_contribution == Decimal("700.00")
        assert setting.concessionary_annual_charge == Decimal("456.00")
    assert shown["concessionary_annual_charge"] == "480.00"


def test_a_stale_policy_parameter_save_is_refused(
    app: Flask, client_as: Callable[[str], FlaskClient], year: None
) -> None:
    from services.policy import ensure_parameter_set

    with app.app_context():
        ensure_parameter_set("2024/25")
        db.session.commit()
        params = db.session.scalar(select(PolicyParameterSet))
        params_id = params.id
        before = params.concessionary_withdrawal_notice_days
    url = f"/admin/policy_parameter_set/edit/?id={params_id}"
    stale, _shown = _race(
        client_as,
        "supervisor",
        url,
        {"concessionary_withdrawal_notice_days": str(before + 1), "confirmed": "1"},
        {"concessionary_withdrawal_notice_days": str(before + 2)},
    )
    _assert_refused(stale, str(before + 1), str(before))
    with app.app_context():
        params = db.session.get(PolicyParameterSet, params_id)
        assert params.concessionary_withdrawal_notice_days == before + 1


def test_a_change_by_a_service_makes_an_open_form_stale(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    """A set-based UPDATE (services, imports) raises the version too (services/record_versions)."""
    from sqlalchemy import update

    with app.app_context():
        school = f.school(name="Old Name School")
        db.session.commit()
        school_id = school.id
    url = f"/admin/school/edit/?id={school_id}"
    client = client_as("assistant")
    form = open_form(client, url)
    with app.app_context():
        db.session.execute(update(School).where(School.id == school_id).values(name="New Name"))
        db.session.commit()
    stale = client.post(url, data={**form, "town": "Lincoln"})
    _assert_refused(stale, "New Name", "Old Name School")
    with app.app_context():
        assert db.session.get(School, school_id).name == "New Name"


def test_an_unchanged_record_saves_as_before(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        route = f.route([f.school()], seats=7)
        db.session.commit()
        route_id = route.id
    url = f"/admin/route/edit/?id={route_id}"
    client = client_as("assistant")
    first = client.post(url, data={**open_form(client, url), "seats": "8"})
    assert first.status_code == 302
    second = client.post(url, data={**open_form(client, url), "seats": "9"})
    assert second.status_code == 302
    with app.app_context():
        route = db.session.get(Route, route_id)
        assert route.seats == 9 and route.row_version == 3
