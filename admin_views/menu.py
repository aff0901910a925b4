"""The main menu drawn once per kind of page, and Flask-Admin's file addresses, kept (issue 18).

Flask-Admin's menu macro walks every screen of the panel on every page (about forty), asking
each whether it is accessible and visible and whether it is the page's own, through a dozen
Jinja macro calls per entry: about a tenth of a list page's CPU and a fifth of an edit form's
(bench/pages_cpu.py). What it draws depends only on those answers and on the page's screen
(the entry marked active): the names, icons and addresses are fixed when the panel is built
(Flask-Admin keeps each entry's address once it is known). So each request still asks every
entry the same two questions, through the same checks (the server's own access check on
each screen is untouched: this is only what the menu shows), and the menu drawn for a set of
answers on a screen is kept for the next page with the same.
"""

from __future__ import annotations

from typing import Any

from flask import request
from jinja2 import pass_context
from markupsafe import Markup

_DRAWN: dict[tuple[Any, ...], str] = {}
_LIMIT = 4096  # screens x sets of answers; far more than the panel has, a bound all the same


def _answers(items: Any) -> tuple[Any, ...]:
    """Every entry's (accessible, visible), categories' children included, in menu order."""
    out: list[Any] = []
    for item in items:
        children = getattr(item, "_children", ())
        if children:
            out.append(_answers(children))
        else:
            out.append((bool(item.is_accessible()), bool(item.is_visible())))
    return tuple(out)


@pass_context
def panel_menu(context: Any) -> Markup:
    """`layout.menu()` as Flask-Admin draws it, drawn once per screen and set of answers."""
    view = context.resolve("admin_view")
    admin = getattr(view, "admin", None)
    if admin is None:  # not a panel screen's page: drawn as it always was
        return Markup(context.resolve("layout").menu())
    key = (id(admin), id(view), _answers(admin.menu()))
    drawn = _DRAWN.get(key)
    if drawn is None:
        drawn = str(context.resolve("layout").menu())
        if len(_DRAWN) >= _LIMIT:
            _DRAWN.clear()
        _DRAWN[key] = drawn
    return Markup(drawn)


_STATIC: dict[tuple[Any, ...], str] = {}


@pass_context
def static_url(context: Any, endpoint: str, *args: Any, **kwargs: Any) -> str:
    """`get_url(endpoint, **kwargs)` for Flask-Admin's own files (admin/static.html), made
    once per address: a page asks for the same dozen or so every time, and an address depends
    only on the file, its version and where the panel is mounted (SCRIPT_NAME)."""
    get_url = context.resolve("get_url")
    if args:
        return str(get_url(endpoint, *args, **kwargs))
    try:
        key = (request.script_root, endpoint, tuple(sorted(kwargs.items())))
        found = _STATIC.get(key)
    except TypeError:  # an unhashable argument: made each time, as before
        return str(get_url(endpoint, **kwargs))
    if found is None:
        found = str(get_url(endpoint, **kwargs))
        if len(_STATIC) >= _LIMIT:
            _STATIC.clear()
        _STATIC[key] = found
    return found
