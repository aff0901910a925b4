"""The waiting list explains itself (issue 14, Appendix F): a route's register in allocation
order, each applicant's facts, and the tier or tie-break that placed them below the one above."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import Flask
from flask.testing import FlaskClient

from models import db
from models.enums import ConcessionaryStatus, Sessions
from services import waiting_list
from tests import factories as f


def test_the_register_is_in_appendix_f_order_and_says_why(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        f.academic_year("2024/25")
        school = f.school()
        route = f.route([school], code="R-WAIT", seats=1)
        out_of_county = f.pupil(first_name="Out", lives_in_county=False)
        morning_only = f.pupil(first_name="Morning")
        both = f.pupil(first_name="Both")
        twin_a = f.pupil(first_name="TwinA", date_of_birth=date(2011, 5, 5))
        a = f.concessionary_application(out_of_county, school, route, sessions=Sessions.BOTH)
        b = f.concessionary_application(morning_only, school, route, sessions=Sessions.AM)
        c = f.concessionary_application(
            both,
            school,
            route,
            sessions=Sessions.BOTH,
            status=ConcessionaryStatus.WAITING,
            waitlist_position=1,
        )
        d = f.concessionary_application(
            twin_a, school, route, sessions=Sessions.BOTH, received_on=date(2024, 6, 2)
        )
        db.session.commit()
        places = waiting_list.route_register(db.session, route.id, "2024/25")
        order = [p.reference for p in places]
        assert order == [c.reference, d.reference, b.reference, a.reference]
        why = [p.placed_by for p in places]
        route_id = route.id
    assert why[0] == "first on the register"
    # Same facts as the one above but received a day later: the project's tie-break.
    assert why[1] == f"below {order[0]} on the tie-break (the one above applied earlier)"
    assert why[2] == f"below {order[1]} on the 2nd tier (the one above wants both sessions)"
    assert why[3] == f"below {order[2]} on the 1st tier (the one above lives in the county)"
    page = client_as("assistant").get(
        f"/admin/concessionary_application/register/?route={route_id}&year=2024/25"
    )
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "R-WAIT, 2024/25: 4 on the register" in text
    assert text.index(order[0]) < text.index(order[3])
    assert "on the 1st tier (the one above lives in the county)" in text
