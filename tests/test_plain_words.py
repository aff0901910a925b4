"""Issue 15: no developer language on screen. Every list, form and record page of the panel,
opened by a supervisor on the demo county built for today (so every money and casework screen
has rows), is read as a person reads it (text, and the placeholders, titles and labels of
controls) for the words of code: stored codes and enum names ("PENDING", "THREE",
"CONCESSIONARY_SEAT"), True/False, names with underscores ("distance_m"), Flask-Admin's
"Please select model", timestamps to the microsecond."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from flask_admin.contrib.sqla import ModelView
from sqlalchemy import select

import models.enums as enums
from models import db
from services import years
from tests.conftest import PASSWORD, fresh_database, make_app, sign_in

TODAY = date(2026, 12, 2)
SHOWN_ATTRIBUTES = ("placeholder", "data-placeholder", "title", "aria-label", "alt")
# Capitals that are the team's own words, not code.
ABBREVIATIONS = {"SEND", "EHCP", "INSET", "NULL"}


class _Reader(HTMLParser):
    """The text a person sees or hears: body text and the shown attributes of controls, leaving
    out what is never shown (scripts, hidden inputs, display:none data such as Flask-Admin's
    filter definitions and inline-form templates)."""

    VOID = frozenset({"input", "br", "img", "meta", "link", "hr", "col", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._stack: list[tuple[str, bool]] = []

    @property
    def _hidden(self) -> bool:
        return any(hidden for _tag, hidden in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        never_shown = (
            tag in ("script", "style", "template")
            or "hidden" in found
            or "display:none" in found.get("style", "").replace(" ", "")
            or bool({"d-none", "hidden"} & set(found.get("class", "").split()))
        )
        if not self._hidden and not never_shown and found.get("type") != "hidden":
            self.parts += [found[name] for name in SHOWN_ATTRIBUTES if found.get(name)]
            if tag == "input" and found.get("type") in ("submit", "button"):
                self.parts.append(found.get("value", ""))
        if tag not in self.VOID:
            self._stack.append((tag, never_shown))

    def handle_endtag(self, tag: str) -> None:
        for at in range(len(self._stack) - 1, -1, -1):
            if self._stack[at][0] == tag:
                del self._stack[at:]
                return

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def _enum_names() -> set[str]:
    names: set[str] = set()
    for value in vars(enums).values():
        if (
            isinstance(value, type)
            and issubclass(value, enums.StrEnum)
            and value is not enums.StrEnum
        ):
            names |= {m.name for m in value if len(m.name) > 2}
    return names - ABBREVIATIONS


ENUM_NAMES = _enum_names()


def developer_words(html: str) -> set[str]:
    reader = _Reader()
    reader.feed(html)
    found: set[str] = set()
    for part in reader.parts:
        for word in re.findall(r"[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+", part):
            found.add(word)  # a name from the code ("distance_m", "PAYMENT_PLAN")
        for word in re.findall(r"\b[A-Z][A-Z_]{2,}\b", part):
            if word in ENUM_NAMES:
                found.add(word)
        found |= set(re.findall(r"\b(?:True|False|None)\b", part))
        found |= set(re.findall(r"\d\d:\d\d:\d\d\.\d+", part))
        if "Please select model" in part:
            found.add("Please select model")
    return found


@pytest.fixture(scope="module")
def county(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    from demo.county import build_county
    from tests.test_exports import _a_withdrawal

    url = fresh_database(request, "plain_words", Path(tmp_path_factory.mktemp("plain_words")))
    flask_app = make_app(url)
    with flask_app.app_context():
        build_county(seed=4, size="small", password=PASSWORD, today=TODAY)
        _a_withdrawal()
    yield flask_app
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def supervisor(county: Flask, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setattr(years, "today", lambda: TODAY)
    client = county.test_client()
    sign_in(client, "supervisor")
    return client


def _pages(flask_app: Flask) -> Iterator[str]:
    admin = flask_app.extensions["admin"][0]
    with flask_app.app_context(), flask_app.test_request_context():
        yield url_for("admin.index")
        for view in admin._views:
            if not isinstance(view, ModelView):
                continue
            yield url_for(f"{view.endpoint}.index_view")
            if getattr(view, "allow_create", True):
                yield url_for(f"{view.endpoint}.create_view")
            record = db.session.scalars(select(view.model).limit(1)).first()
            if record is None:
                continue
            pk = view.get_pk_value(record)
            if view.can_view_details:
                yield url_for(f"{view.endpoint}.details_view", id=pk)
            if getattr(view, "allow_edit", True):
                yield url_for(f"{view.endpoint}.edit_view", id=pk)


def test_no_developer_words_on_any_list_form_or_record_page(
    county: Flask, supervisor: FlaskClient
) -> None:
    pages = list(_pages(county))
    assert len(pages) > 60
    found: dict[str, set[str]] = {}
    for url in pages:
        response = supervisor.get(url)
        assert response.status_code == 200, url
        words = developer_words(response.get_data(as_text=True))
        if words:
            found[url] = words
    assert not found, "\n".join(f"{url}: {sorted(words)}" for url, words in found.items())


def test_the_reader_finds_what_it_should() -> None:
    page = (
        '<p>Status: PENDING</p><input placeholder="reference, last_name">'
        "<td>False</td><p>Made 2024-10-07 10:00:00.123456</p><p>SEND and EHCP; INSET day</p>"
        '<script>var x = "RECEIVED_X";</script>'
    )
    assert developer_words(page) == {"PENDING", "last_name", "False", "10:00:00.123456"}


def _policy_form(year: str, **changes: str) -> dict[str, str]:
    import dataclasses

    from rules.parameters import parameters_for

    values = dataclasses.asdict(parameters_for(year))
    form = {k: str(v) for k, v in values.items() if not isinstance(v, bool)}
    form.update({k: "y" for k, v in values.items() if v is True})
    form["academic_year"] = year
    form.update(changes)
    return form


def _said(upper: str, lower: str) -> str:
    """The rules' "upper: must not be less than lower", in the form's label words."""
    from markupsafe import escape

    from admin_views.policy_parameters import PolicyParameterSetView

    labels = PolicyParameterSetView.column_labels
    low = labels[lower][:1].lower() + labels[lower][1:]
    return str(escape(f"{labels[upper]} must not be less than {low}"))


def test_a_refusal_on_saving_names_its_field_in_words_in_one_error_summary(
    county: Flask, supervisor: FlaskClient
) -> None:
    """Issue 15: not "secondary_walking_distance_m: must not be less than
    primary_walking_distance_m" in a "Failed to create record." banner."""
    from models import PolicyParameterSet

    with county.app_context():
        before = db.session.query(PolicyParameterSet).count()
        year = "2027/28"  # next year has no figures yet
    form = _policy_form(
        year, primary_walking_distance_m="5000", secondary_walking_distance_m="4000"
    )
    page = supervisor.post("/admin/policy_parameter_set/new/", data=form).get_data(as_text=True)
    assert page.count('class="error-summary"') == 1
    assert 'href="#secondary_walking_distance_m"' in page
    said = _said("secondary_walking_distance_m", "primary_walking_distance_m")
    assert f'<a href="#secondary_walking_distance_m">{said}</a>' in page
    assert "Failed to create record" not in page
    assert developer_words(page) == set()
    with county.app_context():
        assert db.session.query(PolicyParameterSet).count() == before


def test_every_field_in_error_is_in_the_summary_with_a_link(supervisor: FlaskClient) -> None:
    page = supervisor.post(
        "/admin/school/new/", data={"urn": "", "name": "", "postcode": "not a postcode"}
    ).get_data(as_text=True)
    summary = page[
        page.index('class="error-summary"') : page.index("</ul>", page.index("error-summary"))
    ]
    links = re.findall(r'<a href="#([a-z_]+)">', summary)
    assert {"urn", "name", "postcode"} <= set(links), summary
    # Each link's target exists on the page, so following it reaches the field.
    assert all(f'id="{target}"' in page for target in links)


def test_a_half_penny_charge_is_refused_naming_the_field(
    county: Flask, supervisor: FlaskClient
) -> None:
    from models import ContributionSetting

    with county.app_context():
        before = db.session.query(ContributionSetting).count()
    page = supervisor.post(
        "/admin/contribution_setting/new/",
        data={
            "academic_year": "2027/28",
            "post16_contribution": "456.00",
            "concessionary_annual_charge": "456.005",
            "offers_full": "y",
        },
    ).get_data(as_text=True)
    assert 'href="#concessionary_annual_charge"' in page
    assert (
        "Concessionary seat annual charge (A9, Appendix F): Enter an amount in pounds and pence"
        in page
    )
    with county.app_context():
        assert db.session.query(ContributionSetting).count() == before


def test_the_messages_of_an_action_are_one_notification_banner(supervisor: FlaskClient) -> None:
    with supervisor.session_transaction() as session:
        session["_flashes"] = [
            ("success", "Allocated 3 seats on LN0001."),
            ("success", "Allocated 2 seats on LN0002."),
            ("error", "LN0003: no spare seats."),
        ]
    html = supervisor.get("/admin/concessionary_application/").get_data(as_text=True)
    assert html.count('notification-banner"') == 2  # one success banner, one error banner
    assert html.count('role="status"') == 1 and html.count('role="alert"') == 1
    done = html[html.index('role="status"') : html.index("</div>", html.index('role="status"'))]
    assert "<li>Allocated 3 seats on LN0001.</li>" in done
    assert "<li>Allocated 2 seats on LN0002.</li>" in done


def test_statuses_are_tags_and_records_are_summary_lists(
    county: Flask, supervisor: FlaskClient
) -> None:
    seats = supervisor.get("/admin/concessionary_application/").get_data(as_text=True)
    assert '<strong class="status-tag status-tag--yellow">Pending</strong>' in seats
    lapsed = supervisor.get("/admin/concessionary_seat/").get_data(as_text=True)
    assert '<strong class="status-tag status-tag--grey">Lapsed</strong>' in lapsed
    with county.app_context():
        from models import Pupil

        pupil_id = db.session.scalar(select(Pupil.id).order_by(Pupil.id))
    record = supervisor.get(f"/admin/pupil/details/?id={pupil_id}").get_data(as_text=True)
    assert 'class="summary-list summary-list--record"' in record
    assert '<dt class="summary-list__key">' in record
    assert "table-bordered searchable" not in record
    exported = supervisor.get("/admin/concessionary_application/export/csv/").get_data(as_text=True)
    assert "status-tag" not in exported and "Pending" in exported


def test_money_is_shown_in_pounds_and_exported_as_a_number(supervisor: FlaskClient) -> None:
    shown = supervisor.get("/admin/contribution/").get_data(as_text=True)
    assert "£456.00" in shown  # the annual amount (A9), as the team writes money
    exported = supervisor.get("/admin/contribution/export/csv/").get_data(as_text=True)
    assert "£" not in exported and ",456.00," in exported


def test_every_refused_figure_is_in_the_summary_at_once(supervisor: FlaskClient) -> None:
    """Two figures the rules refuse: both in the error summary, each at its field."""
    form = _policy_form(
        "2027/28",
        primary_walking_distance_m="5000",
        secondary_walking_distance_m="4000",
        post16_max_age="30",
        send_max_age="25",
    )
    page = supervisor.post("/admin/policy_parameter_set/new/", data=form).get_data(as_text=True)
    summary = page[
        page.index('class="error-summary"') : page.index("</ul>", page.index("error-summary"))
    ]
    assert 'href="#secondary_walking_distance_m"' in summary
    assert 'href="#send_max_age"' in summary
    assert _said("send_max_age", "post16_max_age") in summary
