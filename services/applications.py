"""The checks on a pupil's and an application's dates: one definition for the screens and the
import alike (issue 12), so a date one refuses the other refuses in the same words.

* Received on (B1a, the year it is for): no earlier than a year before its academic year starts,
  no later than that year's end, and never after today: a keyed-in application cannot be dated
  in the future any more than an imported one.
* Date of birth: never after today; at the start of the academic year the child is at least
  `YOUNGEST_YEARS` (nursery-age children appear on records before they start school) and no
  older than the oldest age the year's policy supports (A8: an EHCP learner to 25,
  `PolicyParameters.send_max_age`). A pupil keyed in on the screen is checked against the
  academic year in force today.

Each check raises `FieldError` naming the model attribute; callers that only need the bounds
(the import's column-at-a-time pass) use `received_bounds` / `birth_bounds`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy.orm import Session

from rules.academic_year import academic_year_of
from services.errors import FieldError
from services.policy import parameters_for_year

# A sanity bound on keyed dates of birth (project rule, not a policy figure): under this age at
# the start of the year is a typing mistake.
YOUNGEST_YEARS = 2


class DateBounds(NamedTuple):
    earliest: date
    latest: date


def years_before(day: date, years: int) -> date:
    """The same day `years` earlier (28 February for a 29 February that year lacks)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def received_bounds(starts: date, ends: date, today: date) -> DateBounds:
    """The dates an application for the year `starts`..`ends` may be received on."""
    return DateBounds(years_before(starts, 1), min(today, ends))


def birth_bounds(starts: date, oldest: int, today: date) -> DateBounds:
    """The dates of birth a pupil of the year starting `starts` may have (A8: `oldest`)."""
    latest = min(years_before(starts, YOUNGEST_YEARS), today)
    return DateBounds(years_before(starts, oldest + 1) + timedelta(days=1), latest)


def check_received_on(received: date, *, year: str, starts: date, ends: date, today: date) -> date:
    """Refuse a date received outside its year's bounds (see the module docstring)."""
    if received > today:
        raise FieldError(
            "received_on",
            f"The date received ({received:%d/%m/%Y}) is in the future; an application is "
            "recorded once it has arrived.",
        )
    earliest, latest = received_bounds(starts, ends, today)
    if received > latest:
        raise FieldError(
            "received_on",
            f"The date received ({received:%d/%m/%Y}) is after the end of {year} "
            f"({ends:%d/%m/%Y}); an application is received during or before its academic year.",
        )
    if received < earliest:
        raise FieldError(
            "received_on",
            f"The date received ({received:%d/%m/%Y}) is more than a year before {year} starts "
            f"({starts:%d/%m/%Y}); check the year.",
        )
    return received


def check_date_of_birth(born: date, *, year: str, starts: date, oldest: int, today: date) -> date:
    """Refuse a date of birth no pupil of that year can have (see the module docstring)."""
    if born > today:
        raise FieldError(
            "date_of_birth", f"A date of birth ({born:%d/%m/%Y}) cannot be in the future."
        )
    earliest, latest = birth_bounds(starts, oldest, today)
    if born > latest:
        raise FieldError(
            "date_of_birth",
            f"A date of birth of {born:%d/%m/%Y} makes the child under {YOUNGEST_YEARS} at the "
            f"start of {year}; check the year of birth.",
        )
    if born < earliest:
        raise FieldError(
            "date_of_birth",
            f"A date of birth of {born:%d/%m/%Y} makes the learner over {oldest} at the start "
            f"of {year}, beyond any transport support (A8); check the year.",
        )
    return born


def check_pupil_date_of_birth(born: date, *, today: date, session: Session | None = None) -> date:
    """A pupil keyed in without an application: checked against the year in force today, with
    that year's figures (services/policy.py)."""
    year = academic_year_of(today)
    oldest = parameters_for_year(year.label, session).send_max_age
    return check_date_of_birth(born, year=year.label, starts=year.start, oldest=oldest, today=today)
