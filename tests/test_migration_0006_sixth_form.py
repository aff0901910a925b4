"""Migration 0006 fills in the new sixth-form field (A7b) for schools already in the database.

Why this matters: the post-16 nearest-school ranking reads the field, so the backfill must not
change any school's standing before GIAS's official values arrive: primaries and colleges
"not applicable" (a college is post-16 provision by its phase), other schools by whether they
teach past 16, exactly as the statutory age range already ranked them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import alembic_config
from tests.support import postgres

# (urn, phase, establishment type, statutory high age, expected sixth_form)
SCHOOLS = [
    (100001, "primary", "community", 11, "not_applicable"),
    (100002, "nursery", "nursery", 5, "not_applicable"),
    (100003, "secondary", "academy", 18, "has_sixth_form"),
    (100004, "secondary", "community", 16, "no_sixth_form"),
    (100005, "all_through", "academy", 19, "has_sixth_form"),
    (100006, "special", "special", 19, "has_sixth_form"),
    (100007, "alternative_provision", "alternative_provision", 16, "no_sixth_form"),
    (100008, "sixth_form", "academy", 19, "not_applicable"),
    (100009, "fe_college", "fe_college", None, "not_applicable"),
    (100010, "secondary", "foundation", None, "not_recorded"),
]


@pytest.fixture
def engine_at_0005(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    name = "migration_0006_sixth_form"
    if request.config.getoption("--db") == "postgresql":
        url = postgres.create_database(request.getfixturevalue("pg_base_url"), name)
    else:
        url = f"sqlite:///{tmp_path / (name + '.db')}"
    command.upgrade(alembic_config(url), "0005")
    engine = create_engine(url)
    yield engine
    engine.dispose()


def test_0006_backfills_sixth_form_from_phase_and_ages_and_downgrades(
    engine_at_0005: Engine,
) -> None:
    with engine_at_0005.begin() as conn:
        for urn, phase, type_, high, _ in SCHOOLS:
            conn.execute(
                text(
                    "INSERT INTO school (urn, name, phase, establishment_type, selective, "
                    "statutory_high_age, follows_council_term_dates, is_open) "
                    "VALUES (:urn, :name, :phase, :type, false, :high, true, true)"
                ),
                {"urn": urn, "name": f"School {urn}", "phase": phase, "type": type_, "high": high},
            )
    cfg = alembic_config(engine_at_0005.url.render_as_string(hide_password=False))
    command.upgrade(cfg, "0006")
    with engine_at_0005.connect() as conn:
        got = dict(conn.execute(text("SELECT urn, sixth_form FROM school")).all())
    assert got == {urn: expected for urn, *_, expected in SCHOOLS}

    # The CHECK constraint keeps the column to the four GIAS values.
    with pytest.raises(IntegrityError, match="(?i)check"), engine_at_0005.begin() as conn:
        conn.execute(text("UPDATE school SET sixth_form = 'maybe' WHERE urn = 100001"))

    command.downgrade(cfg, "0005")
    columns = {c["name"] for c in inspect(engine_at_0005).get_columns("school")}
    assert "sixth_form" not in columns
    with engine_at_0005.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM school")).scalar() == len(SCHOOLS)
