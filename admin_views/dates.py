"""Dates typed and read the way people in England write them (issue 15).

One field class, `UKDateField`, is used for every date on every form: the model converter
(admin_views/enum_support.py) makes it for each Date column, so screens added later get it too.
It accepts 7/10/2024, 07/10/2024, 7-10-2024, 7.10.2024, 2024-10-07 and 7 Oct 2024 (or
October), shows a stored date as 07/10/2024, and refuses anything that is not a real date
(31/02/2024, 2024-13-01, a two-digit year) with a message naming the field. A date is never
guessed or moved: what cannot be read exactly is refused.

Lists and details show dates as "7 Oct 2024" and times to the minute in Europe/London
(`long_date`, `london_minute`); exports keep ISO 8601.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from wtforms import Field
from wtforms.widgets import TextInput

LONDON = ZoneInfo("Europe/London")
MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})$")
_WORDS = re.compile(r"^(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})$")
EXAMPLE = "7/10/2024"


def parse_uk_date(text: str) -> date:
    """The date `text` names exactly; ValueError when it is not a real date in a known form."""
    text = text.strip()
    if match := _ISO.match(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _DMY.match(text):
        day, month, year = (int(g) for g in match.groups())
    elif match := _WORDS.match(text):
        month_number = MONTHS.get(match.group(2).lower())
        if month_number is None:
            raise ValueError("unknown month")
        day, month, year = int(match.group(1)), month_number, int(match.group(3))
    else:
        raise ValueError("not a date")
    return date(year, month, day)  # refuses 31 February, month 13, day 0


def long_date(value: date) -> str:
    """7 Oct 2024: the day without a leading zero, the month in words (GOV.UK style)."""
    return f"{value.day} {value.strftime('%b')} {value.year}"


def london_minute(value: datetime) -> str:
    """A moment in England's local time, to the minute: 7 Oct 2024 14:05."""
    if value.tzinfo is not None:
        value = value.astimezone(LONDON)
    return f"{long_date(value)} {value.strftime('%H:%M')}"


class UKDateField(Field):
    """A date in one text box, in UK order; see the module docstring."""

    widget = TextInput()

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        render_kw = dict(kwargs.pop("render_kw", None) or {})
        render_kw.setdefault("autocomplete", "off")
        render_kw.setdefault("spellcheck", "false")
        render_kw.setdefault("class", "form-control date-field")
        kwargs.pop("format", None)
        description = kwargs.pop("description", "") or ""
        hint = f"For example, {EXAMPLE}"
        kwargs["description"] = (
            f"{description} {hint}".strip() if hint not in description else description
        )
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        if isinstance(self.data, date):
            return self.data.strftime("%d/%m/%Y")
        return ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = " ".join(str(v) for v in valuelist).strip()
        if not text:
            self.data = None
            return
        try:
            self.data = parse_uk_date(text)
        except ValueError:
            self.data = None
            raise ValueError(
                f"{self.label.text} must be a real date, like {EXAMPLE} (day/month/year)"
            ) from None
