"""`flask year create`: an academic year from the council's calendar file, or the last year
copied forward; England's bank holidays in term become closures; the year before's policy
parameters and charges are copied on; bad input exits 2 with one line and creates nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from models import AcademicYear, Closure, ContributionSetting, PolicyParameterSet, db
from services.policy import ensure_parameter_set
from services.years import calendar_for
from tests import factories as f

CALENDAR = """kind,name,first_day,last_day,reason
term,Autumn 1,03/09/2025,24/10/2025,
term,Autumn 2,03/11/2025,19/12/2025,
term,Spring 1,05/01/2026,13/02/2026,
term,Spring 2,23/02/2026,27/03/2026,
term,Summer 1,13/04/2026,22/05/2026,
term,Summer 2,01/06/2026,21/07/2026,
closure,,03/09/2025,04/09/2025,INSET day
closure,,05/01/2026,,INSET day
"""


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "calendar.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _years() -> int:
    return db.session.scalar(select(func.count()).select_from(AcademicYear))


def test_year_created_from_a_calendar_file_with_bank_holidays_and_figures(
    app: Flask, tmp_path: Path
) -> None:
    with app.app_context():
        f.academic_year("2024/25")
        f.contribution_setting("2024/25", post16_contribution=Decimal("470.00"))
        ensure_parameter_set("2024/25").unsuitable_route_notice_days = 25
        db.session.commit()
    result = app.test_cli_runner().invoke(
        args=["year", "create", "2025/26", "--calendar", _write(tmp_path, CALENDAR)]
    )
    assert result.exit_code == 0, result.output
    assert "2025/26 created: 6 terms" in result.output
    with app.app_context():
        cal = calendar_for(db.session, "2025/26")
        assert cal.terms[0] == (date(2025, 9, 3), date(2025, 10, 24))
        # INSET days and England's bank holidays in term (Early May, 4 May 2026) are closures.
        assert {date(2025, 9, 3), date(2025, 9, 4), date(2026, 1, 5), date(2026, 5, 4)} <= set(
            cal.closures
        )
        charges = db.session.scalar(
            select(ContributionSetting).where(ContributionSetting.academic_year == "2025/26")
        )
        assert charges.post16_contribution == Decimal("470.00")
        params = db.session.scalar(
            select(PolicyParameterSet).where(PolicyParameterSet.academic_year == "2025/26")
        )
        assert params.unsuitable_route_notice_days == 25


def test_a_bad_calendar_row_exits_2_naming_row_and_column_and_creates_nothing(
    app: Flask, tmp_path: Path
) -> None:
    bad = CALENDAR.replace("term,Spring 1,05/01/2026", "term,Spring 1,31/02/2026")
    result = app.test_cli_runner().invoke(
        args=["year", "create", "2025/26", "--calendar", _write(tmp_path, bad)]
    )
    assert result.exit_code == 2
    assert "row 4" in result.output and "first_day" in result.output
    with app.app_context():
        assert _years() == 0


def test_bad_arguments_exit_2_with_one_line(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    neither = runner.invoke(args=["year", "create", "2025/26"])
    assert neither.exit_code == 2 and len(neither.output.strip().splitlines()) == 1
    label = runner.invoke(
        args=["year", "create", "2025-26", "--calendar", _write(tmp_path, CALENDAR)]
    )
    assert label.exit_code == 2 and "2025-26" in label.output
    nothing = runner.invoke(args=["year", "create", "--copy-last"])
    assert nothing.exit_code == 2 and "no academic year" in nothing.output
    with app.app_context():
        assert _years() == 0


def test_copy_last_year_keeps_the_weekdays_and_recomputes_bank_holidays(app: Flask) -> None:
    with app.app_context():
        f.academic_year("2024/25")  # the 2024/25 calendar: 190 operational days
        f.contribution_setting("2024/25")
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["year", "create", "--copy-last"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2025/26 created")
    with app.app_context():
        last = calendar_for(db.session, "2024/25")
        new = calendar_for(db.session, "2025/26")
        assert [s.weekday() for s, _ in new.terms] == [s.weekday() for s, _ in last.terms]
        assert new.terms[0][0] == date(2025, 9, 1)
        # The 2025 closure "Early May bank holiday" is not carried 52 weeks on: England's 2026
        # bank holidays in term are looked up and added in their own words.
        reasons = dict(
            db.session.execute(
                select(Closure.day, Closure.reason)
                .join(AcademicYear)
                .where(AcademicYear.label == "2025/26")
            ).all()
        )
        assert reasons[date(2026, 5, 4)].startswith("Bank holiday: ")
        assert "Early May bank holiday" not in reasons.values()
        assert reasons[date(2025, 9, 1)] == "INSET day"  # 2 Sep 2024 + 52 weeks
        assert db.session.scalar(
            select(ContributionSetting.id).where(ContributionSetting.academic_year == "2025/26")
        )
    again = runner.invoke(args=["year", "create", "--copy-last"])
    assert again.exit_code == 0 and again.output.startswith("2026/27 created")
