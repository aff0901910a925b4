"""Downgrades past 0006 and 0004 refuse to drop stored values unless told to (issue 18).

Before issue 18 they dropped every school's sixth-form value (A7b) and every year's appeal and
decision deadlines (Appendix C, B2) without a word. A value the upgrade fills in again (the
sixth form derived from phase and ages, the 2024/25 deadlines) is not lost, so a database
holding only those downgrades as before (tests/test_migration_0006_sixth_form.py, and
tests/test_migrations.py on empty databases).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from rules.parameters import parameters_for
from services.migration_guards import DataLossRefused
from tests.conftest import ROOT, alembic_config
from tests.support import postgres


def _engine_at(request: pytest.FixtureRequest, tmp_path: Path, name: str, revision: str) -> Engine:
    if request.config.getoption("--db") == "postgresql":
        url = postgres.create_database(request.getfixturevalue("pg_base_url"), name)
    else:
        url = f"sqlite:///{tmp_path / (name + '.db')}"
    command.upgrade(alembic_config(url), revision)
    return create_engine(url)


@pytest.fixture
def at_0006(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    engine = _engine_at(request, tmp_path, "guard_0006", "0006")
    yield engine
    engine.dispose()


@pytest.fixture
def at_0004(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    engine = _engine_at(request, tmp_path, "guard_0004", "0004")
    yield engine
    engine.dispose()


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _school(engine: Engine, urn: int, high_age: int, sixth_form: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO school (urn, name, phase, establishment_type, selective, "
                "statutory_high_age, follows_council_term_dates, is_open, sixth_form) "
                "VALUES (:urn, 'A school', 'secondary', 'academy', false, :high, true, true, "
                ":sixth)"
            ),
            {"urn": urn, "high": high_age, "sixth": sixth_form},
        )


def test_0006_refuses_to_drop_an_official_sixth_form_value(at_0006: Engine) -> None:
    _school(at_0006, 100001, 16, "no_sixth_form")  # what the upgrade derives: not lost
    _school(at_0006, 100002, 16, "has_sixth_form")  # GIAS says otherwise: would be lost
    cfg = alembic_config(_url(at_0006))
    with pytest.raises(DataLossRefused) as refused:
        command.downgrade(cfg, "0005")
    message = str(refused.value)
    assert "sixth-form value" in message and "100002" in message and "100001" not in message
    assert "allow_data_loss=true" in message
    assert _revision(at_0006) == "0006"
    with at_0006.connect() as conn:
        assert conn.execute(text("SELECT sixth_form FROM school WHERE urn = 100002")).scalar() == (
            "has_sixth_form"
        )

    cfg.attributes["allow_data_loss"] = True
    command.downgrade(cfg, "0005")
    assert _revision(at_0006) == "0005"
    assert "sixth_form" not in {c["name"] for c in inspect(at_0006).get_columns("school")}


def _parameter_set(engine: Engine, year: str, **changes: int) -> None:
    columns = {c["name"] for c in inspect(engine).get_columns("policy_parameter_set")}
    values = {
        k: str(v) if isinstance(v, Decimal) else v
        for k, v in dataclasses.asdict(parameters_for("2024/25")).items()
        if k in columns and k != "academic_year"
    }
    values.update(changes)
    start = int(year[:4])
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO academic_year (label, starts, ends) VALUES (:l, :s, :e)"),
            {"l": year, "s": f"{start}-09-01", "e": f"{start + 1}-08-31"},
        )
        names = ", ".join(["academic_year", *values])
        binds = ", ".join([":academic_year", *(f":{k}" for k in values)])
        conn.execute(
            text(f"INSERT INTO policy_parameter_set ({names}) VALUES ({binds})"),
            {"academic_year": year, **values},
        )


def test_0004_refuses_to_drop_a_year_s_own_deadlines(at_0004: Engine) -> None:
    _parameter_set(at_0004, "2024/25")  # the figures the upgrade fills in: not lost
    _parameter_set(at_0004, "2025/26", review_request_working_days=25)
    cfg = alembic_config(_url(at_0004))
    with pytest.raises(DataLossRefused) as refused:
        command.downgrade(cfg, "0003")
    assert "deadlines" in str(refused.value) and "2025/26" in str(refused.value)
    assert "2024/25" not in str(refused.value)
    assert _revision(at_0004) == "0004"


def test_0004_downgrades_when_only_the_upgrade_s_own_figures_are_stored(at_0004: Engine) -> None:
    _parameter_set(at_0004, "2024/25")
    command.downgrade(alembic_config(_url(at_0004)), "0003")
    assert _revision(at_0004) == "0003"
    with at_0004.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM policy_parameter_set")).scalar() == 1


def test_the_command_line_says_so_in_one_line_and_goes_on_when_told(tmp_path: Path) -> None:
    """The command is the same on both engines; this one runs on a SQLite file always."""
    url = f"sqlite:///{tmp_path / 'guard_cli.db'}"
    command.upgrade(alembic_config(url), "0006")
    engine = create_engine(url)
    _school(engine, 100003, 16, "has_sixth_form")
    env = {**os.environ, "DATABASE_URL": _url(engine), "PYTHONPATH": str(ROOT)}
    env.pop("ALLOW_DATA_LOSS", None)
    alembic = [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini")]
    refused = subprocess.run(
        [*alembic, "downgrade", "0005"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert refused.returncode != 0
    said = [line for line in refused.stderr.splitlines() if "Downgrading past" in line]
    assert len(said) == 1 and "100003" in said[0], refused.stderr
    assert "Traceback" not in refused.stderr
    assert _revision(engine) == "0006"
    went_on = subprocess.run(
        [*alembic, "-x", "allow_data_loss=true", "downgrade", "0005"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert went_on.returncode == 0, went_on.stderr
    assert _revision(engine) == "0005"
    engine.dispose()


def test_0029_refuses_to_drop_the_permits_of_deleted_records(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A permit without a pupil (a deleted record's redaction) cannot stay under 0023's NOT
    NULL: the downgrade says so; an anonymised pupil's permit is kept through it."""
    engine = _engine_at(request, tmp_path, "guard_0029", "head")
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO pupil (reference, first_name, last_name, date_of_birth, "
                    "address, postcode, lives_in_county, send, ehcp, care_leaver, row_version) "
                    "VALUES ('P1', 'A', 'B', '2013-01-01', 'x', 'LN1 1AA', true, false, false, "
                    "false, 1)"
                )
            )
            for pupil in ("1", "NULL"):
                conn.execute(
                    text(
                        "INSERT INTO audit_redaction (pupil_id, table_name, record_id, fields, "
                        f"requested_at) VALUES ({pupil}, 'pupil', '9', '[]', '2026-01-01')"
                    )
                )
        cfg = alembic_config(_url(engine))
        with pytest.raises(DataLossRefused) as refused:
            command.downgrade(cfg, "0019")
        assert "0029" in str(refused.value) and _revision(engine) == "0029"
        cfg.attributes["allow_data_loss"] = True
        command.downgrade(cfg, "0019")
        assert _revision(engine) == "0019"
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT pupil_id FROM audit_redaction")).scalars().all()
        assert kept == [1]
        assert not inspect(engine).get_columns("audit_redaction")[1]["nullable"]
        command.upgrade(cfg, "head")
    finally:
        engine.dispose()
