"""Dates typed and read in UK form (issue 15): one field for every date on every form."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form

from admin_views.base import AppModelView
from admin_views.dates import UKDateField, london_minute, long_date, parse_uk_date


class _Form(Form):
    received_on = UKDateField("Date received")


def _post(text: str) -> _Form:
    form = _Form(MultiDict({"received_on": text}))
    form.validate()
    return form


@pytest.mark.parametrize(
    "typed", ["07/10/2024", "7/10/2024", "2024-10-07", "7-10-2024", "7.10.2024", "7 Oct 2024",
              "7 October 2024", " 07/10/2024 "],
)  # fmt: skip
def test_uk_and_iso_dates_are_read_exactly(typed: str) -> None:
    form = _post(typed)
    assert form.errors == {}
    assert form.received_on.data == date(2024, 10, 7)


@pytest.mark.parametrize("typed", ["31/02/2024", "2024-13-01", "7/10/24", "0002-01-01024-10-07",
                                   "next Tuesday", "7 Oct"])  # fmt: skip
def test_a_date_that_is_not_real_is_refused_naming_the_field(typed: str) -> None:
    form = _post(typed)
    assert form.received_on.data is None  # never moved to a nearby date
    assert form.errors["received_on"] == [
        "Date received must be a real date, like 7/10/2024 (day/month/year)"
    ]
    assert form.received_on._value() == typed  # what was typed is shown back to correct


def test_a_stored_date_is_shown_day_first_and_empty_is_none() -> None:
    form = _Form(data={"received_on": date(2024, 10, 7)})
    assert form.received_on._value() == "07/10/2024"
    assert _post("").received_on.data is None
    with pytest.raises(ValueError):
        parse_uk_date("29/02/2023")
    assert parse_uk_date("29/02/2024") == date(2024, 2, 29)


def test_lists_read_dates_in_words_and_times_in_england_to_the_minute() -> None:
    assert long_date(date(2024, 10, 7)) == "7 Oct 2024"
    # 13:05:59 UTC in October is 14:05 British Summer Time; in December it is 13:05 GMT.
    assert london_minute(datetime(2024, 10, 7, 13, 5, 59, 123456, tzinfo=UTC)) == "7 Oct 2024 14:05"
    assert london_minute(datetime(2024, 12, 7, 13, 5, tzinfo=UTC)) == "7 Dec 2024 13:05"


def test_every_date_column_on_every_form_uses_the_uk_date_field(app) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import Date

    checked = 0
    with app.test_request_context():
        for view in app.extensions["admin"][0]._views:
            if not isinstance(view, AppModelView):
                continue
            form = view.get_create_form()
            for column in view.model.__table__.columns:
                if isinstance(column.type, Date) and hasattr(form, column.key):
                    field = getattr(form, column.key)
                    assert field.field_class is UKDateField, f"{view.endpoint}.{column.key}"
                    checked += 1
    assert checked >= 10
