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
