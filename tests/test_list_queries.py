"""No N+1 on list pages (issue 2): the number of SQL queries a list page runs does not grow
with the number of rows shown, because the related names each row shows (a school's main site,
a DTA's school, a pupil's parish, an appeal's TRA number and reviewer, ...) are joined in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, insert, select

from models import (
    Appeal,
    DesignatedTransportArea,
    EligibilityDecision,
    School,
    TransportApplication,
    User,
    db,
)
from models.enums import AppealStage, DtaCategory, Outcome
from tests.conftest import PASSWORD, fresh_database, make_app, sign_in

ROWS = 110  # more than the largest page, so a page of 100 really shows 100 rows


def _more_dtas() -> None:
    """Top the DTAs up past a page of 100 (one per school and category, as the key allows)."""
    have = db.session.scalar(select(func.count()).select_from(DesignatedTransportArea))
    taken = set(
        db.session.execute(
            select(DesignatedTransportArea.school_id, DesignatedTransportArea.category)
        ).all()
    )
    rows = []
    for school_id in db.session.scalars(select(School.id).order_by(School.id)):
        for category in DtaCategory:
            if have + len(rows) >= ROWS:
                break
            if (school_id, category) not in taken:
                rows.append(
                    {
                        "name": f"Extra DTA {school_id} {category.value}",
                        "school_id": school_id,
                        "category": category,
                    }  # fmt: skip
                )
    if rows:
        db.session.execute(insert(DesignatedTransportArea), rows)


def _appeals() -> None:
    """A refusal and a stage-one appeal, reviewed by the supervisor, for ROWS applications."""
    officer = db.session.scalar(select(User.id).where(User.username == "officer"))
    reviewer = db.session.scalar(select(User.id).where(User.username == "supervisor"))
    applications = db.session.scalars(
        select(TransportApplication.id).order_by(TransportApplication.id).limit(ROWS)
    ).all()
    decided = datetime(2024, 7, 1, 10, 0, tzinfo=UTC)
    db.session.execute(
        insert(EligibilityDecision),
        [
            {
                "application_id": a,
                "outcome": Outcome.NOT_ELIGIBLE,
                "basis": "A3",
                "clauses": ["A3"],
                "charge": None,
                "reasons": ["Within the walking distance (A3)."],
                "facts": {},
                "facts_hash": f"{a:064d}",
                "parameters_year": "2024/25",
                "decided_by_id": officer,
                "decided_at": decided,
            }
            for a in applications
        ],
    )
    decisions = db.session.scalars(select(EligibilityDecision.id)).all()
    db.session.execute(
        insert(Appeal),
        [
            {
                "decision_id": d,
                "stage": AppealStage.REVIEW,
                "received_on": date(2024, 7, 10) + timedelta(days=i % 10),
                "request_deadline": date(2024, 7, 29),
                "decision_due": date(2024, 8, 7),
                "grounds": "The walking route is unsafe (Appendix D).",
                "reviewer_id": reviewer,
            }
            for i, d in enumerate(decisions)
        ],
    )


@pytest.fixture(scope="module")
def county_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    from demo.county import CountySize, build_county

    url = fresh_database(request, "list_queries", Path(tmp_path_factory.mktemp("list_queries")))
    flask_app = make_app(url)
    size = CountySize(
        schools=ROWS,
        parishes=ROWS,
        routes=30,
        pupils=800,
        transport_applications=300,
        concessionary_applications=ROWS + 20,
    )
    with flask_app.app_context():
        build_county(seed=3, size=size, password=PASSWORD, today=date(2024, 10, 1))
        _more_dtas()
        _appeals()
        db.session.commit()
    yield flask_app
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def supervisor(county_app: Flask) -> FlaskClient:
    client = county_app.test_client()
    sign_in(client, "supervisor")
    return client


def _queries_for(flask_app: Flask, client: FlaskClient, url: str) -> tuple[int, int, str]:
    """(SQL statements run, rows shown, page) for one GET of a list page."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with flask_app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, url
    rows = len(re.findall(r'name="rowid"', body))
    return len(statements), rows, body


LISTS = [
    "school",
    "dta",
    "pupil",
    "appeal",
    "parish",
    "postcode",
    "low_income_evidence",
    "transport_application",
    "concessionary_application",
]


@pytest.mark.parametrize("endpoint", LISTS)
def test_list_page_query_count_does_not_grow_with_page_size(
    county_app: Flask, supervisor: FlaskClient, endpoint: str
) -> None:
    admin = county_app.extensions["admin"][0]
    if not any(v.endpoint == endpoint for v in admin._views):
        pytest.fail(f"no screen registered for {endpoint}")
    small, small_rows, _ = _queries_for(county_app, supervisor, f"/admin/{endpoint}/?page_size=20")
    large, large_rows, _ = _queries_for(county_app, supervisor, f"/admin/{endpoint}/?page_size=100")
    assert (small_rows, large_rows) == (20, 100), "the pages did not show the rows asked for"
    assert large == small, f"{endpoint}: {small} queries for 20 rows but {large} for 100"


def test_the_joined_names_are_on_the_page(county_app: Flask, supervisor: FlaskClient) -> None:
    """The lists do show the related names the joins are for (so the test above means it)."""
    with county_app.app_context():
        reference = db.session.scalar(
            select(TransportApplication.reference)
            .join(EligibilityDecision)
            .join(Appeal)
            .order_by(Appeal.received_on.desc(), Appeal.id)
            .limit(1)
        )
        dta_school = db.session.scalar(
            select(School.name)
            .join(DesignatedTransportArea, DesignatedTransportArea.school_id == School.id)
            .order_by(DesignatedTransportArea.name)
            .limit(1)
        )
    _, _, appeals = _queries_for(county_app, supervisor, "/admin/appeal/?page_size=100")
    assert reference in appeals and "Sam Supervisor" in appeals
    _, _, dtas = _queries_for(county_app, supervisor, "/admin/dta/?page_size=100")
    assert dta_school in dtas.replace("&#39;", "'")
