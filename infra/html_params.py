"""WTForms' html_params, the same output made without a string formatter per attribute.

Every form field the panel draws (an edit form's fields, each list's action form and filters)
writes its attributes through `wtforms.widgets.core.html_params`, which builds each one with
`Markup('{k}="{v}"').format(...)`: markupsafe's escaping formatter, the slowest way to join
three strings, about a sixth of an edit form's rendering (bench/pages_cpu.py, issue 18). This
is the same function, escaping the same (each name and value through markupsafe's `escape`,
a value's `"` as `&quot;`, True as the bare name, False left out, names sorted), joined as
plain strings. `install()` puts it wherever WTForms and Flask-Admin hold the original;
tests/test_html_params.py compares the two.
"""

from __future__ import annotations

from typing import Any

import wtforms.widgets.core
from markupsafe import Markup, escape
from wtforms.widgets.core import clean_key

# WTForms' own, kept (this module is imported before install() replaces it).
WTFORMS_HTML_PARAMS = wtforms.widgets.core.html_params
_installed = False


def html_params(**kwargs: Any) -> Markup:
    params = []
    for key, value in sorted(kwargs.items()):
        name = clean_key(key)
        if value is True:
            params.append(str(escape(name)))
        elif value is False:
            continue
        else:
            shown = str(escape(value)).replace('"', "&quot;")
            params.append(f'{escape(name)}="{shown}"')
    return Markup(" ".join(params))


def install() -> None:
    """Replace the original in WTForms' widgets and in Flask-Admin's; idempotent."""
    global _installed
    if _installed:
        return
    import flask_admin.model.widgets
    import wtforms.widgets

    core = wtforms.widgets.core
    original = WTFORMS_HTML_PARAMS
    for module in (core, wtforms.widgets, flask_admin.model.widgets):
        if getattr(module, "html_params", None) is original:
            module.html_params = html_params  # type: ignore[attr-defined]
    for name in dir(core):
        widget = getattr(core, name)
        if isinstance(widget, type) and "html_params" in vars(widget):
            widget.html_params = staticmethod(html_params)  # type: ignore[attr-defined]
    _installed = True
