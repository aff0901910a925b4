"""The council's own lists without the browser: low-income evidence per year, care status and
placements, a satellite's main site, post-16 course facts. Each all-or-nothing with a
row-and-column report, idempotent, and `flask import ...` exits 2 with one line on a bad file."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from imports.casework_facts import (
    import_care,
    import_low_income,
    import_post16,
    import_satellites,
)
from models import AuditLog, LowIncomeEvidence, Pupil, School, TransportApplication, db
from rules.vocab import CareBy, Placement
from tests import factories as f

from .conftest import csv_bytes


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_low_income_lists_per_year_are_inserted_then_unchanged_a5(app_ctx) -> None:
    f.academic_year()
    f.academic_year("2025/26", with_calendar=False)
    a, b = f.pupil(reference="P1"), f.pupil(reference="P2")
    db.session.commit()
    header = ["pupil_reference", "academic_year", "evidence", "verified_on"]
    rows = [
        ["P1", "2024/25", "free school meals", "01/09/2024"],
        ["P1", "2025/26", "free school meals", "01/09/2025"],
        ["P2", "2024/25", "maximum Working Tax Credit", "03/09/2024"],
    ]
    report = import_low_income(csv_bytes(header, rows), "fsm.csv")
    assert report.committed and report.counts()["inserted"] == 3
    held = db.session.scalars(
        select(LowIncomeEvidence).where(LowIncomeEvidence.pupil_id == a.id)
    ).all()
    assert {(e.academic_year, e.verified_on) for e in held} == {
        ("2024/25", date(2024, 9, 1)),
        ("2025/26", date(2025, 9, 1)),
    }
    again = import_low_income(csv_bytes(header, rows), "fsm.csv")
    assert again.counts()["unchanged"] == 3 and again.counts()["inserted"] == 0
    rows[2][3] = "04/09/2024"
    changed = import_low_income(csv_bytes(header, rows), "fsm.csv")
    assert changed.counts()["updated"] == 1
    assert b.id in set(db.session.scalars(select(LowIncomeEvidence.pupil_id)))


def test_low_income_bad_rows_are_named_and_nothing_is_written(app_ctx) -> None:
    f.academic_year()
    f.pupil(reference="P1")
    db.session.commit()
    header = ["pupil_reference", "academic_year", "evidence", "verified_on"]
    rows = [
        ["P1", "2024/25", "free school meals", "01/09/2024"],
        ["P9", "2024/25", "free school meals", "01/09/2024"],
        ["P1", "2030/31", "free school meals", "01/09/2024"],
        ["P1", "2024/25", "free school meals", "31/02/2024"],
    ]
    report = import_low_income(csv_bytes(header, rows), "fsm.csv")
    assert not report.ok and not report.committed
    assert [(e.row, e.column) for e in report.errors] == [
        (3, "pupil_reference"),
        (4, "academic_year"),
        (5, "verified_on"),
    ]
    assert _count(LowIncomeEvidence) == 0


def test_care_status_and_placements_a21_a22(app_ctx) -> None:
    f.pupil(reference="P1")
    f.pupil(reference="P2")
    f.pupil(reference="P3", care_by=CareBy.COUNCIL, care_placement=Placement.TEMPORARY)
    db.session.commit()
    header = ["pupil_reference", "care_by", "care_placement", "care_home_la"]
    rows = [
        ["P1", "council", "permanent", ""],
        ["P2", "other_la", "temporary", "Nottinghamshire County Council"],
        ["P3", "", "", ""],  # no longer in care
    ]
    report = import_care(csv_bytes(header, rows), "care.csv")
    assert report.committed and report.counts()["updated"] == 3
    got = {
        p.reference: (p.care_by, p.care_placement, p.care_home_la)
        for p in db.session.scalars(select(Pupil))
    }
    assert got == {
        "P1": (CareBy.COUNCIL, Placement.PERMANENT, None),
        "P2": (CareBy.OTHER_LA, Placement.TEMPORARY, "Nottinghamshire County Council"),
        "P3": (None, None, None),
    }
    assert import_care(csv_bytes(header, rows), "care.csv").counts()["unchanged"] == 3


def test_care_needs_its_placement_and_the_placing_council(app_ctx) -> None:
    f.pupil(reference="P1")
    f.pupil(reference="P2")
    db.session.commit()
    header = ["pupil_reference", "care_by", "care_placement", "care_home_la"]
    rows = [["P1", "council", "", ""], ["P2", "other_la", "permanent", ""]]
    report = import_care(csv_bytes(header, rows), "care.csv")
    assert [(e.row, e.column) for e in report.errors] == [
        (2, "care_placement"),
        (3, "care_home_la"),
    ]
    assert db.session.scalar(select(func.count()).where(Pupil.care_by.is_not(None))) == 0


def test_a_satellite_is_mapped_to_its_main_site_a3f(app_ctx) -> None:
    main = f.school(urn=200001)
    satellite = f.school(urn=200002)
    other = f.school(urn=200003)
    db.session.commit()
    header = ["urn", "main_site_urn"]
    report = import_satellites(csv_bytes(header, [["200002", "200001"]]), "sites.csv")
    assert report.committed and report.counts()["updated"] == 1
    assert db.session.get(School, satellite.id).main_site_id == main.id
    # A satellite of a satellite, a school with satellites made one, a URN not known: refused.
    bad = import_satellites(
        csv_bytes(header, [["200003", "200002"], ["200001", "200003"], ["999999", ""]]),
        "sites.csv",
    )
    assert [(e.row, e.column) for e in bad.errors] == [
        (4, "urn"),  # 999999: no such school
        (2, "main_site_urn"),  # 200002 is a satellite
        (3, "main_site_urn"),  # 200003 would be a satellite itself (row 2)
    ]
    assert db.session.get(School, other.id).main_site_id is None
    cleared = import_satellites(csv_bytes(header, [["200002", ""]]), "sites.csv")
    assert cleared.committed and db.session.get(School, satellite.id).main_site_id is None


def test_post16_course_facts_update_only_the_given_cells_a7(app_ctx) -> None:
    f.academic_year()
    app = f.transport_application(f.pupil(), f.school(), reference="TRA0000001")
    other = f.transport_application(
        f.pupil(), f.school(), reference="TRA0000002", full_time_hours=Decimal("15")
    )
    db.session.commit()
    header = ["reference", "full_time_hours", "apprenticeship", "programme_started_before_19"]
    rows = [["TRA0000001", "16.5", "no", "yes"], ["TRA0000002", "", "yes", ""]]
    report = import_post16(csv_bytes(header, rows), "course.csv")
    assert report.committed and report.counts()["updated"] == 2
    first = db.session.get(TransportApplication, app.id)
    second = db.session.get(TransportApplication, other.id)
    assert first.full_time_hours == Decimal("16.50")
    assert second.full_time_hours == Decimal("15.00") and second.apprenticeship
    assert import_post16(csv_bytes(header, rows), "course.csv").counts()["unchanged"] == 2
    bad = import_post16(
        csv_bytes(header, [["TRA0000001", "200", "maybe", ""], ["TRA9", "", "", ""]]), "c.csv"
    )
    assert [(e.row, e.column) for e in bad.errors] == [
        (2, "full_time_hours"),
        (2, "apprenticeship"),
        (3, "reference"),
    ]
    assert db.session.get(TransportApplication, app.id).full_time_hours == Decimal("16.50")


def test_the_commands_exit_2_with_one_line_and_audit_the_writes(app_ctx, tmp_path: Path) -> None:
    f.academic_year()
    f.pupil(reference="P1")
    db.session.commit()
    good = tmp_path / "fsm.csv"
    good.write_bytes(
        csv_bytes(
            ["pupil_reference", "academic_year", "evidence", "verified_on"],
            [["P1", "2024/25", "free school meals", "01/09/2024"]],
        )
    )
    runner = app_ctx.test_cli_runner()
    result = runner.invoke(args=["import", "low-income", str(good)])
    assert result.exit_code == 0, result.output
    trail = db.session.scalars(
        select(AuditLog).where(AuditLog.table_name == "low_income_evidence")
    ).all()
    assert [t.username for t in trail] == ["cli:import low-income"]
    bad = tmp_path / "care.csv"
    bad.write_bytes(csv_bytes(["pupil_reference", "care_by"], [["P1", "grandparents"]]))
    result = runner.invoke(args=["import", "care", str(bad)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "row 2" in lines[0] and "care_by" in lines[0]


def test_the_import_screen_takes_a_satellites_file(app, client_as, tmp_path, monkeypatch) -> None:
    from .test_views import token_in, upload

    monkeypatch.setitem(app.config, "IMPORT_UPLOAD_DIR", str(tmp_path / "uploads"))
    with app.app_context():
        f.school(urn=300001)
        satellite = f.school(urn=300002)
        db.session.commit()
        satellite_id = satellite.id
    client = client_as("assistant")
    data = csv_bytes(["urn", "main_site_urn"], [["300002", "300001"]])
    html = upload(client, "satellites", data, "sites.csv").get_data(as_text=True)
    assert "would import: 0 inserted, 1 updated" in html
    done = client.post("/admin/imports/confirm", data={"token": token_in(html)})
    assert "imported: 0 inserted, 1 updated" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(School, satellite_id).main_site_id is not None
