"""The benchmark harness at a tiny scale: it must build, measure and write a well-formed table.

No timing is asserted (speed is the benchmark's business, reported in bench/RESULTS.md); what
must hold is that `python -m bench` runs on the engine under test, measures what it can, and
writes every row of issue 7's table with the machine it ran on.
"""

from __future__ import annotations

import re

import pytest

from bench import county, run

EXPECTED_ROWS = (
    "Schema by Alembic migrations",
    "County build",
    "Rules alone",
    "Bulk assessment of",
    "Floor: read the same rows",
    "Bulk assessment ÷ floor",
    "Allocation of",
    "Import of a",
    "List page — transport applications: first page",
    "List page — pupils: middle page",
    "List page — concessionary applications: first page",
    "Decision letters for",
)


@pytest.fixture(scope="module")
def results(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, str]:
    """Run the harness once at small scale on the engine the suite runs on: (engine, text)."""
    engine = request.config.getoption("--db")
    tmp_path = tmp_path_factory.mktemp("bench")
    out = tmp_path / "RESULTS.md"
    argv = ["--scale", "small", "--repeat", "1", "--out", str(out), "--workdir", str(tmp_path)]
    if engine == "postgresql":
        argv += ["--postgresql", "--pg-url", request.getfixturevalue("pg_base_url")]
    else:
        argv += ["--sqlite"]
    assert run.main(argv) == 0
    return engine, out.read_text()


def _table(text: str) -> list[list[str]]:
    section = text.split("## Results", 1)[1]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_bench_writes_a_well_formed_results_table(results: tuple[str, str]) -> None:
    engine, text = results
    table = _table(text)
    assert table[0] == ["Measurement", "SQLite", "PostgreSQL", "Target", "Met?"]
    assert all(len(row) == 5 for row in table), "every row has its five cells"
    labels = [row[0] for row in table[2:]]
    for expected in EXPECTED_ROWS:
        assert any(label.startswith(expected) for label in labels), expected
    column = 1 if engine == "sqlite" else 2
    other = 2 if engine == "sqlite" else 1
    for row in table[2:]:
        assert row[other] == "not run"
        assert row[column] not in ("", "not run"), row
        assert re.fullmatch(
            r"met|\*\*missed\*\*( \(SQLite CPU time: (met|missed)\))?|not measured|—", row[4]
        ), row


def test_bench_builds_the_county_and_measures_what_exists(results: tuple[str, str]) -> None:
    engine, text = results
    rows = {row[0]: row for row in _table(text)[2:]}
    column = 1 if engine == "sqlite" else 2
    size = county.SIZES["small"]
    build = next(r for label, r in rows.items() if label.startswith("County build"))
    assert f"{size.pupils:,} pupils" in build[column]
    assert f"{size.transport_applications:,} applications" in build[column]
    floor = next(r for label, r in rows.items() if label.startswith("Floor"))
    assert f"{size.transport_applications:,} rows read" in floor[column]
    rules_row = next(r for label, r in rows.items() if label.startswith("Rules alone"))
    assert re.match(r"[\d,]+/s \(", rules_row[column]), rules_row
    first_page = rows["List page — pupils: first page"][column]
    # Served, with the number of SQL statements the page sent.
    assert re.match(r"\d+ ms \(\d+ queries, \d+ rows, cpu \d+ ms\)", first_page), first_page


def test_bench_records_the_machine(results: tuple[str, str]) -> None:
    engine, text = results
    machine = text.split("## Machine", 1)[1].split("##", 1)[0]
    for field in ("CPU", "Cores", "Memory", "Python", "SQLite", "PostgreSQL", "Date"):
        assert re.search(rf"^\| {field}[^|]* \| \S", machine, re.M), field
    if engine == "postgresql":
        assert re.search(r"^\| PostgreSQL \| \d+", machine, re.M)
