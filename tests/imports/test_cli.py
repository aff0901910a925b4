"""`flask import ...`: counts on stdout, exit 2 with one line on stderr for a refused file."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from models import AuditLog, School, db

from .conftest import FIXTURES


def run(app, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["import", *args])


def test_schools_command_prints_counts_by_reason(app_ctx) -> None:
    result = run(app_ctx, "schools", str(FIXTURES / "gias_2018.csv"), "--la", "925")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "7 inserted, 0 updated, 0 unchanged, 3 skipped" in out
    assert "skipped (outside LA 925): 1" in out
    assert "skipped (British school overseas (not transported to)): 1" in out
    assert "skipped (no local authority): 1" in out
    again = run(app_ctx, "schools", str(FIXTURES / "gias_2018.csv"), "--la", "925")
    assert "0 inserted, 0 updated, 7 unchanged, 3 skipped" in again.stdout
    # The bulk insert is in the audit trail, attributed to the command.
    trail = db.session.scalars(select(AuditLog).where(AuditLog.table_name == "school")).all()
    assert [t.username for t in trail] == ["cli:import schools"] * 7  # one row per school
    assert all(t.changes["urn"][0] is None for t in trail)


def test_a_bad_file_exits_2_with_one_line_and_imports_nothing(app_ctx, tmp_path: Path) -> None:
    text = (FIXTURES / "gias_2018.csv").read_bytes().replace(b'"31-08-2015"', b'"31-13-2015"')
    bad = tmp_path / "bad.csv"
    bad.write_bytes(text)
    report_file = tmp_path / "report.txt"
    result = run(app_ctx, "schools", str(bad), "--report", str(report_file))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "nothing imported" in lines[0] and "row 4" in lines[0] and "CloseDate" in lines[0]
    assert "error: row 4, column 'CloseDate'" in report_file.read_text()
    assert db.session.scalar(select(func.count(School.id))) == 0


def test_dry_run_writes_nothing(app_ctx) -> None:
    result = run(app_ctx, "schools", str(FIXTURES / "gias_2025.csv"), "--dry-run")
    assert result.exit_code == 0
    assert "would import: 7 inserted" in result.stdout
    assert db.session.scalar(select(func.count(School.id))) == 0


def test_unreadable_path_exits_2(app_ctx, tmp_path: Path) -> None:
    result = run(app_ctx, "areas", str(tmp_path / "missing.csv"))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_refused_command_import_is_recorded_with_problems_until_a_clean_one(
    app_ctx, tmp_path: Path
) -> None:
    """Issue 14: the command's runs are recorded like the screen's, so a refused file is
    counted on the home page until the corrected one is imported."""
    from models import ImportRun
    from services import import_runs

    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        (FIXTURES / "gias_2018.csv").read_bytes().replace(b'"31-08-2015"', b'"31-13-2015"')
    )
    assert run(app_ctx, "schools", str(bad)).exit_code == 2
    problems = select(func.count()).select_from(ImportRun).where(import_runs.with_problems())
    assert db.session.scalar(problems) == 1
    run_row = db.session.scalar(select(ImportRun))
    assert (run_row.filename, run_row.via, run_row.committed) == ("bad.csv", "command", False)

    assert run(app_ctx, "schools", str(FIXTURES / "gias_2018.csv")).exit_code == 0
    assert db.session.scalar(problems) == 0
