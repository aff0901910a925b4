"""Parents and carers, kept inline on the pupil screen: who letters go to (B1i)."""

from __future__ import annotations

from typing import Any

from flask_admin.model.form import InlineFormAdmin
from wtforms import Field, Form
from wtforms.validators import Optional, Regexp, ValidationError

from models.enums import Channel

from .enum_support import choices
from .postcodes import postcode_field_args

# Deliberately loose (a name, an @, a dotted domain): GOV.UK Notify validates it fully.
EMAIL = Regexp(
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Enter an e-mail address like name@example.com."
)


def _strip(value: Any) -> Any:
    return value.strip() or None if isinstance(value, str) else value


def check_channel(form: Form, field: Field) -> None:
    """B1i: a decision goes "in writing (letter or e-mail)"; e-mail needs an address."""
    if str(field.data or "") == Channel.EMAIL.value and not form.email.data:
        raise ValidationError("Give an e-mail address to write by e-mail, or choose post.")


class ContactInline(InlineFormAdmin):
    form_columns = (
        "id",
        "name",
        "relationship_to_child",
        "parental_responsibility",
        "preferred_channel",
        "email",
        "phone",
        "postal_address",
        "postcode",
    )
    form_label = "Parents and carers"
    form_choices = {"preferred_channel": choices(Channel)}
    form_args = {
        "name": {"label": "Name", "filters": [_strip]},
        "relationship_to_child": {
            "label": "Relationship to the child",
            "filters": [_strip],
            "description": "For example: mother, father, foster carer, grandparent.",
        },
        "parental_responsibility": {"label": "Has parental responsibility"},
        "preferred_channel": {"label": "Write by", "validators": [check_channel]},
        "email": {"label": "E-mail", "filters": [_strip], "validators": [Optional(), EMAIL]},
        "phone": {"label": "Phone", "filters": [_strip]},
        "postal_address": {
            "label": "Postal address",
            "filters": [_strip],
            "description": "Leave empty when it is the child's home address.",
        },
        "postcode": {**postcode_field_args(), "label": "Postcode (of the postal address)"},
    }
