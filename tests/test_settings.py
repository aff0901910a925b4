"""Supervisors' settings: calendar (Appendix H), term-date variations (Appendix H, A23),
contribution settings and policy parameters per year, copy forward, user management."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, time
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from auth.passwords import verify_password
from models import (
    AcademicYear,
    AuditLog,
    Closure,
    ContributionSetting,
    PolicyParameterSet,
    TermDateVariation,
    User,
    db,
)
from models.enums import EstablishmentType, Role, VariationStatus
from rules.calendar import add_working_days
from rules.parameters import parameters_for
from services.settings import (
    add_bank_holidays_as_closures,
    bank_holidays_in_term,
    calendar_warning,
    copy_forward,
    operational_day_count,
    route_conflicts,
)
from tests import factories

# Every stored figure, at the policy's 2024/25 values (the table holds them all).
PARAMS: dict[str, Any] = {
    name: value
    for name, value in dataclasses.asdict(parameters_for("2024/25")).items()
    if name != "academic_year"
}


# --------------------------------------------------------------- calendar (Appendix H)


def test_appendix_h_2024_25_calendar_has_190_operational_days(app_ctx: Flask) -> None:
    year = factories.academic_year("2024/25")
    assert operational_day_count(year) == 190
    assert calendar_warning(db.session, year) is None


def test_appendix_h_warning_when_the_count_is_not_190(app_ctx: Flask) -> None:
    year = factories.academic_year("2024/25")
    db.session.delete(year.closures[0])
    db.session.flush()
    db.session.refresh(year)
    warning = calendar_warning(db.session, year)
    assert warning is not None and "191" in warning and "190" in warning


def test_bank_holidays_on_term_weekdays_are_offered_and_added_once(app_ctx: Flask) -> None:
    year = factories.academic_year("2024/25")
    # Early May bank holiday 2025 (5 May) falls in the summer term; drop it as a closure.
    may_day = date(2025, 5, 5)
    for closure in list(year.closures):
        if closure.day == may_day:
            year.closures.remove(closure)
    db.session.flush()
    offered = bank_holidays_in_term(year)
    assert may_day in [day for day, _ in offered]
    assert all(day.weekday() < 5 for day, _ in offered)
    # Christmas Day falls in the holidays, not in a term: never offered.
    assert date(2024, 12, 25) not in [day for day, _ in offered]
    assert add_bank_holidays_as_closures(db.session, [year]) == len(offered)
    db.session.commit()
    db.session.refresh(year)
    assert bank_holidays_in_term(year) == []
    assert add_bank_holidays_as_closures(db.session, [year]) == 0, "idempotent"


def test_calendar_screen_shows_the_count_and_offers_bank_holidays(
    client_as: Callable[[str], FlaskClient], app: Flask
) -> None:
    with app.app_context():
        year = factories.academic_year("2024/25")
        db.session.commit()
        year_id = year.id
    client = client_as("supervisor")
    page = client.get(f"/admin/academic_year/edit/?id={year_id}").get_data(as_text=True)
    assert "Operational days: 190" in page
    listing = client.get("/admin/academic_year/").get_data(as_text=True)
    assert "Add bank holidays as closures" in listing


def test_calendar_action_adds_closures_through_the_panel(
    client_as: Callable[[str], FlaskClient], app: Flask
) -> None:
    with app.app_context():
        year = factories.academic_year("2025/26", with_calendar=False)
        year.terms = []
        from models import Term

        year.terms = [Term(name="Summer", starts=date(2026, 4, 13), ends=date(2026, 7, 22))]
        db.session.commit()
        year_id = year.id
    assert (
        client_as("officer")
        .post(
            "/admin/academic_year/action/", data={"action": "add_bank_holidays", "rowid": year_id}
        )
        .status_code
        == 403
    )
    response = client_as("supervisor").post(
        "/admin/academic_year/action/", data={"action": "add_bank_holidays", "rowid": year_id}
    )
    assert response.status_code == 302
    with app.app_context():
        days = set(db.session.scalars(select(Closure.day)))
    assert days == {date(2026, 5, 4), date(2026, 5, 25)}  # early May and spring bank holidays


# ----------------------------------------------------- term-date variations (Appendix H)


def _variation_form(school_id: int, **kw: str) -> dict[str, str]:
    form = {
        "school": str(school_id),
        "academic_year": "2025/26",
        "notice_on": "2024-08-01",
        "first_day": "2025-09-01",
        "last_day": "2026-07-20",
        "details": "Start a day early",
        "status": "requested",
    }
    form.update(kw)
    return form


@pytest.mark.parametrize(
    "kind", [EstablishmentType.COMMUNITY, EstablishmentType.VOLUNTARY_CONTROLLED]
)
def test_appendix_h_variation_refused_for_community_and_vc_schools(
    client_as: Callable[[str], FlaskClient], app: Flask, kind: EstablishmentType
) -> None:
    with app.app_context():
        factories.academic_year("2025/26", with_calendar=False)
        school_id = factories.school(establishment_type=kind).id
        db.session.commit()
    response = client_as("supervisor").post(
        "/admin/term_date_variation/new/", data=_variation_form(school_id)
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        variation = db.session.scalar(select(TermDateVariation))
        assert variation is not None
        assert variation.status is VariationStatus.REFUSED
        assert "Appendix H" in (variation.refusal_reason or "")


def test_appendix_h_academy_variation_is_not_refused_and_notice_flags(
    client_as: Callable[[str], FlaskClient], app: Flask
) -> None:
    with app.app_context():
        factories.academic_year("2025/26", with_calendar=False)
        school_id = factories.school(establishment_type=EstablishmentType.ACADEMY).id
        db.session.commit()
    client = client_as("supervisor")
    # Notice on 31 August 2024 for September 2025: a full year, not short.
    client.post(
        "/admin/term_date_variation/new/",
        data=_variation_form(school_id, notice_on="2024-08-31"),
    )
    # Notice on 1 September 2024: after 31 August, so under a year.
    client.post(
        "/admin/term_date_variation/new/",
        data=_variation_form(school_id, notice_on="2024-09-01"),
    )
    with app.app_context():
        rows = db.session.scalars(
            select(TermDateVariation).order_by(TermDateVariation.notice_on)
        ).all()
        assert [(r.short_notice, r.status) for r in rows] == [
            (False, VariationStatus.REQUESTED),
            (True, VariationStatus.REQUESTED),
        ]


def test_a23_report_lists_schools_on_one_route_with_different_dates_or_times(
    client_as: Callable[[str], FlaskClient], app: Flask
) -> None:
    with app.app_context():
        factories.academic_year("2025/26", with_calendar=False)
        a = factories.school(name="Alder", day_starts=time(8, 45), day_ends=time(15, 15))
        b = factories.school(name="Birch", day_starts=time(8, 45), day_ends=time(15, 15))
        c = factories.school(name="Cedar", day_starts=time(9, 0), day_ends=time(15, 15))
        d = factories.school(name="Damson", day_starts=time(8, 45), day_ends=time(15, 15))
        factories.route([a, b], code="SAME")
        factories.route([a, c], code="TIMES")
        factories.route([b, d], code="DATES")
        db.session.add(
            TermDateVariation(
                school=d,
                academic_year="2025/26",
                notice_on=date(2024, 6, 1),
                first_day=date(2025, 9, 2),
                details="Starts a day later",
                status=VariationStatus.ACCEPTED,
            )
        )
        db.session.commit()
        conflicts = route_conflicts(db.session, "2025/26")
        found = {
            (c.school_a.split(" (")[0], c.school_b.split(" (")[0]): c.differs_in for c in conflicts
        }
        assert found == {
            ("Alder", "Cedar"): ("start/finish times",),
            ("Birch", "Damson"): ("term dates",),
        }
    page = client_as("officer").get("/admin/term_date_variation/report/?year=2025/26")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Cedar" in text and "Damson" in text and "start/finish times" in text
    assert (
        client_as("officer").get("/admin/term_date_variation/report/?year=1999/00").status_code
        == 404
    )


# -------------------------------------------------- contribution settings and parameters


def test_copy_forward_creates_next_year_and_never_edits_an_existing_row(
    app_ctx: Flask,
) -> None:
    factories.academic_year("2024/25", with_calendar=False)
    this_year = factories.contribution_setting("2024/25")
    db.session.commit()
    created, skipped = copy_forward(db.session, ContributionSetting, [this_year.id])
    db.session.commit()
    assert (created, skipped) == (["2025/26"], [])
    next_year = db.session.scalar(
        select(ContributionSetting).where(ContributionSetting.academic_year == "2025/26")
    )
    assert next_year is not None
    assert next_year.post16_contribution == Decimal("456.00")
    assert db.session.scalar(select(AcademicYear.id).where(AcademicYear.label == "2025/26"))
    next_year.post16_contribution = Decimal("500.00")
    db.session.commit()
    created, skipped = copy_forward(db.session, ContributionSetting, [this_year.id])
    db.session.commit()
    assert (created, skipped) == ([], ["2025/26"])
    db.session.refresh(next_year)
    assert next_year.post16_contribution == Decimal("500.00"), "existing row untouched"


def test_copy_forward_action_for_policy_parameters_supervisor_only(
    client_as: Callable[[str], FlaskClient], app: Flask
) -> None:
    with app.app_context():
        factories.academic_year("2024/25", with_calendar=False)
        row = PolicyParameterSet(academic_year="2024/25", **PARAMS)
        db.session.add(row)
        db.session.commit()
        row_id = row.id
    data = {"action": "copy_forward", "rowid": row_id}
    assert (
        client_as("officer").post("/admin/policy_parameter_set/action/", data=data).status_code
        == 403
    )
    assert (
        client_as("supervisor").post("/admin/policy_parameter_set/action/", data=data).status_code
        == 302
    )
    with app.app_context():
        labels = db.session.scalars(select(PolicyParameterSet.academic_year)).all()
        assert sorted(labels) == ["2024/25", "2025/26"]


def test_policy_parameters_are_validated_by_the_rules(
    client_as: Callable[[str], FlaskClient], app: Flask
) -> None:
    with app.app_context():
        factories.academic_year("2024/25", with_calendar=False)
        db.session.commit()
    form = {k: str(v) for k, v in PARAMS.items()}
    form["academic_year"] = "2024/25"
    form["post16_max_age"] = "15"  # below post16_min_age: the rules refuse it
    response = client_as("supervisor").post("/admin/policy_parameter_set/new/", data=form)
    assert response.status_code == 200
    assert "post16" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(PolicyParameterSet.id))) == 0
    form["post16_max_age"] = "19"
    ok = client_as("supervisor").post("/admin/policy_parameter_set/new/", data=form)
    assert ok.status_code == 302


def test_contribution_setting_needs_a_payment_plan_b1j(
    client_as: Callable[[str], FlaskClient], app: Flask
) -> None:
    with app.app_context():
        factories.academic_year("2024/25", with_calendar=False)
        db.session.commit()
    response = client_as("supervisor").post(
        "/admin/contribution_setting/new/",
        data={
            "academic_year": "2024/25",
            "post16_contribution": "456.00",
            "concessionary_annual_charge": "456.00",
        },
    )
    assert "B1j" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(ContributionSetting.id))) == 0


def test_editing_next_years_settings_never_changes_a_stored_contribution_or_decision(
    app_ctx: Flask,
) -> None:
    """Decisions store their parameters' year; contributions store their amounts."""
    from models import Contribution, EligibilityDecision

    amount_cols = {c.name for c in Contribution.__table__.columns}
    assert {"annual_amount", "amount"} <= amount_cols, "a contribution keeps its own figures"
    assert "parameters_year" in {c.name for c in EligibilityDecision.__table__.columns}
    factories.academic_year("2024/25", with_calendar=False)
    this_year = factories.contribution_setting("2024/25")
    db.session.commit()
    copy_forward(db.session, ContributionSetting, [this_year.id])
    db.session.commit()
    next_year = db.session.scalar(
        select(ContributionSetting).where(ContributionSetting.academic_year == "2025/26")
    )
    assert next_year is not None
    next_year.concessionary_annual_charge = Decimal("999.00")
    db.session.commit()
    db.session.refresh(this_year)
    assert this_year.concessionary_annual_charge == Decimal("456.00")


def test_editing_next_years_figures_through_the_panel_leaves_past_rows_untouched(
    client_as: Callable[[str], FlaskClient], app: Flask
) -> None:
    """A decision keeps its facts and parameters' year; a contribution keeps its amounts."""
    from datetime import UTC, datetime

    from models import Contribution, EligibilityDecision
    from models.enums import ContributionKind, Outcome, PaymentPlan

    with app.app_context():
        factories.academic_year("2024/25", with_calendar=False)
        setting = factories.contribution_setting("2024/25")
        params = PolicyParameterSet(academic_year="2024/25", **PARAMS)
        db.session.add(params)
        school = factories.school()
        pupil = factories.pupil()
        application = factories.transport_application(pupil, school)
        decision = EligibilityDecision(
            application=application,
            outcome=Outcome.ELIGIBLE,
            basis="A3",
            clauses=["A3"],
            reasons=["over 3 miles"],
            facts={"distance_m": 5000},
            facts_hash="f" * 64,
            parameters_year="2024/25",
            decided_at=datetime(2024, 6, 3, 10, 0, tzinfo=UTC),
        )
        contribution = Contribution(
            kind=ContributionKind.POST16,
            pupil=pupil,
            academic_year="2024/25",
            transport_application=application,
            annual_amount=Decimal("456.00"),
            amount=Decimal("456.00"),
            start_date=date(2024, 9, 3),
            plan=PaymentPlan.THREE,
        )
        db.session.add_all([decision, contribution])
        db.session.commit()
        ids = {"setting": setting.id, "params": params.id}

        def snapshot() -> list[Any]:
            return [
                db.session.execute(select(t)).all()
                for t in (
                    EligibilityDecision.__table__,
                    Contribution.__table__,
                    ContributionSetting.__table__,
                    PolicyParameterSet.__table__,
                )
            ]

        before = snapshot()
        db.session.rollback()
    client = client_as("supervisor")
    for endpoint, key in (("contribution_setting", "setting"), ("policy_parameter_set", "params")):
        response = client.post(
            f"/admin/{endpoint}/action/", data={"action": "copy_forward", "rowid": ids[key]}
        )
        assert response.status_code == 302
    with app.app_context():
        next_setting = db.session.scalar(
            select(ContributionSetting).where(ContributionSetting.academic_year == "2025/26")
        )
        next_params = db.session.scalar(
            select(PolicyParameterSet).where(PolicyParameterSet.academic_year == "2025/26")
        )
        assert next_setting is not None and next_params is not None
        next_ids = (next_setting.id, next_params.id)
    edit = client.post(
        f"/admin/contribution_setting/edit/?id={next_ids[0]}",
        data={
            "academic_year": "2025/26",
            "post16_contribution": "999.00",
            "concessionary_annual_charge": "999.00",
            "offers_full": "y",
            # Past the impact page (issue 14): on the real clock 2025/26 is the year in force.
            "confirmed": "1",
        },
    )
    assert edit.status_code == 302, edit.get_data(as_text=True)[:2000]
    form = {k: str(v) for k, v in PARAMS.items()}
    form.update(academic_year="2025/26", secondary_walking_distance_m="5000", confirmed="1")
    edit = client.post(f"/admin/policy_parameter_set/edit/?id={next_ids[1]}", data=form)
    assert edit.status_code == 302, edit.get_data(as_text=True)[:2000]
    with app.app_context():
        after = snapshot()
        assert after[0] == before[0], "the stored decision is unchanged"
        assert after[1] == before[1], "the stored contribution is unchanged"
        assert [r for r in after[2] if r.academic_year == "2024/25"] == before[2]
        assert [r for r in after[3] if r.academic_year == "2024/25"] == before[3]
        assert db.session.get(ContributionSetting, next_ids[0]).post16_contribution == Decimal(
            "999.00"
        )


# ------------------------------------------------------------------------------ users


def _user_form(**kw: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "username": "newbie",
        "full_name": "New Person",
        "email": "",
        "active": "y",
        "role_choices": ["assistant"],
        "new_password": "a long enough password",
    }
    form.update(kw)
    return form


def test_supervisor_creates_a_user_with_a_hashed_password_and_role_checkboxes(
    client_as: Callable[[str], FlaskClient], app: Flask
) -> None:
    client = client_as("supervisor")
    form_page = client.get("/admin/user_account/new/").get_data(as_text=True)
    assert 'type="checkbox"' in form_page and 'type="password"' in form_page
    response = client.post("/admin/user_account/new/", data=_user_form())
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "newbie"))
        assert user is not None and user.roles == {Role.ASSISTANT}
        assert user.password_hash.startswith("$argon2id$")
        assert verify_password(user.password_hash, "a long enough password")
        trail = str(db.session.scalars(select(AuditLog.changes)).all())
        assert "a long enough password" not in trail and "$argon2" not in trail
        user_id = user.id
    edit_page = client.get(f"/admin/user_account/edit/?id={user_id}").get_data(as_text=True)
    assert "$argon2" not in edit_page


def test_supervisor_resets_a_password_and_changes_roles(
    client_as: Callable[[str], FlaskClient], app: Flask, users: dict[str, int]
) -> None:
    client = client_as("supervisor")
    response = client.post(
        f"/admin/user_account/edit/?id={users['assistant']}",
        data=_user_form(
            username="assistant",
            full_name="Test assistant",
            role_choices=["assistant", "officer"],
            new_password="another long password",
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        user = db.session.get(User, users["assistant"])
        assert user is not None and user.roles == {Role.ASSISTANT, Role.OFFICER}
        assert verify_password(user.password_hash, "another long password")


def test_an_empty_password_field_keeps_the_password(
    client_as: Callable[[str], FlaskClient], app: Flask, users: dict[str, int]
) -> None:
    with app.app_context():
        before = db.session.get(User, users["officer"]).password_hash  # type: ignore[union-attr]
    client_as("supervisor").post(
        f"/admin/user_account/edit/?id={users['officer']}",
        data=_user_form(
            username="officer", full_name="Officer", role_choices=["officer"], new_password=""
        ),
    )
    with app.app_context():
        user = db.session.get(User, users["officer"])
        assert user is not None and user.password_hash == before
        assert user.full_name == "Officer"


def test_a_supervisor_cannot_remove_their_own_supervisor_role(
    client_as: Callable[[str], FlaskClient], app: Flask, users: dict[str, int]
) -> None:
    client = client_as("supervisor")
    response = client.post(
        f"/admin/user_account/edit/?id={users['supervisor']}",
        data=_user_form(
            username="supervisor", full_name="S", role_choices=["officer"], new_password=""
        ),
    )
    assert "cannot remove your own supervisor role" in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.get(User, users["supervisor"])
        assert user is not None and Role.SUPERVISOR in user.roles and user.active


def test_a_supervisor_cannot_deactivate_themselves(
    client_as: Callable[[str], FlaskClient], app: Flask, users: dict[str, int]
) -> None:
    form = _user_form(
        username="supervisor", full_name="S", role_choices=["supervisor"], new_password=""
    )
    del form["active"]
    client_as("supervisor").post(f"/admin/user_account/edit/?id={users['supervisor']}", data=form)
    with app.app_context():
        user = db.session.get(User, users["supervisor"])
        assert user is not None and user.active


def test_a_user_needs_a_role_and_a_new_user_a_password(
    client_as: Callable[[str], FlaskClient], app: Flask
) -> None:
    client = client_as("supervisor")
    no_role = client.post("/admin/user_account/new/", data=_user_form(role_choices=[]))
    assert "at least one role" in no_role.get_data(as_text=True)
    no_password = client.post("/admin/user_account/new/", data=_user_form(new_password=""))
    assert "Set a password" in no_password.get_data(as_text=True)
    short = client.post("/admin/user_account/new/", data=_user_form(new_password="short"))
    assert short.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "newbie")) is None


def test_officers_cannot_manage_users(
    client_as: Callable[[str], FlaskClient], app: Flask, users: dict[str, int]
) -> None:
    client = client_as("officer")
    assert client.get("/admin/user_account/").status_code == 403
    assert client.post("/admin/user_account/new/", data=_user_form()).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "newbie")) is None


def test_audit_view_is_read_only_even_for_supervisors(
    client_as: Callable[[str], FlaskClient], app: Flask, users: dict[str, int]
) -> None:
    client = client_as("supervisor")
    assert client.get("/admin/audit_log/").status_code == 200
    assert client.get("/admin/audit_log/new/").status_code == 403
    with app.app_context():
        first = db.session.scalar(select(func.min(AuditLog.id)))
        count = db.session.scalar(select(func.count(AuditLog.id)))
    assert client.get(f"/admin/audit_log/edit/?id={first}").status_code == 403
    assert client.post("/admin/audit_log/delete/", data={"id": first}).status_code == 403
    assert (
        client.post(
            "/admin/audit_log/action/", data={"action": "delete", "rowid": first}
        ).status_code
        == 403
    )
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditLog.id))) >= count
        assert db.session.get(AuditLog, first) is not None


def test_audit_view_searches_by_record_and_user(
    client_as: Callable[[str], FlaskClient], app: Flask, users: dict[str, int]
) -> None:
    client = client_as("officer")
    page = client.get("/admin/audit_log/?search=user_account").get_data(as_text=True)
    assert "user_account" in page
    assert client.get("/admin/audit_log/?search=system").status_code == 200
    assert client_as("assistant").get("/admin/audit_log/").status_code == 403


# ------------------------------------------------------------------------ working days


def test_working_days_skip_weekends_and_england_bank_holidays() -> None:
    """B2 / Appendix C: one function; Friday 23 Aug 2024 + 1 is Tuesday 27 Aug (bank hol.)."""
    assert add_working_days(date(2024, 8, 23), 1) == date(2024, 8, 27)


def test_live_operational_day_count_uses_the_rules_calendar(
    client_as: Callable[[str], FlaskClient], app: Flask
) -> None:
    """Appendix H: the edit page asks the server, which counts with operational_days."""
    client = client_as("supervisor")
    response = client.get(
        "/admin/academic_year/count/",
        query_string=[
            ("label", "2024/25"),
            ("term", "2024-09-02:2024-09-13"),
            ("closure", "2024-09-06"),
        ],
    )
    assert response.get_json() == {"count": 9, "expected": 190}
    bad = client.get("/admin/academic_year/count/", query_string={"term": "2024-09-13:2024-09-02"})
    assert "Cannot count yet" in bad.get_json()["error"]
    page = client.get("/admin/academic_year/new/").get_data(as_text=True)
    assert "live-count" in page
    assert client_as("officer").get("/admin/academic_year/count/").status_code == 200
