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

from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from flask import current_app, request
from jinja2 import pass_context
from markupsafe import Markup

# Kept per panel (the Admin) and per app: a process that builds several apps (the tests) never
# finds another app's menu or addresses, and what an app kept goes with it.
_DRAWN: WeakKeyDictionary[Any, dict[tuple[Any, ...], str]] = WeakKeyDictionary()
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
    key = (id(view), _answers(admin.menu()))  # the views live as long as their Admin
    return Markup(_kept(_DRAWN, admin, key, lambda: str(context.resolve("layout").menu())))


_STATIC: WeakKeyDictionary[Any, dict[tuple[Any, ...], str]] = WeakKeyDictionary()


@pass_context
def static_url(context: Any, endpoint: str, *args: Any, **kwargs: Any) -> str:
    """`get_url(endpoint, **kwargs)` for Flask-Admin's own files (admin/static.html), made
    once per address: a page asks for the same dozen or so every time, and an address depends
    only on the file, its version and where the panel is mounted (SCRIPT_NAME)."""
    get_url = context.resolve("get_url")
    if args:
        return str(get_url(endpoint, *args, **kwargs))
    key = (request.script_root, endpoint, tuple(sorted(kwargs.items())))
    try:
        hash(key)
    except TypeError:  # an unhashable argument: made each time, as before
        return str(get_url(endpoint, **kwargs))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return _kept(_STATIC, app, key, lambda: str(get_url(endpoint, **kwargs)))


def _kept(
    store: WeakKeyDictionary[Any, dict[tuple[Any, ...], str]],
    owner: Any,
    key: tuple[Any, ...],
    make: Callable[[], str],
) -> str:
    """What `make` gives for `key`, made once per owner (a panel, an app) and kept, up to
    `_LIMIT` keys an owner."""
    kept = store.get(owner)
    if kept is None:
        kept = store[owner] = {}
    found = kept.get(key)
    if found is None:
        found = make()
        if len(kept) >= _LIMIT:
            kept.clear()
        kept[key] = found
    return found
