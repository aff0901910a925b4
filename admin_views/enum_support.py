"""Enum columns on forms and filters, by their stored code, shown in words.

Flask-Admin assumes an enum's member names are what the database holds; ours store the
values ("received", not "RECEIVED"), so its defaults failed to pre-select a stored value on an
edit form (saving could blank it) and its list filters answered 500. These replacements work
by value for every screen.
"""

from __future__ import annotations

import enum
from typing import Any

from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.form import Select2Field
from flask_admin.model.filters import convert
from flask_admin.model.form import converts
from wtforms import validators

# Words for the stored codes where "capitalise and drop the underscores" reads badly.
WORDS = {
    "fe_college": "FE college",
    "all_through": "All-through",
    "secondary_all_ability": "Secondary (all-ability)",
    "alternative_provision": "Alternative provision",
    "stage_one": "Stage one (review)",
    "stage_two": "Stage two (panel)",
    "council": "This council (A21)",
    "other_la": "Another council (A22)",
}


def _label(value: Any) -> str:
    code = str(getattr(value, "value", value))
    return WORDS.get(code) or code.replace("_", " ").capitalize()


def choices(enum_cls: type[Any]) -> list[tuple[str, str]]:
    """form_choices for an enum column: the stored code, shown in words."""
    return [(member.value, _label(member)) for member in enum_cls]


def enum_formatter(name: str) -> Any:
    """A list-column formatter showing an enum value in words ("fe_college" -> "Fe college")."""

    def formatter(_view: Any, _context: Any, model: Any, _name: str) -> str:
        value = getattr(model, name)
        return "" if value is None else _label(value)

    return formatter


def _enum_class(column: Any) -> type[enum.Enum] | None:
    return getattr(column.type, "enum_class", None)


def _options(column: Any) -> list[tuple[str, str]]:
    enum_cls = _enum_class(column)
    if enum_cls is not None:
        return choices(enum_cls)
    return [(v, _label(v)) for v in column.type.enums]


def _by_value(enum_cls: type[enum.Enum] | None, value: Any) -> Any:
    if enum_cls is None or isinstance(value, enum_cls):
        return value
    return enum_cls(value)


class EnumValueModelConverter(AdminModelConverter):
    def _get_label(self, name: str, field_args: Any) -> Any:
        """A field the view's column_labels leave out is labelled in words by the view
        (issue 15), not by WTForms' "Runs Am" / "Received On" title case."""
        if "label" in field_args:
            return field_args["label"]
        labels = getattr(self.view, "column_labels", None) or {}
        if name in labels:
            return labels[name]
        prettify = getattr(self.view, "prettify_name", None)
        return prettify(name) if prettify else super()._get_label(name, field_args)

    @converts("Date")
    def convert_date(self, column: Any, field_args: Any, **extra: Any) -> Any:
        """Every date column gets the one UK date field (admin_views/dates.py, issue 15)."""
        from .dates import UKDateField

        field_args.pop("widget", None)
        return UKDateField(**field_args)

    @converts("sqlalchemy.sql.sqltypes.Enum")
    def convert_enum(self, column: Any, field_args: Any, **extra: Any) -> Select2Field:
        options = _options(column)
        accepted: list[Any] = [code for code, _ in options]
        if column.nullable:
            field_args["allow_blank"] = True
            accepted.append(None)
        self._nullable_common(column, field_args)
        field_args["choices"] = options
        field_args["validators"].append(
            validators.AnyOf(accepted, message="Choose one of the listed options.")
        )
        field_args["coerce"] = lambda v: v.value if isinstance(v, enum.Enum) else str(v)
        return Select2Field(**field_args)


class _ByValue:
    """Mixed into Flask-Admin's enum filters: look members up by stored value."""

    enum_class: Any

    def clean(self, value: Any) -> Any:
        try:
            return _by_value(self.enum_class, value)
        except ValueError:
            return None


class _ListByValue:
    enum_class: Any

    def clean(self, value: Any) -> Any:
        values = [v.strip() for v in str(value).split(",") if v.strip()]
        out = []
        for v in values:
            try:
                out.append(_by_value(self.enum_class, v))
            except ValueError:
                continue
        return out


class EnumEqual(_ByValue, sqla_filters.EnumEqualFilter):
    pass


class EnumNotEqual(_ByValue, sqla_filters.EnumFilterNotEqual):
    pass


class EnumInList(_ListByValue, sqla_filters.EnumFilterInList):
    pass


class EnumNotInList(_ListByValue, sqla_filters.EnumFilterNotInList):
    pass


class EnumValueFilterConverter(sqla_filters.FilterConverter):
    enum = (EnumEqual, EnumNotEqual, sqla_filters.EnumFilterEmpty, EnumInList, EnumNotInList)

    @convert("enum")
    def conv_enum(self, column: Any, name: str, options: Any = None, **kwargs: Any) -> list[Any]:
        return [f(column, name, options or _options(column), **kwargs) for f in self.enum]
