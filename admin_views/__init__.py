"""Every screen of the panel, grouped in the menus staff recognise."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from infra.security import csp_nonce

from . import (
    appeals,
    areas,
    audit,
    calendars,
    communications,
    concessionary_applications,
    concessionary_seats,
    contribution_settings,
    contributions,
    decisions,
    dtas,
    import_runs,
    instalments,
    jobs,
    letters,
    low_income,
    payments,
    policy_parameters,
    postcodes,
    pupils,
    refunds,
    retention_settings,
    routes,
    schools,
    term_variations,
    transport_applications,
    users,
    withdrawals,
)
from .home import HomeView
from .imports import PAGE as IMPORTS_PAGE
from .menu import panel_menu, static_url
from .reports import PAGE as REPORTS_PAGE

MODULES = (
    schools,
    areas,
    postcodes,
    dtas,
    routes,
    pupils,
    low_income,
    transport_applications,
    decisions,
    appeals,
    concessionary_applications,
    concessionary_seats,
    withdrawals,
    contributions,
    instalments,
    payments,
    refunds,
    calendars,
    term_variations,
    contribution_settings,
    policy_parameters,
    retention_settings,
    users,
    audit,
    communications,
    letters,
    jobs,
    import_runs,
)
# Second screens of a module (the module's VIEW is in MODULES).
EXTRA_VIEWS = (communications.DOWNLOADS_VIEW,)
# Plain pages (not one model's list): (BaseView class, menu name, category, endpoint).
PAGES = (IMPORTS_PAGE, REPORTS_PAGE)
CATEGORIES = (
    "Reference data",
    "Casework",
    "Concessionary seats",
    "Money",
    "Reports",
    "Settings",
    "Administration",
)


# Carries the panel's own templates (overrides of Flask-Admin's, and pages of our own) and its
# one stylesheet and script (admin_views/static: contrast, focus, sizes; see app_base.html).
templates = Blueprint(
    "panel",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/panel-static",
)


@templates.app_template_filter("uk_date")
def _uk_date(value: Any) -> str:
    """Templates' dates in the panel's one form ("7 Oct 2024"), nothing as nothing."""
    from .dates import long_date

    return "" if value is None else long_date(value)


@templates.app_template_filter("uk_time")
def _uk_time(value: Any) -> str:
    """Templates' moments to the minute in England's local time ("7 Oct 2024 14:05")."""
    from .dates import london_minute

    return "" if value is None else london_minute(value)


@templates.app_template_filter("words")
def _words(value: Any) -> str:
    """A stored code in words ("not_eligible" -> "Not eligible")."""
    from .enum_support import _label

    return "" if value is None else _label(value)


@templates.app_template_filter("tag")
def _tag(value: Any) -> Any:
    """A status or outcome as a tag (GOV.UK), in words."""
    from .base import status_tag

    return "" if value is None else status_tag(value)


def init_admin(app: Flask) -> Admin:
    app.register_blueprint(templates)
    # Any screen can start a background job with {{ job_start_form('assessment') }}.
    app.jinja_env.globals["job_start_form"] = jobs.job_start_form
    # And show a record's letters with admin/letters/_related.html.
    app.jinja_env.globals["related_letters"] = communications.related_letters
    # The main menu, drawn once per screen and set of answers (admin_views/menu.py).
    app.jinja_env.globals["panel_menu"] = panel_menu
    app.jinja_env.globals["static_url"] = static_url  # admin/static.html
    admin = Admin(
        app,
        name="School transport",
        theme=Bootstrap4Theme(base_template="admin/app_base.html", fluid=True),
        index_view=HomeView(name="Home", url="/admin"),
        csp_nonce_generator=csp_nonce,
    )
    for view_cls, model, name, category in (*(m.VIEW for m in MODULES), *EXTRA_VIEWS):
        admin.add_view(view_cls(model, name=name, category=category, endpoint=model.__tablename__))
    for page_cls, page_name, page_category, endpoint in PAGES:
        admin.add_view(page_cls(name=page_name, category=page_category, endpoint=endpoint))
    return admin
