"""List search (admin_views/search.py): Flask-Admin's meaning, without scanning a join.

An assistant types a TRA number, a pupil's reference or part of a name into a list's search
box: every word must match some searchable column of the row or of its pupil, anywhere and in
any case (`^word` from the start, `=word` exactly). Run on both engines; the PostgreSQL test
also checks that the trigram indexes of migration 0007 can serve the search.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, inspect, text

from models import db
from tests import factories as f


@pytest.fixture
def county(app: Flask) -> Iterator[dict[str, str]]:
    """Three pupils, an application each (one with a concessionary seat application)."""
    with app.app_context():
        f.academic_year()
        school = f.school(name="Lincoln Academy")
        route = f.route([school])
        ada = f.pupil(reference="LP0001234", first_name="Ada", last_name="Lovelace")
        alan = f.pupil(reference="LP0005678", first_name="Alan", last_name="Turing")
        grace = f.pupil(reference="LP0009999", first_name="Grace", last_name="Hopper")
        refs = {
            "ada": f.transport_application(ada, school, reference="TRA2400101").reference,
            "alan": f.transport_application(alan, school, reference="TRA2400202").reference,
            "grace": f.transport_application(grace, school, reference="TRA2400303").reference,
            "csa": f.concessionary_application(
                ada, school, route, reference="CSA2400777"
            ).reference,
        }
        db.session.commit()
    yield refs


def _found(client: FlaskClient, endpoint: str, search: str, refs: dict[str, str]) -> set[str]:
    response = client.get(f"/admin/{endpoint}/", query_string={"search": search})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    body = response.get_data(as_text=True)
    return {name for name, ref in refs.items() if ref in body}


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("TRA2400202", {"alan"}),  # the TRA number (Appendix C), whole
        ("2400303", {"grace"}),  # part of it
        ("lovelace", {"ada"}),  # the pupil's surname, any case
        ("GRA", {"grace"}),  # part of a first name
        ("LP0005678", {"alan"}),  # the pupil's reference
        ("ada lovelace", {"ada"}),  # every word must match
        ("ada turing", set()),
        ("^lov", {"ada"}),  # from the start
        ("^ove", set()),
        ("=turing", {"alan"}),  # exactly
        ("=turin", set()),
        ("nobody", set()),
    ],
)
def test_transport_applications_search_by_reference_and_pupil(
    county: dict[str, str],
    client_as: Callable[[str], FlaskClient],
    search: str,
    expected: set[str],
) -> None:
    found = _found(client_as("assistant"), "transport_application", search, county)
    assert found - {"csa"} == expected


def test_pupils_and_seat_applications_search_the_same_way(
    county: dict[str, str], client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as("assistant")
    pupils = client.get("/admin/pupil/", query_string={"search": "hop"}).get_data(as_text=True)
    assert "LP0009999" in pupils and "LP0001234" not in pupils
    assert _found(client, "concessionary_application", "lovelace", county) == {"csa"}
    assert _found(client, "concessionary_application", "turing", county) == set()
    assert _found(client, "concessionary_application", "2400777", county) == {"csa"}


def _searched(app: Flask, client: FlaskClient, endpoint: str) -> tuple[str, list[str]]:
    """A list searched for "lovelace": the page, and every statement it sent."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        page = client.get(f"/admin/{endpoint}/", query_string={"search": "lovelace"})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return page.get_data(as_text=True), statements


def test_search_reads_each_table_by_itself_without_a_join(
    app: Flask, county: dict[str, str], client_as: Callable[[str], FlaskClient]
) -> None:
    """The page's own query has no join to pupil: the pupil match is an `IN (SELECT ...)`.

    Flask-Admin's own search joined pupil and tested every joined row in sort order, which
    read all 25,000 applications for a search matching one (bench/profiles/NOTES.md).
    """
    _page, statements = _searched(app, client_as("assistant"), "transport_application")
    searches = [s for s in statements if re.search(r"LIKE", s, re.IGNORECASE)]
    assert len(searches) == 1, searches
    assert "JOIN" not in searches[0].upper()
    assert "lower(" not in searches[0] and "CAST(" not in searches[0].upper()


def test_postgresql_tests_each_trigram_indexed_column_in_a_select_of_its_own(
    app: Flask, county: dict[str, str], client_as: Callable[[str], FlaskClient],
    db_engine_name: str,
) -> None:
    """On PostgreSQL a column with a trigram index is tested by a SELECT of its own (joined by
    UNION), which its index serves; an OR of four ILIKEs was priced below a scan of the demo
    county's 6,000 pupils and scanned (bench.load, issue 18). SQLite tests them in one pass."""
    page, statements = _searched(app, client_as("assistant"), "pupil")
    assert "LP0001234" in page and "LP0005678" not in page
    search = next(s for s in statements if re.search(r"LIKE", s, re.IGNORECASE))
    likes = len(re.findall(r"\bI?LIKE\b", search, re.IGNORECASE))
    assert likes == 4, search  # reference, first name, surname, postcode
    ors = len(re.findall(r"\bOR\b", search))
    if db_engine_name == "postgresql":
        assert ors == 0 and search.count("UNION") == 3, search
    else:
        assert ors == 3 and "UNION" not in search, search


@pytest.mark.commits  # it inspects the indexes on a connection of its own
def test_trigram_indexes_serve_the_search_on_postgresql_only(
    app: Flask, county: dict[str, str], db_engine_name: str
) -> None:
    """Migration 0007's GIN indexes serve the ILIKE the search sends; SQLite gets none."""
    with app.app_context(), db.engine.connect() as conn:
        names = {
            index["name"]
            for table in ("pupil", "transport_application", "concessionary_application")
            for index in inspect(conn).get_indexes(table)
            if index["name"] and index["name"].endswith("_trgm")
        }
        if db_engine_name != "postgresql":
            assert names == set()
            return
        assert len(names) == 6, names
        # A small pending list: searches read all of it (migration 0007).
        options = conn.execute(
            text("SELECT relname, reloptions FROM pg_class WHERE relname LIKE '%\\_trgm'")
        ).all()
        assert {name: opts for name, opts in options} == {
            name: ["gin_pending_list_limit=256"] for name in names
        }
        conn.execute(text("SET enable_seqscan = off"))  # tiny tables: make the planner show it
        plan = "\n".join(
            conn.execute(
                text(
                    "EXPLAIN SELECT id FROM pupil WHERE last_name ILIKE '%love%' "
                    "OR first_name ILIKE '%love%' OR reference ILIKE '%love%'"
                )
            ).scalars()
        )
        for column in ("last_name", "first_name", "reference"):
            assert f"ix_pupil_{column}_trgm" in plan, plan
        plan = "\n".join(
            conn.execute(
                text("EXPLAIN SELECT id FROM transport_application WHERE reference ILIKE '%0101%'")
            ).scalars()
        )
        assert "ix_transport_application_reference_trgm" in plan, plan


@pytest.fixture
def postcodes(app: Flask) -> Iterator[None]:
    """A school, a pupil and a postcode record at LN1 6WT; another at LN17 6WT."""
    with app.app_context():
        f.school(name="Castle Hill Academy", postcode="LN1 6WT")
        f.school(name="Fen Edge Academy", postcode="LN17 6WT")
        f.pupil(reference="LP0006001", last_name="Castle", postcode="LN1 6WT")
        f.pupil(reference="LP0006002", last_name="Fenn", postcode="LN17 6WT")
        parish = f.parish(name="Uphill")
        f.postcode("LN1 6WT", parish)
        f.postcode("LN17 6WT", parish)
        db.session.commit()
    yield


@pytest.mark.parametrize(
    ("search", "near", "far"),
    [
        ("ln16wt", True, False),  # issue 15: no space, lower case
        ("LN16WT", True, False),
        ("ln1 6wt", True, False),  # the written form, any case
        ("=ln16wt", True, False),  # exactly, spacing aside
        ("^ln16", True, False),  # from the start
        ("ln176wt", False, True),
        ("6wt", True, True),  # the inward code alone
        ("ln18wt", False, False),
    ],
)
def test_postcode_search_ignores_spacing_and_case_on_every_list_that_searches_postcodes(
    postcodes: None, client_as: Callable[[str], FlaskClient], search: str, near: bool, far: bool
) -> None:
    client = client_as("assistant")
    for endpoint, near_text, far_text in (
        ("school", "Castle Hill Academy", "Fen Edge Academy"),
        ("pupil", "LP0006001", "LP0006002"),
        ("postcode", "LN1 6WT", "LN17 6WT"),
    ):
        response = client.get(f"/admin/{endpoint}/", query_string={"search": search})
        assert response.status_code == 200
        body = response.get_data(as_text=True).replace(f'value="{search}"', "")
        if endpoint == "postcode":  # the near code is inside the far one's text: whole cells
            body = re.sub(r"\s+", " ", body)
            shown = set(re.findall(r">\s?(LN1 6WT|LN17 6WT)\s?<", body))
            assert ("LN1 6WT" in shown, "LN17 6WT" in shown) == (near, far), (endpoint, search)
            continue
        assert (near_text in body, far_text in body) == (near, far), (endpoint, search)
