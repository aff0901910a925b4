"""An academic year's term dates for any year, in the usual pattern of English councils.

The demo is built for the year containing today (issue 15), so its calendar cannot be a table
typed in once: it is generated here from the pattern most English councils follow, with
England's bank holidays from the `holidays` package (rules.calendar, no download). Every
generated year has 190 operational days (Appendix H: term-time weekdays less closures), five of
the 195 term days being INSET days, as in the council's published 2024/25 dates
(demo/calendar_2024_25.py), which this pattern reproduces exactly.

The pattern (a council's real dates may differ by a day or two, and supervisors edit them under
Settings):

* Autumn 1 starts on 1 September if that is a Monday to Wednesday, else on the Monday after;
  its first two days are INSET days. October half term is the week of the last Monday of
  October.
* Autumn 2 ends on the last Friday on or before 20 December.
* Spring 1 starts on the first Monday on or after 2 January (an INSET day); February half term
  is the week of the third Monday of February.
* The Easter break is the week of Good Friday and the week before, with Easter Monday; Summer 1
  starts the Tuesday after.
* May half term is the week of the spring bank holiday (the last Monday of May); Summer 2
  starts the Monday after (an INSET day) and ends, on an INSET day, on the weekday that gives
  the year its 190 operational days (late July).
* Bank holidays falling in a term (the early May bank holiday, usually) are closures.
"""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.easter import easter

from rules.calendar import england_bank_holidays, operational_days

OPERATIONAL_DAYS = 190  # Appendix H
INSET = "INSET day"
_DAY = timedelta(days=1)
# The `holidays` package's names, in the words the council's published dates use.
_NAMES = {"May Day": "Early May bank holiday"}


def _next_weekday(day: date, weekday: int) -> date:
    """The first `weekday` (0 = Monday) on or after `day`."""
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _last_weekday_of_month(year: int, month: int, weekday: int) -> date:
    following = date(year + (month == 12), month % 12 + 1, 1)
    last = following - _DAY
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _next_weekday_after(day: date) -> date:
    day += _DAY
    while day.weekday() >= 5:
        day += _DAY
    return day


def england_calendar(
    start_year: int,
) -> tuple[list[tuple[str, date, date]], list[tuple[date, str]]]:
    """(terms as (name, first day, last day), closures as (day, reason)) for the academic year
    starting in September `start_year`, with 190 operational days."""
    monday, tuesday, friday = 0, 1, 4
    sep1 = date(start_year, 9, 1)
    autumn_start = sep1 if sep1.weekday() <= 2 else _next_weekday(sep1, monday)
    october_break = _last_weekday_of_month(start_year, 10, monday)
    autumn2_end = date(start_year, 12, 20) - timedelta(
        days=(date(start_year, 12, 20).weekday() - friday) % 7
    )
    spring_start = _next_weekday(date(start_year + 1, 1, 2), monday)
    february_break = _next_weekday(date(start_year + 1, 2, 1), monday) + timedelta(weeks=2)
    good_friday = easter(start_year + 1) - timedelta(days=2)
    summer_start = _next_weekday(good_friday + timedelta(days=4), tuesday)
    may_break = _last_weekday_of_month(start_year + 1, 5, monday)
    summer2_start = may_break + timedelta(weeks=1)

    def terms_ending(summer_end: date) -> list[tuple[str, date, date]]:
        return [
            ("Autumn 1", autumn_start, october_break - timedelta(days=3)),
            ("Autumn 2", october_break + timedelta(weeks=1), autumn2_end),
            ("Spring 1", spring_start, february_break - timedelta(days=3)),
            ("Spring 2", february_break + timedelta(weeks=1), good_friday - timedelta(weeks=2)),
            ("Summer 1", summer_start, may_break - timedelta(days=3)),
            ("Summer 2", summer2_start, summer_end),
        ]

    in_term_holidays = england_bank_holidays(autumn_start, date(start_year + 1, 8, 31))
    summer_end = date(start_year + 1, 7, 10)
    while True:
        terms = terms_ending(summer_end)
        inset = [
            autumn_start,
            _next_weekday_after(autumn_start),
            spring_start,
            summer2_start,
            summer_end,
        ]
        holidays = {
            day: _NAMES.get(name, name)
            for day, name in in_term_holidays.items()
            if day.weekday() < 5 and any(s <= day <= e for _, s, e in terms)
        }
        closures = sorted({**{d: INSET for d in inset}, **holidays}.items())
        days = operational_days([(s, e) for _, s, e in terms], [d for d, _ in closures])
        if len(days) >= OPERATIONAL_DAYS:
            return terms, closures
        summer_end = _next_weekday_after(summer_end)
