"""Enum columns work by stored value on every screen: filters never 500, edits keep the value.

Flask-Admin assumes member names are stored; ours store values ("waiting", not "WAITING").
"""

from __future__ import annotations

import re

from flask_admin.contrib.sqla import filters as sqla_filters

from models import db
from models.enums import ConcessionaryStatus, Sessions
from tests import factories


def _enum_filters(app):  # type: ignore[no-untyped-def]
    admin = app.extensions["admin"][0]
    for view in admin._views:
        for index, flt in enumerate(getattr(view, "_filters", None) or []):
            if isinstance(flt, sqla_filters.EnumEqualFilter):
                yield view, index, flt


def test_every_enum_filter_answers_and_filters(app, client_as):  # type: ignore[no-untyped-def]
    client = client_as("supervisor")
    with app.app_context():
        found = list(_enum_filters(app))
        assert found, "no enum filters registered"
        for view, index, flt in found:
            arg = view.get_filter_arg(index, flt)
            code = flt.get_options(view)[0][0]
            url = f"/admin/{view.endpoint}/?flt0_{arg}={code}"
            response = client.get(url)
            assert response.status_code == 200, url


def test_status_filter_selects_by_value(app, client_as):  # type: ignore[no-untyped-def]
    with app.app_context():
        factories.academic_year()
        school, route = factories.school(), None
        route = factories.route([school])
        waiting = factories.concessionary_application(
            factories.pupil(),
            school,
            route,
            status=ConcessionaryStatus.WAITING,
            waitlist_position=1,
        )
        factories.concessionary_application(factories.pupil(), school, route)
        db.session.commit()
        waiting_ref = waiting.reference
        view = next(
            v
            for v in app.extensions["admin"][0]._views
            if v.endpoint == "concessionary_application"
        )
        index, flt = next(
            (i, f)
            for i, f in enumerate(view._filters)
            if isinstance(f, sqla_filters.EnumEqualFilter) and f.column.key == "status"
        )
        arg = view.get_filter_arg(index, flt)
    body = (
        client_as("supervisor")
        .get(f"/admin/concessionary_application/?flt0_{arg}=waiting")
        .get_data(as_text=True)
    )
    assert waiting_ref in body
    assert body.count("CSA") == body.count(waiting_ref)


def test_edit_form_preselects_and_keeps_stored_enum(app, client_as):  # type: ignore[no-untyped-def]
    with app.app_context():
        factories.academic_year()
        school = factories.school()
        application = factories.concessionary_application(
            factories.pupil(), school, factories.route([school]), sessions=Sessions.AM
        )
        db.session.commit()
        pk = application.id
    client = client_as("supervisor")
    page = client.get(f"/admin/concessionary_application/edit/?id={pk}").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="sessions".*?</select>', page, re.S)
    assert select, "sessions field missing from the edit form"
    assert re.search(r'<option selected value="am">|<option value="am" selected', select.group(0))
