"""infra/html_params.py writes exactly what WTForms' html_params writes (issue 18)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from markupsafe import Markup

from infra import html_params as fast

CASES: list[dict[str, Any]] = [
    {},
    {"name": "a", "id": "b", "class_": "form-control x"},
    {"value": 'he said "hi" <b>&amp;</b>', "checked": True, "readonly": False},
    {"value": Markup('<i class="x">it\'s</i>'), "data_role": "z_q", "aria_label": "a&b"},
    {"value": 3, "min": 0, "step": 0.01, "for_": "f"},
    {"value": None, "placeholder": "", "multiple": True, "required": False},
    {"data_json": '{"a": [1, 2]}', "onclick": "return faHelpers.safeConfirm('Sure?');"},
    {"value": "ü € \r\n tab\t", "title": "<script>"},
]


@pytest.mark.parametrize("kwargs", CASES)
def test_the_same_attributes_as_wtforms(kwargs: dict[str, Any]) -> None:
    original = fast.WTFORMS_HTML_PARAMS
    assert original.__module__ == "wtforms.widgets.core" and original is not fast.html_params
    made = fast.html_params(**kwargs)
    assert made == original(**kwargs)
    assert type(made) is Markup


def test_installed_where_wtforms_and_flask_admin_hold_it(app: Flask) -> None:
    import flask_admin.model.widgets
    import wtforms.widgets
    import wtforms.widgets.core as core

    assert core.html_params is fast.html_params
    assert wtforms.widgets.html_params is fast.html_params
    assert flask_admin.model.widgets.html_params is fast.html_params
    assert core.Input.html_params is fast.html_params
    assert core.Button.html_params is fast.html_params
