"""The dated policy figures as data: what each is called, its unit, its clause, its values.

One place (rules/figures.toml) holds every figure the council sets, with the clause of the
policy it comes from (the PolicyEngine parameter files are the model: a value is never without
its reference). `rules.parameters` builds its dated defaults from it; the settings screens take
their labels and help text from it; a screen that quotes a figure (the appeals screen's
deadlines) quotes the year's value through `quote`, so no text can go stale when a supervisor
changes the figure for a year.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

from rules.academic_year import parse_academic_year
from rules.errors import RulesError

SOURCE = Path(__file__).with_name("figures.toml")
METRES_PER_MILE = Decimal("1609.344")

Value = int | Decimal


@dataclass(frozen=True, slots=True)
class Figure:
    """One dated policy figure (its name is the `PolicyParameters` field's)."""

    name: str
    label: str
    unit: str
    clause: str
    description: str
    values: Mapping[str, Value]  # academic year it takes effect -> value

    def help_text(self) -> str:
        """What a settings screen says under the figure: its clause, then what it is."""
        return f"{self.clause}: {self.description} In {self.unit}."


def _value(name: str, raw: object) -> Value:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise RulesError(name, f"a figure is a whole number or a decimal string, got {raw!r}")
    return int(raw) if isinstance(raw, int) else Decimal(raw)


def _load(text: str) -> Mapping[str, Figure]:
    figures: dict[str, Figure] = {}
    for name, table in tomllib.loads(text).items():
        missing = [
            k for k in ("label", "unit", "clause", "description", "values") if k not in table
        ]
        if missing:
            raise RulesError(name, f"figures.toml: missing {', '.join(missing)}")
        values = {}
        for year, raw in table["values"].items():
            parse_academic_year(year)
            values[year] = _value(name, raw)
        figures[name] = Figure(
            name=name,
            label=str(table["label"]),
            unit=str(table["unit"]),
            clause=str(table["clause"]),
            description=str(table["description"]),
            values=MappingProxyType(values),
        )
    return MappingProxyType(figures)


FIGURES: Mapping[str, Figure] = _load(SOURCE.read_text(encoding="utf-8"))


def years_dated() -> list[str]:
    """Every academic year in which some figure takes a new value, earliest first."""
    labels = {year for figure in FIGURES.values() for year in figure.values}
    return sorted(labels, key=lambda label: parse_academic_year(label).start_year)


def value_in(figure: Figure, academic_year: str) -> Value:
    """The figure's value in force in `academic_year`: its latest dated at or before it."""
    wanted = parse_academic_year(academic_year).start_year
    dated = [
        (parse_academic_year(label).start_year, value)
        for label, value in figure.values.items()
        if parse_academic_year(label).start_year <= wanted
    ]
    if not dated:
        raise RulesError(figure.name, f"no value in force for {academic_year}")
    return max(dated, key=lambda pair: pair[0])[1]


def first_value(name: str) -> Value:
    """The earliest dated value (a fallback for a year before every dated entry)."""
    figure = FIGURES[name]
    earliest = min(figure.values, key=lambda label: parse_academic_year(label).start_year)
    return figure.values[earliest]


def quote(name: str, value: Value) -> str:
    """A figure as a sentence quotes it: "20 working days", "3218 m (2.0 miles)"."""
    unit = FIGURES[name].unit
    if unit == "metres":
        miles = (Decimal(value) / METRES_PER_MILE).quantize(Decimal("0.1"))
        return f"{value} m ({miles} miles)"
    if unit in ("terms", "schools") and value == 1:
        return f"1 {unit[:-1]}"
    return f"{value} {unit}"
