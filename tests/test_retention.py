"""The retention rule per academic year: what is due, and `flask retention due|run` (issue 16).

Before issue 16 no retention rule existed: nothing was ever found due or anonymised.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from models import AuditLog, Pupil, RetentionSetting, db
from models.enums import AuditAction, Role
from services import retention
from tests import factories


@pytest.fixture
def pupils(app: Flask) -> dict[str, int]:
    """Three families: last seen in 2016/17, in 2017/18, and this year; one never applied."""
    with app.app_context():
        old = factories.academic_year("2016/17", with_calendar=False)
        older = factories.academic_year("2017/18", with_calendar=False)
        factories.academic_year("2024/25", with_calendar=False)
        school = factories.school()
        gone = factories.pupil(first_name="Gone", last_name="Long")
        factories.transport_application(gone, school, academic_year=old.label)
        later = factories.pupil(first_name="Left", last_name="Later")
        factories.transport_application(later, school, academic_year=old.label)
        factories.transport_application(later, school, academic_year=older.label)
        current = factories.pupil(first_name="Still", last_name="Here")
        factories.transport_application(current, school, academic_year=old.label)
        factories.transport_application(current, school, academic_year="2024/25")
        never = factories.pupil(first_name="Never", last_name="Applied")
        db.session.commit()
        return {"gone": gone.id, "later": later.id, "current": current.id, "never": never.id}


def test_the_default_period_is_dated_and_has_its_legal_basis(app_ctx: Flask) -> None:
    period = retention.period_for(db.session, "2016/17")
    assert period.keep_years == 6
    assert "Limitation Act 1980" in period.legal_basis and "UK GDPR" in period.legal_basis


def test_due_is_the_last_year_plus_the_period(app: Flask, pupils: dict[str, int]) -> None:
    with app.app_context():
        # 2016/17 ends in summer 2017: kept six years, to summer 2023.
        assert retention.due(db.session, date(2023, 7, 1)) == []
        found = retention.due(db.session, date(2023, 12, 1))
        assert [d.pupil_id for d in found] == [pupils["gone"]]
        assert found[0].last_year == "2016/17" and found[0].keep_years == 6
        # The pupil seen again in 2017/18 is due a year later; this year's never; nor one
        # who never applied (nothing dates them).
        found = retention.due(db.session, date(2024, 12, 1))
        assert [d.pupil_id for d in found] == [pupils["gone"], pupils["later"]]


def test_a_supervisors_setting_for_a_year_takes_precedence(
    app: Flask, pupils: dict[str, int]
) -> None:
    with app.app_context():
        db.session.add(
            RetentionSetting(
                academic_year="2016/17", keep_years=10, legal_basis="Council schedule 4.2"
            )
        )
        db.session.commit()
        assert retention.due(db.session, date(2023, 12, 1)) == []
        # The 2016/17 row is the latest at or before 2017/18, so it applies to that year too.
        assert retention.period_for(db.session, "2017/18").keep_years == 10
        assert retention.period_for(db.session, "2015/16").keep_years == 6  # the default
        found = retention.due(db.session, date(2027, 12, 1))
        assert [d.pupil_id for d in found] == [pupils["gone"]]


def test_run_anonymises_all_due_and_again_does_nothing(app: Flask, pupils: dict[str, int]) -> None:
    with app.app_context():
        done = retention.run(db.session, date(2024, 12, 1))
        assert sorted(d.pupil_id for d in done) == sorted([pupils["gone"], pupils["later"]])
        db.session.expire_all()
        names = {p.id: p.first_name for p in db.session.scalars(select(Pupil))}
        assert names[pupils["gone"]] == names[pupils["later"]] == "Anonymised"
        assert names[pupils["current"]] == "Still" and names[pupils["never"]] == "Never"
        assert retention.due(db.session, date(2024, 12, 1)) == []
        assert retention.run(db.session, date(2024, 12, 1)) == []


def test_run_is_all_or_nothing(
    app: Flask, pupils: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import services.anonymise as anonymise

    real = anonymise.redact_trail
    calls = {"n": 0}

    def second_fails(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(anonymise, "redact_trail", second_fails)
    with app.app_context():
        with pytest.raises(RuntimeError):
            retention.run(db.session, date(2024, 12, 1))
        db.session.expire_all()
        assert all(p.anonymised_at is None for p in db.session.scalars(select(Pupil)))


def test_the_commands(app: Flask, pupils: dict[str, int]) -> None:
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["retention", "due", "--today", "2024-12-01"])
    assert listed.exit_code == 0, listed.output
    assert "2 pupils due" in listed.output and "last year 2016/17" in listed.output
    bad = runner.invoke(args=["retention", "run", "--today", "1/12/2024"])
    assert bad.exit_code == 2 and "--today" in bad.output
    done = runner.invoke(args=["retention", "run", "--today", "2024-12-01"])
    assert done.exit_code == 0, done.output
    assert "2 pupils anonymised" in done.output
    again = runner.invoke(args=["retention", "run", "--today", "2024-12-01"])
    assert "0 pupils anonymised" in again.output
    with app.app_context():
        rows = db.session.scalars(
            select(AuditLog).where(AuditLog.action == AuditAction.ANONYMISE)
        ).all()
        assert [r.username for r in rows] == ["cli:retention run"] * 2


def test_supervisors_set_a_years_period_with_its_legal_basis(app: Flask, client_as) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        factories.academic_year("2024/25", with_calendar=False)
        db.session.commit()
    form = {"academic_year": "2024/25", "keep_years": "8", "legal_basis": ""}
    assert client_as("officer").post("/admin/retention_setting/new/", data=form).status_code == 403
    supervisor = client_as("supervisor")
    refused = supervisor.post("/admin/retention_setting/new/", data=form)
    assert "Failed to create record" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(RetentionSetting.id)) is None  # no basis, no period
    form["legal_basis"] = "Council retention schedule 4.2; Limitation Act 1980 s.5"
    supervisor.post("/admin/retention_setting/new/", data=form)
    with app.app_context():
        period = retention.period_for(db.session, "2024/25")
        assert period.keep_years == 8 and "schedule 4.2" in period.legal_basis


@pytest.mark.commits  # the job runs in a worker thread on its own connection
def test_the_run_is_a_background_job_for_supervisors_only(
    app: Flask, pupils: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: the retention rule "finds what is due and does it as a job" (issue 13's
    queue); only supervisors may start it; run again, it finds nobody."""
    from models import Job, JobStatus
    from services import years
    from services.audit import acting_user
    from services.jobs import KINDS, enqueue, run_job

    monkeypatch.setenv("JOB_QUEUE_FILE", str(tmp_path / "jobs.db"))
    monkeypatch.delenv("JOB_QUEUE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(years, "today", lambda: date(2024, 12, 1))
    with app.app_context():
        with acting_user("supervisor"):
            job = enqueue("retention", {})
        assert run_job(job.id) is JobStatus.DONE
        done = db.session.get(Job, job.id)
        assert done is not None and done.result.startswith("2 pupils anonymised")
        again = enqueue("retention", {})
        assert run_job(again.id) is JobStatus.DONE
        rerun = db.session.get(Job, again.id)
        assert rerun is not None and rerun.result.startswith("0 pupils anonymised")
        assert KINDS["retention"].roles == (Role.SUPERVISOR,)
