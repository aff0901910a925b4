"""The demo county (issue 2): realistic, deterministic, idempotent, and loaded by one command."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from demo.county import SIZES, DemoRefused, build_county
from models import (
    AcademicYear,
    ConcessionaryApplication,
    ContributionSetting,
    DesignatedTransportArea,
    DtaArea,
    LowIncomeEvidence,
    Parish,
    PolicyParameterSet,
    Postcode,
    Pupil,
    Route,
    RouteSchool,
    School,
    TransportApplication,
    User,
    db,
)
from models.enums import (
    ConcessionaryStatus,
    ContributionKind,
    DtaCategory,
    EstablishmentType,
    MedicalWho,
    Phase,
    Role,
    SixthForm,
)
from models.school import has_post16_provision
from rules.academic_year import parse_academic_year, year_group
from rules.calendar import operational_days
from rules.parameters import parameters_for
from tests.conftest import PASSWORD, fresh_database, make_app, sign_in

SMALL = SIZES["small"]
# The county these module tests read is built for a day in 2024/25, the policy's first year
# (so it has no history year); the tests below build for later days.
IN_2024_25 = date(2024, 10, 1)


def _demo_app(request: pytest.FixtureRequest, tmp: Path, name: str) -> Flask:
    return make_app(fresh_database(request, name, tmp))


@pytest.fixture(scope="module")
def county(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    flask_app = _demo_app(request, tmp_path_factory.mktemp("demo_a"), "demo_a")
    with flask_app.app_context():
        summary = build_county(seed=5, size="small", password=PASSWORD, today=IN_2024_25)
        flask_app.config["DEMO_SUMMARY"] = summary
    yield flask_app
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


def _count(model: type, *where: object) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_small_county_has_the_asked_for_counts(county: Flask) -> None:
    with county.app_context():
        assert _count(School) == SMALL.schools
        assert _count(Parish) == SMALL.parishes
        assert _count(Route) == SMALL.routes
        assert _count(Pupil) == SMALL.pupils
        assert _count(TransportApplication) == SMALL.transport_applications
        assert _count(ConcessionaryApplication) == SMALL.concessionary_applications
        assert _count(Postcode) >= 3 * SMALL.parishes
        summary = county.config["DEMO_SUMMARY"]
        assert summary["schools"] == SMALL.schools and summary["password"] == PASSWORD


def test_every_phase_type_and_dta_category_is_present_appendix_G(county: Flask) -> None:
    with county.app_context():
        phases = set(db.session.scalars(select(School.phase).distinct()))
        types = set(db.session.scalars(select(School.establishment_type).distinct()))
        categories = set(db.session.scalars(select(DesignatedTransportArea.category).distinct()))
        assert phases == set(Phase)
        assert types == set(EstablishmentType)
        assert categories == set(DtaCategory)
        assert db.session.scalar(select(func.count()).select_from(School).where(School.selective))
        # Every DTA lists some areas; areas are a parish or a postcode (A14).
        empty = _count(
            DesignatedTransportArea,
            ~DesignatedTransportArea.id.in_(select(DtaArea.dta_id)),
        )
        assert empty == 0


def test_satellites_point_at_an_open_main_site_of_the_same_phase_A3f(county: Flask) -> None:
    with county.app_context():
        satellites = db.session.scalars(select(School).where(School.main_site_id.is_not(None)))
        found = list(satellites)
        assert found
        for satellite in found:
            assert satellite.main_site.main_site_id is None
            assert satellite.main_site.phase is satellite.phase
            assert satellite.main_site.is_open


def test_locations_are_on_the_grid_inside_the_county_box_and_postcodes_are_valid(
    county: Flask,
) -> None:
    from admin_views.postcodes import POSTCODE_RE

    with county.app_context():
        for model in (School, Postcode, Pupil):
            lo_e, hi_e, lo_n, hi_n = db.session.execute(
                select(
                    func.min(model.easting),
                    func.max(model.easting),
                    func.min(model.northing),
                    func.max(model.northing),
                )
            ).one()
            assert 480_000 <= lo_e <= hi_e <= 560_000, model
            assert 300_000 <= lo_n <= hi_n <= 420_000, model
        codes = list(db.session.scalars(select(Postcode.postcode)))
        codes += list(db.session.scalars(select(Pupil.postcode)))
        assert all(POSTCODE_RE.match(code) for code in codes)


def test_calendar_gives_190_operational_days_appendix_H(county: Flask) -> None:
    with county.app_context():
        year = db.session.scalar(select(AcademicYear).where(AcademicYear.label == "2024/25"))
        days = operational_days(
            [(t.starts, t.ends) for t in year.terms], [c.day for c in year.closures]
        )
        assert len(days) == 190
        assert _count(AcademicYear, AcademicYear.label == "2025/26") == 1


def test_settings_come_from_the_dated_parameters(county: Flask) -> None:
    with county.app_context():
        row = db.session.scalar(select(PolicyParameterSet))
        expected = dataclasses.asdict(parameters_for("2024/25"))
        stored = {c.name: getattr(row, c.name) for c in PolicyParameterSet.__table__.columns}
        for name, value in stored.items():
            if name in expected:
                assert value == expected[name], name
        setting = db.session.scalar(select(ContributionSetting))
        assert setting.academic_year == "2024/25"
        assert setting.post16_contribution > 0 and setting.concessionary_annual_charge > 0


def test_pupils_span_reception_to_year_13_with_the_facts_the_rules_need(county: Flask) -> None:
    year = parse_academic_year("2024/25")
    with county.app_context():
        births = db.session.scalars(select(Pupil.date_of_birth))
        groups = {year_group(born, year) for born in births}
        assert groups == set(range(14))
        assert _count(Pupil, Pupil.ehcp)
        assert _count(Pupil, Pupil.care_by.is_not(None))
        assert _count(Pupil, ~Pupil.lives_in_county)
        assert _count(LowIncomeEvidence)


def test_applications_hold_a_realistic_mix_of_facts(county: Flask) -> None:
    year = parse_academic_year("2024/25")
    with county.app_context():
        rows = db.session.execute(
            select(TransportApplication, Pupil.date_of_birth, Pupil.year_group_override).join(Pupil)
        ).all()
        measured = [a for a, _, _ in rows if a.distance_m is not None]
        assert measured and len(measured) < len(rows)  # some measured, some not (A3b)
        assert any(a.route_unsuitable for a, _, _ in rows)  # A12
        medical = [a for a, _, _ in rows if a.medical_who in (MedicalWho.CHILD, MedicalWho.PARENT)]
        for application, born, override in rows:
            group = override if override is not None else year_group(born, year)
            # A7: post-16 decisions turn on the course, so every Year 12+ application has one.
            assert (application.full_time_hours is not None) == (group >= 12)
        assert medical  # A13: grounds to determine (some pending, some decided)
        concessionary = db.session.scalars(select(ConcessionaryApplication)).all()
        assert {c.status for c in concessionary} == {ConcessionaryStatus.PENDING}
        served = set(db.session.execute(select(RouteSchool.route_id, RouteSchool.school_id)))
        assert all((c.route_id, c.school_id) in served for c in concessionary)


def test_sixth_form_follows_phase_and_ages_and_post16_schools_have_one_A7b(
    county: Flask,
) -> None:
    """A7b: post-16 students attend a "school with a sixth form provision" or a college."""
    year = parse_academic_year("2024/25")
    with county.app_context():
        schools = db.session.execute(
            select(School.id, School.phase, School.statutory_high_age, School.sixth_form)
        ).all()
        assert {s.sixth_form for s in schools} >= {
            SixthForm.HAS,
            SixthForm.DOES_NOT_HAVE,
            SixthForm.NOT_APPLICABLE,
        }
        for s in schools:
            if s.phase in (Phase.NURSERY, Phase.PRIMARY, Phase.SIXTH_FORM, Phase.FE_COLLEGE):
                assert s.sixth_form is SixthForm.NOT_APPLICABLE
            else:
                has = (s.statutory_high_age or 0) > 16
                assert s.sixth_form is (SixthForm.HAS if has else SixthForm.DOES_NOT_HAVE)
        provision = {s.id: has_post16_provision(s.phase, s.sixth_form) for s in schools}
        rows = db.session.execute(
            select(TransportApplication.school_id, Pupil.date_of_birth).join(Pupil)
        ).all()
        post16 = [school for school, born in rows if year_group(born, year) >= 12]
        assert post16 and all(provision[school] for school in post16)


def test_one_user_per_role_can_sign_in(county: Flask) -> None:
    with county.app_context():
        users = db.session.scalars(select(User)).all()
        assert {u.username: u.roles for u in users} == {
            "supervisor": {Role.SUPERVISOR},
            "officer": {Role.OFFICER},
            "assistant": {Role.ASSISTANT},
        }
    for username in ("supervisor", "officer", "assistant"):
        client = county.test_client()
        sign_in(client, username)
        assert client.get("/admin/school/").status_code == 200


def test_loading_twice_is_refused_and_changes_nothing(county: Flask) -> None:
    with county.app_context():
        before = (_count(School), _count(Pupil), _count(User), _count(AcademicYear))
        with pytest.raises(DemoRefused, match="already holds data"):
            build_county(seed=5, size="small", password=PASSWORD, today=IN_2024_25)
        assert (_count(School), _count(Pupil), _count(User), _count(AcademicYear)) == before


def test_new_records_after_the_demo_get_fresh_ids(county: Flask) -> None:
    """Explicit ids in the demo must not leave PostgreSQL's sequences behind."""
    with county.app_context():
        parish = Parish(code="E04999999", name="Fresh")
        db.session.add(parish)
        db.session.commit()
        assert parish.id > SMALL.parishes
        db.session.delete(parish)
        db.session.commit()


def _fingerprint() -> str:
    """A digest of the county's data, leaving out timestamps and the salted password hashes."""
    digest = hashlib.sha256()
    for model in (School, Parish, Postcode, DesignatedTransportArea, DtaArea, Route, Pupil,
                  LowIncomeEvidence, TransportApplication, ConcessionaryApplication):  # fmt: skip
        columns = [c for c in model.__table__.columns if c.name not in {"created_at", "updated_at"}]
        for row in db.session.execute(select(*columns).order_by(model.__table__.c.id)):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_same_seed_same_county_different_seed_different_county(
    county: Flask, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with county.app_context():
        first = _fingerprint()
    again = _demo_app(request, tmp_path, "demo_b")
    other = _demo_app(request, tmp_path, "demo_c")
    try:
        with again.app_context():
            build_county(
                seed=5, size="small", password="another password entirely", today=IN_2024_25
            )
            assert _fingerprint() == first
        with other.app_context():
            build_county(seed=6, size="small", password=PASSWORD, today=IN_2024_25)
            assert _fingerprint() != first
    finally:
        for flask_app in (again, other):
            with flask_app.app_context():
                db.session.remove()
                db.engine.dispose()


def test_flask_demo_load_prints_the_supervisor_password_and_is_idempotent(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flask_app = _demo_app(request, tmp_path, "demo_cli")
    runner = flask_app.test_cli_runner()
    try:
        monkeypatch.setenv("DEMO_PASSWORD", "a demo password for the test")
        first = runner.invoke(args=["demo", "load", "--size", "small", "--seed", "1"])
        assert first.exit_code == 0, first.output
        assert "a demo password for the test" in first.output
        assert f"schools: {SMALL.schools}" in first.output
        monkeypatch.delenv("DEMO_PASSWORD")
        second = runner.invoke(args=["demo", "load", "--size", "small"])
        assert second.exit_code == 0, second.output
        assert "not loaded" in second.output and "nothing was changed" in second.output
        with flask_app.app_context():
            assert _count(School) == SMALL.schools
    finally:
        with flask_app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_generated_password_is_random_and_printed(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    flask_app = _demo_app(request, tmp_path, "demo_gen")
    try:
        result = flask_app.test_cli_runner().invoke(args=["demo", "load", "--size", "small"])
        assert result.exit_code == 0, result.output
        line = next(x for x in result.output.splitlines() if x.startswith("supervisor password"))
        password = line.rsplit(": ", 1)[1]
        assert len(password) >= 12
        client = flask_app.test_client()
        sign_in(client, "supervisor", password)
    finally:
        with flask_app.app_context():
            db.session.remove()
            db.engine.dispose()


# --- issue 15: a demo for today --------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "history", "current", "following"),
    [
        (date(2026, 12, 2), "2025/26", "2026/27", "2027/28"),
        (date(2031, 3, 17), "2029/30", "2030/31", "2031/32"),
    ],
)
def test_demo_load_builds_the_year_containing_today_with_the_year_before_as_history(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    today: date,
    history: str,
    current: str,
    following: str,
) -> None:
    """Issue 15: on whatever day a newcomer runs `flask demo load`, the county is for the
    academic year containing that day, every year has its 190 operational days (Appendix H),
    the year before holds decisions, seats (lapsed at year end, Appendix F) and payments, the
    year pickers start on the current year, and a seat can be allocated today (A9)."""
    from models import Contribution, EligibilityDecision, Instalment, Payment
    from models.concessionary import ConcessionarySeat
    from models.enums import ApplicationStatus, SeatStatus
    from services import seats, years

    monkeypatch.setattr(years, "today", lambda: today)
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    flask_app = _demo_app(request, tmp_path, "demo_today")
    try:
        loaded = flask_app.test_cli_runner().invoke(args=["demo", "load", "--size", "small"])
        assert loaded.exit_code == 0, loaded.output
        assert f"{history} (history), {current} (current)" in loaded.output
        with flask_app.app_context():
            labels = set(db.session.scalars(select(AcademicYear.label)))
            assert labels == {history, current, following}
            assert years.current_year_label(db.session, today) == current
            for label in labels:
                calendar = years.calendar_for(db.session, label)
                assert len(calendar.days) == 190, label
                assert all(d.weekday() < 5 for d in calendar.days)
            # The current year's casework is waiting to be done, for pupils of every year group.
            ta = TransportApplication
            assert _count(ta, ta.academic_year == current) == SMALL.transport_applications
            assert (
                _count(ta, ta.academic_year == current, ta.status != ApplicationStatus.RECEIVED)
                == 0
            )
            groups = {
                year_group(born, parse_academic_year(current))
                for born in db.session.scalars(select(Pupil.date_of_birth))
            }
            assert groups == set(range(14))
            received = db.session.scalars(
                select(ta.received_on).where(ta.academic_year == current)
            ).all()
            assert all(d.year in (today.year - 1, today.year, today.year + 1) for d in received)
            # The history: every application decided, seats allocated then lapsed, money paid.
            past = _count(ta, ta.academic_year == history)
            assert past > 0
            decided = _count(
                EligibilityDecision,
                EligibilityDecision.application_id.in_(
                    select(ta.id).where(ta.academic_year == history)
                ),
                EligibilityDecision.superseded_at.is_(None),
            )
            assert decided == past
            lapsed = _count(ConcessionarySeat, ConcessionarySeat.status == SeatStatus.LAPSED)
            assert lapsed > 0 and _count(ConcessionarySeat) == lapsed
            # Each lapsed seat had its charge (A9); post-16 contributions come from decisions.
            seat_charges = _count(
                Contribution,
                Contribution.academic_year == history,
                Contribution.kind == ContributionKind.CONCESSIONARY,
            )
            assert seat_charges == lapsed
            paid = db.session.execute(
                select(
                    Payment.amount, Instalment.amount, Payment.received_on, Instalment.due_on
                ).join(Instalment, Instalment.id == Payment.instalment_id)
            ).all()
            assert paid and all(p == due and got >= on for p, due, got, on in paid)
            assert all(isinstance(p, Decimal) for p, *_ in paid)
            # Allocation works on the current year, today (A9, Appendix F).
            report = seats.allocate(current, on=today)
            assert report.allocated > 0
            starts = set(
                db.session.scalars(
                    select(ConcessionarySeat.start_date)
                    .join(ConcessionarySeat.application)
                    .where(ConcessionaryApplication.academic_year == current)
                )
            )
            assert len(starts) == 1 and min(starts) >= today
            assert min(starts) in years.calendar_for(db.session, current).days
        # The README's first commands need no year: it is the current one.
        assessed = flask_app.test_cli_runner().invoke(args=["assess", "run"])
        assert assessed.exit_code == 0, assessed.output
        with flask_app.app_context():
            assert _count(ta, ta.academic_year == current, ta.status != ApplicationStatus.RECEIVED)
        # Year pickers start on the current year, not the newest.
        client = flask_app.test_client()
        sign_in(client, "supervisor")
        for url in ("/admin/concessionary_application/", "/admin/transport_application/"):
            page = client.get(url).get_data(as_text=True)
            assert f'<option value="{current}" selected>' in page, url
            assert f'<option value="{following}" selected>' not in page, url
    finally:
        with flask_app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_generated_calendar_reproduces_the_councils_2024_25_dates_appendix_H() -> None:
    from demo.calendar import england_calendar
    from demo.calendar_2024_25 import CLOSURES, TERMS

    assert england_calendar(2024) == (TERMS, CLOSURES)
    for start in range(2024, 2045):
        terms, closures = england_calendar(start)
        days = operational_days([(s, e) for _, s, e in terms], [d for d, _ in closures])
        assert len(days) == 190, start
        assert terms[0][1] >= date(start, 9, 1) and terms[-1][2] <= date(start + 1, 7, 31)
        assert all(a[2] < b[1] for a, b in zip(terms, terms[1:], strict=False)), start
