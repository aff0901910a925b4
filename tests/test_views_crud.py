"""The CRUD screens on a small demo county: every screen opens, writes round-trip, bad input is
refused with a field error, and a school still in use cannot be deleted (issue 2).

The "every screen" tests walk the Admin's own registry, so a screen added later is covered
without editing this file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from flask_admin.contrib.sqla import ModelView
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from models import (
    Appeal,
    ConcessionaryApplication,
    ConcessionarySeat,
    Contribution,
    DesignatedTransportArea,
    DtaArea,
    EligibilityDecision,
    Instalment,
    LowIncomeEvidence,
    Parish,
    Payment,
    Postcode,
    Pupil,
    Refund,
    RouteSchool,
    School,
    TermDateVariation,
    TransportApplication,
    User,
    Withdrawal,
    db,
)
from models.enums import (
    AppealStage,
    ConcessionaryStatus,
    ContributionKind,
    DtaCategory,
    EstablishmentType,
    Outcome,
    PaymentPlan,
    Phase,
    SeatStatus,
    SixthForm,
    WithdrawalKind,
)
from tests import factories as f
from tests.conftest import PASSWORD, fresh_database, make_app, sign_in

# --- a small demo county, built once for the read-only "every screen" tests ----------------


def _one_of_each_casework_record() -> None:
    """The demo county holds no decisions, seats or money yet; add one of each to open them."""
    officer = db.session.scalar(select(User).where(User.username == "officer"))
    supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
    application = db.session.scalar(select(TransportApplication).order_by(TransportApplication.id))
    decision = EligibilityDecision(
        application=application,
        outcome=Outcome.NOT_ELIGIBLE,
        basis="A3",
        clauses=["A3"],
        charge=None,
        reasons=["Within the walking distance (A3)."],
        facts={},
        facts_hash="0" * 64,
        parameters_year="2024/25",
        decided_by_id=officer.id,
        decided_at=datetime(2024, 7, 1, 10, 0, tzinfo=UTC),
    )
    db.session.add(decision)
    db.session.flush()
    db.session.add(
        Appeal(
            decision=decision,
            stage=AppealStage.REVIEW,
            received_on=date(2024, 7, 10),
            request_deadline=date(2024, 7, 29),
            decision_due=date(2024, 8, 7),
            grounds="The route is unsafe to walk.",
            reviewer_id=supervisor.id,
        )
    )
    csa = db.session.scalar(select(ConcessionaryApplication).order_by(ConcessionaryApplication.id))
    csa.status = ConcessionaryStatus.ALLOCATED
    seat = ConcessionarySeat(
        application=csa,
        route_id=csa.route_id,
        sessions=csa.sessions,
        start_date=date(2024, 9, 4),
        end_date=date(2025, 7, 21),
        status=SeatStatus.ACTIVE,
    )
    db.session.add(seat)
    db.session.flush()
    contribution = Contribution(
        kind=ContributionKind.CONCESSIONARY,
        pupil_id=csa.pupil_id,
        academic_year="2024/25",
        concessionary_seat=seat,
        annual_amount=Decimal("456.00"),
        amount=Decimal("456.00"),
        start_date=date(2024, 9, 4),
        plan=PaymentPlan.THREE,
    )
    contribution.instalments = [
        Instalment(number=n, due_on=date(2024, 9, 4), amount=Decimal("152.00")) for n in (1, 2, 3)
    ]
    db.session.add(contribution)
    db.session.flush()
    db.session.add(
        Payment(
            contribution=contribution,
            instalment=contribution.instalments[0],
            received_on=date(2024, 9, 1),
            amount=Decimal("152.00"),
            method="card",
        )
    )
    withdrawal = Withdrawal(
        kind=WithdrawalKind.CONCESSIONARY_SEAT,
        concessionary_seat=seat,
        clause="Appendix F",
        reason="Seat needed for an entitled pupil.",
        notice_on=date(2024, 10, 1),
        effective_on=date(2024, 10, 8),
        refund_amount=Decimal("10.00"),
    )
    db.session.add(withdrawal)
    db.session.flush()
    db.session.add(
        Refund(
            contribution=contribution,
            withdrawal_id=withdrawal.id,
            amount=Decimal("10.00"),
            reason="Days not travelled",
            due_on=date(2024, 10, 22),
        )
    )
    db.session.add(
        TermDateVariation(
            school_id=application.school_id,
            academic_year="2024/25",
            notice_on=date(2024, 3, 1),
            details="Starts a day later.",
        )
    )
    db.session.commit()
    _letters_and_a_job(supervisor)


def _letters_and_a_job(supervisor: User) -> None:
    """Issue 13: the letters every record above calls for, a template version, a download
    and a background job, so their screens have a record to open."""
    from models import Job, LetterDownload
    from models.enums import LetterKind
    from services.letters.owed import make_letters
    from services.letters.templates import save_wording

    wording = ("Decision", "Dear {{ recipient.name }}")
    save_wording(db.session, LetterKind.DECISION_ELIGIBLE, "2024/25", *wording, supervisor.id)
    db.session.commit()
    make_letters(db.session, "2024/25", tuple(LetterKind), on=date(2024, 10, 1))
    db.session.add(
        LetterDownload(what="letter 1", communication_ids=[1], username=supervisor.username)
    )
    db.session.add(Job(kind="letters", parameters={"year": "2024/25"}, started_by="supervisor"))
    # Issue 14: an import run, refused, for the import runs screen.
    from services import import_runs

    import_runs.record(
        db.session,
        kind="Schools (GIAS)",
        filename="gias.csv",
        via="check",
        rows_read=3,
        error_count=1,
        committed=False,
        user_id=supervisor.id,
        username=supervisor.username,
    )
    db.session.commit()


@pytest.fixture(scope="module")
def demo_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    from demo.county import build_county

    url = fresh_database(request, "crud_demo", Path(tmp_path_factory.mktemp("crud_demo")))
    flask_app = make_app(url)
    with flask_app.app_context():
        build_county(seed=11, size="small", password=PASSWORD, today=date(2024, 10, 1))
        _one_of_each_casework_record()
    yield flask_app
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def supervisor(demo_app: Flask) -> FlaskClient:
    client = demo_app.test_client()
    sign_in(client, "supervisor")
    return client


def _model_views(flask_app: Flask) -> list[ModelView]:
    admin = flask_app.extensions["admin"][0]
    return [v for v in admin._views if isinstance(v, ModelView)]


def _urls(flask_app: Flask, kind: str) -> Iterator[tuple[str, str]]:
    """(view name, url) for every registered model view, for list/create/edit/details."""
    with flask_app.test_request_context():
        for view in _model_views(flask_app):
            name = f"{view.category}/{view.name}"
            if kind == "list":
                yield name, url_for(f"{view.endpoint}.index_view")
                continue
            if kind == "create":
                if view.allow_create if hasattr(view, "allow_create") else view.can_create:
                    yield name, url_for(f"{view.endpoint}.create_view")
                continue
            if kind == "edit" and not getattr(view, "allow_edit", True):
                continue
            if kind == "details" and not view.can_view_details:
                continue
            record = db.session.scalars(select(view.model).limit(1)).first()
            if record is None:
                yield name, "NO RECORD"
                continue
            pk = view.get_pk_value(record)
            endpoint = "edit_view" if kind == "edit" else "details_view"
            yield name, url_for(f"{view.endpoint}.{endpoint}", id=pk)


@pytest.mark.parametrize("kind", ["list", "create", "edit", "details"])
def test_every_screen_answers_200_for_a_supervisor_on_the_demo_county(
    demo_app: Flask, supervisor: FlaskClient, kind: str
) -> None:
    with demo_app.app_context():
        urls = list(_urls(demo_app, kind))
    assert len(urls) >= 20 if kind in ("list", "details") else urls
    failures = []
    for name, url in urls:
        if url == "NO RECORD":
            failures.append(f"{name}: no record in the demo county to open")
            continue
        try:
            response = supervisor.get(url)
        except Exception as error:  # TESTING propagates a view's exception: report, go on
            failures.append(f"{name}: GET {url} raised {type(error).__name__}: {error}")
            continue
        if response.status_code != 200:
            failures.append(f"{name}: GET {url} -> {response.status_code}")
    assert failures == []


def test_lists_search_filter_and_export_on_the_demo_county(
    demo_app: Flask, supervisor: FlaskClient
) -> None:
    with demo_app.app_context():
        school = db.session.scalar(select(School).order_by(School.id))
        name, urn = school.name, school.urn
    found = supervisor.get(f"/admin/school/?search={urn}").get_data(as_text=True)
    assert name in found
    assert supervisor.get("/admin/pupil/?search=LP").status_code == 200
    for path in ("school", "dta", "pupil", "parish", "postcode", "appeal", "low_income_evidence"):
        csv = supervisor.get(f"/admin/{path}/export/csv/")
        assert csv.status_code == 200 and csv.mimetype == "text/csv", path
        xlsx = supervisor.get(f"/admin/{path}/export/xlsx/")
        assert xlsx.status_code == 200, path
        assert xlsx.data[:2] == b"PK", path  # an .xlsx file is a zip archive
    exported = supervisor.get("/admin/school/export/csv/").get_data(as_text=True)
    assert "URN" in exported.splitlines()[0] and str(urn) in exported


# --- writes through the views, on the per-test database -------------------------------------


def _errors(body: str) -> str:
    """The text of field errors and flashed error messages on a re-shown form."""
    blocks = re.findall(
        r'class="(?:invalid-feedback|help-block|alert alert-danger)[^"]*"[^>]*>'
        r"(.*?)</(?:div|span|ul)>",
        body,
        flags=re.S,
    )
    return " | ".join(" ".join(re.sub(r"<[^>]+>|&times;", " ", b).split()) for b in blocks)


def _school_form(**values: str) -> dict[str, str]:
    form = {
        "urn": "123456",
        "name": "Nettleham Junior School",
        "phase": "primary",
        "establishment_type": "community",
        "statutory_low_age": "7",
        "statutory_high_age": "11",
        "town": "Nettleham",
        "postcode": "ln2 2pe",
        "easting": "500500",
        "northing": "375500",
        "follows_council_term_dates": "y",
        "is_open": "y",
    }
    form.update(values)
    return form


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_school_create_edit_delete_round_trip(app: Flask, client_as: Any) -> None:
    client = client_as("assistant")
    response = client.post("/admin/school/new/", data=_school_form())
    assert response.status_code == 302, _errors(response.get_data(as_text=True))
    with app.app_context():
        school = db.session.scalar(select(School).where(School.urn == 123456))
        assert school is not None
        assert school.postcode == "LN2 2PE"  # normalised: capitals, one space
        assert school.phase is Phase.PRIMARY
        assert school.establishment_type is EstablishmentType.COMMUNITY
        school_id = school.id
    response = client.post(
        f"/admin/school/edit/?id={school_id}",
        data=_school_form(name="Nettleham C of E Junior School", postcode="LN22PE"),
    )
    assert response.status_code == 302, _errors(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(School, school_id).name == "Nettleham C of E Junior School"
    response = client.post("/admin/school/delete/", data={"id": str(school_id)})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(School, school_id) is None


def test_satellite_points_at_its_main_site_A3f(app: Flask, client_as: Any) -> None:
    with app.app_context():
        main = f.school(name="Caistor Grammar School")
        db.session.commit()
        main_id = main.id
    client = client_as("assistant")
    response = client.post(
        "/admin/school/new/",
        data=_school_form(
            urn="1234567", name="Caistor Grammar (Nettleton site)", main_site=str(main_id)
        ),
    )
    assert response.status_code == 302, _errors(response.get_data(as_text=True))
    with app.app_context():
        satellite = db.session.scalar(select(School).where(School.urn == 1234567))
        assert satellite.main_site_id == main_id
    # The ajax look-up finds the main site by part of its name.
    found = client.get("/admin/school/ajax/lookup/?name=main_site&query=Caistor")
    assert found.status_code == 200 and "Caistor Grammar School" in found.get_data(as_text=True)


# A7b: a post-16 student must attend "their nearest or designated school with a sixth form
# provision, or their nearest or designated college": officers see, find and correct it.


def _sixth_form_school(**values: str) -> dict[str, str]:
    return _school_form(
        **{
            "name": "Welton William Farr School",
            "phase": "secondary",
            "establishment_type": "academy",
            "statutory_low_age": "11",
            "statutory_high_age": "18",
            **values,
        }
    )


def _urn(urn: int) -> School:
    school = db.session.scalar(select(School).where(School.urn == urn))
    assert school is not None
    return school


def test_school_sixth_form_set_on_create_and_kept_on_edit_A7b(app: Flask, client_as: Any) -> None:
    client = client_as("assistant")
    response = client.post(
        "/admin/school/new/", data=_sixth_form_school(sixth_form="no_sixth_form")
    )
    assert response.status_code == 302, _errors(response.get_data(as_text=True))
    with app.app_context():
        school_id = _urn(123456).id
        assert _urn(123456).sixth_form is SixthForm.DOES_NOT_HAVE
    page = client.get(f"/admin/school/edit/?id={school_id}").get_data(as_text=True)
    assert 'value="no_sixth_form" selected' in page or 'selected value="no_sixth_form"' in page
    assert "Sixth form" in page and "A7b" in page  # label, and the clause in its description
    # Another change, with the pre-selected value sent back as a browser does, keeps it.
    edit = f"/admin/school/edit/?id={school_id}"
    response = client.post(edit, data=_sixth_form_school(name="W F", sixth_form="no_sixth_form"))
    assert response.status_code == 302, _errors(response.get_data(as_text=True))
    with app.app_context():
        assert _urn(123456).sixth_form is SixthForm.DOES_NOT_HAVE
    response = client.post(edit, data=_sixth_form_school(sixth_form="has_sixth_form"))
    assert response.status_code == 302, _errors(response.get_data(as_text=True))
    with app.app_context():
        assert _urn(123456).sixth_form is SixthForm.HAS


def test_school_sixth_form_defaults_to_not_recorded_and_refuses_others_A7b(
    app: Flask, client_as: Any
) -> None:
    client = client_as("assistant")
    assert client.post("/admin/school/new/", data=_sixth_form_school()).status_code == 302
    refused = client.post(
        "/admin/school/new/", data=_sixth_form_school(urn="654321", sixth_form="maybe")
    )
    assert refused.status_code == 200
    assert "Not a valid choice" in _errors(refused.get_data(as_text=True))
    with app.app_context():
        assert _urn(123456).sixth_form is SixthForm.NOT_RECORDED
        assert db.session.scalar(select(School).where(School.urn == 654321)) is None


def test_school_sixth_form_list_filter_and_export_A7b(app: Flask, client_as: Any) -> None:
    with app.app_context():
        f.school(name="Has Sixth Academy", statutory_high_age=18, sixth_form=SixthForm.HAS)
        f.school(name="No Sixth High School", sixth_form=SixthForm.DOES_NOT_HAVE)
        db.session.commit()
        view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "school")
        index, flt = next(
            (i, flt)
            for i, flt in enumerate(view._filters)
            if str(flt.name) == "Sixth form" and flt.operation() == "equals"
        )
        arg = f"flt0_{view.get_filter_arg(index, flt)}"
    client = client_as("assistant")
    text = client.get(f"/admin/school/?{arg}=no_sixth_form").get_data(as_text=True)
    assert "No Sixth High School" in text and "Has Sixth Academy" not in text
    text = client.get(f"/admin/school/?{arg}=has_sixth_form").get_data(as_text=True)
    assert "Has Sixth Academy" in text and "No Sixth High School" not in text
    exported = client_as("supervisor").get("/admin/school/export/csv/").get_data(as_text=True)
    rows = {row["Name"]: row["Sixth form"] for row in csv.DictReader(io.StringIO(exported))}
    assert rows == {"Has Sixth Academy": "Has sixth form", "No Sixth High School": "No sixth form"}


def test_parish_create_edit_delete_round_trip(app: Flask, client_as: Any) -> None:
    client = client_as("assistant")
    data = {"code": "e04005999", "name": "Welton", "district": "West Lindsey", "in_county": "y"}
    assert client.post("/admin/parish/new/", data=data).status_code == 302
    with app.app_context():
        parish = db.session.scalar(select(Parish).where(Parish.code == "E04005999"))
        assert parish is not None and parish.in_county
        parish_id = parish.id
    data.update(name="Welton by Lincoln", in_county="")
    assert client.post(f"/admin/parish/edit/?id={parish_id}", data=data).status_code == 302
    with app.app_context():
        parish = db.session.get(Parish, parish_id)
        assert parish.name == "Welton by Lincoln" and not parish.in_county
    assert client.post("/admin/parish/delete/", data={"id": str(parish_id)}).status_code == 302
    with app.app_context():
        assert db.session.get(Parish, parish_id) is None


def test_dta_with_inline_parish_and_postcode_areas_round_trip_A14(
    app: Flask, client_as: Any
) -> None:
    with app.app_context():
        school = f.school(name="Welton William Farr School")
        parish_a, parish_b = f.parish(name="Welton"), f.parish(name="Dunholme")
        postcode = f.postcode("LN2 3PP", parish_b)
        db.session.commit()
        ids = school.id, parish_a.id, parish_b.id, postcode.id
    school_id, parish_a_id, parish_b_id, postcode_id = ids
    client = client_as("assistant")
    form = {
        "name": "William Farr secondary DTA",
        "school": str(school_id),
        "category": "secondary_all_ability",
        "areas-0-parish": str(parish_a_id),
        "areas-1-postcode": str(postcode_id),
    }
    response = client.post("/admin/dta/new/", data=form)
    assert response.status_code == 302, _errors(response.get_data(as_text=True))
    with app.app_context():
        dta = db.session.scalar(select(DesignatedTransportArea))
        assert dta.category is DtaCategory.SECONDARY_ALL_ABILITY
        assert {(a.parish_id, a.postcode_id) for a in dta.areas} == {
            (parish_a_id, None),
            (None, postcode_id),
        }
        dta_id = dta.id
        area_ids = [a.id for a in dta.areas]
    # Edit: swap the postcode row for a second parish, keep the first row.
    form = {
        "name": "William Farr DTA",
        "school": str(school_id),
        "category": "secondary_all_ability",
        "areas-0-id": str(area_ids[0]),
        "areas-0-parish": str(parish_a_id),
        "areas-1-id": str(area_ids[1]),
        "areas-1-postcode": str(postcode_id),
        "del-areas-1": "on",
        "areas-2-parish": str(parish_b_id),
    }
    response = client.post(f"/admin/dta/edit/?id={dta_id}", data=form)
    assert response.status_code == 302, _errors(response.get_data(as_text=True))
    with app.app_context():
        dta = db.session.get(DesignatedTransportArea, dta_id)
        assert dta.name == "William Farr DTA"
        assert sorted(a.parish_id for a in dta.areas) == sorted([parish_a_id, parish_b_id])
        assert all(a.postcode_id is None for a in dta.areas)
    assert client.post("/admin/dta/delete/", data={"id": str(dta_id)}).status_code == 302
    with app.app_context():
        assert db.session.get(DesignatedTransportArea, dta_id) is None
        assert _count(DtaArea) == 0  # the areas go with their DTA
        assert _count(Parish) == 2 and _count(Postcode) == 1  # the places themselves stay


def test_dta_area_with_both_parish_and_postcode_is_refused_A14(app: Flask, client_as: Any) -> None:
    with app.app_context():
        school, parish = f.school(), f.parish()
        postcode = f.postcode("LN2 3PQ", parish)
        db.session.commit()
        ids = school.id, parish.id, postcode.id
    response = client_as("assistant").post(
        "/admin/dta/new/",
        data={
            "name": "Both at once",
            "school": str(ids[0]),
            "category": "primary",
            "areas-0-parish": str(ids[1]),
            "areas-0-postcode": str(ids[2]),
        },
    )
    assert response.status_code == 200
    assert "exactly one of a parish or a postcode" in response.get_data(as_text=True)
    with app.app_context():
        assert _count(DesignatedTransportArea) == 0 and _count(DtaArea) == 0


def test_pupil_with_inline_low_income_evidence_round_trip_A5c(app: Flask, client_as: Any) -> None:
    with app.app_context():
        f.academic_year()
        parish = f.parish(name="Nettleham")
        db.session.commit()
        parish_id = parish.id
    client = client_as("assistant")
    form = {
        "reference": "LP0001234",
        "first_name": "Freya",
        "last_name": "Taylor",
        "date_of_birth": "2012-03-14",
        "address": "4 Church Lane",
        "town": "Nettleham",
        "postcode": "ln2  2pe",
        "parish": str(parish_id),
        "lives_in_county": "y",
        "low_income-0-academic_year": "2024/25",
        "low_income-0-evidence": "Free school meals",
        "low_income-0-verified_on": "2024-07-01",
    }
    response = client.post("/admin/pupil/new/", data=form)
    assert response.status_code == 302, _errors(response.get_data(as_text=True))
    with app.app_context():
        pupil = db.session.scalar(select(Pupil))
        assert pupil.postcode == "LN2 2PE" and pupil.parish_id == parish_id
        assert [(e.academic_year, e.evidence) for e in pupil.low_income] == [
            ("2024/25", "Free school meals")
        ]
        pupil_id, evidence_id = pupil.id, pupil.low_income[0].id
    form.update(
        {"last_name": "Taylor-Wood", "low_income-0-id": str(evidence_id), "ehcp": "y", "send": "y"}
    )
    response = client.post(f"/admin/pupil/edit/?id={pupil_id}", data=form)
    assert response.status_code == 302, _errors(response.get_data(as_text=True))
    with app.app_context():
        pupil = db.session.get(Pupil, pupil_id)
        assert pupil.last_name == "Taylor-Wood" and pupil.ehcp
        assert _count(LowIncomeEvidence) == 1
    assert client.post("/admin/pupil/delete/", data={"id": str(pupil_id)}).status_code == 302
    with app.app_context():
        assert db.session.get(Pupil, pupil_id) is None
        assert _count(LowIncomeEvidence) == 0


def test_low_income_evidence_for_an_unknown_year_is_a_field_error_A5c(
    app: Flask, client_as: Any
) -> None:
    with app.app_context():
        f.academic_year()
        pupil = f.pupil()
        db.session.commit()
        pupil_id = pupil.id
    response = client_as("assistant").post(
        "/admin/low_income_evidence/new/",
        data={
            "pupil": str(pupil_id),
            "academic_year": "2031/32",
            "evidence": "Universal Credit",
            "verified_on": "2024-07-01",
        },
    )
    assert response.status_code == 200
    assert "not an academic year the panel knows" in response.get_data(as_text=True)
    with app.app_context():
        assert _count(LowIncomeEvidence) == 0


# --- bad input: a field error, nothing written ----------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("postcode", "XYZ 123", "Enter a full UK postcode"),
        ("postcode", "LN1 1CI", "Enter a full UK postcode"),
        ("urn", "12AB56", "A URN is 6 to 8 digits"),
        ("urn", "12345", "A URN is 6 to 8 digits"),
        ("statutory_low_age", "-3", "An age is a whole number of years from 0 to 25"),
        ("statutory_high_age", "5", "The highest age cannot be below the lowest"),
        ("easting", "800000", "An easting is a number of metres from 0 to 700000"),
        ("northing", "-1", "A northing is a number of metres from 0 to 1300000"),
    ],
)
def test_bad_school_input_is_a_field_error_and_writes_nothing(
    app: Flask, client_as: Any, field: str, value: str, message: str
) -> None:
    response = client_as("assistant").post(
        "/admin/school/new/", data=_school_form(**{field: value})
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert message in body
    assert "Traceback" not in body
    with app.app_context():
        assert _count(School) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("date_of_birth", "2031-01-01", "cannot be in the future"),
        ("date_of_birth", "1950-01-01", "over 25"),
        ("postcode", "12345", "Enter a full UK postcode"),
        ("care_by", "council", "Fill in both"),
    ],
)
def test_bad_pupil_input_is_a_field_error_and_writes_nothing(
    app: Flask, client_as: Any, field: str, value: str, message: str
) -> None:
    form = {
        "reference": "LP0009999",
        "first_name": "Leo",
        "last_name": "Patel",
        "date_of_birth": "2013-05-01",
        "address": "1 High Street",
        "postcode": "LN1 1YL",
        "lives_in_county": "y",
        field: value,
    }
    response = client_as("assistant").post("/admin/pupil/new/", data=form)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert _count(Pupil) == 0


def test_bad_postcode_on_the_postcode_screen_writes_nothing(app: Flask, client_as: Any) -> None:
    response = client_as("assistant").post(
        "/admin/postcode/new/", data={"postcode": "not a postcode", "easting": "500000"}
    )
    assert response.status_code == 200
    assert "Enter a full UK postcode" in response.get_data(as_text=True)
    with app.app_context():
        assert _count(Postcode) == 0


# --- deleting a school still in use ---------------------------------------------------------


def _school_in_use() -> tuple[int, int]:
    """A school a route, a DTA and an application point at, and a free one."""
    f.academic_year()
    used = f.school(name="Branston Academy")
    free = f.school(name="Unused School")
    f.route([used])
    f.dta(used, parishes=[f.parish()])
    f.transport_application(f.pupil(), used)
    db.session.commit()
    return used.id, free.id


def _reference_counts(school_id: int) -> tuple[int, int, int]:
    return (
        _count_where(RouteSchool, RouteSchool.school_id == school_id),
        _count_where(DesignatedTransportArea, DesignatedTransportArea.school_id == school_id),
        _count_where(TransportApplication, TransportApplication.school_id == school_id),
    )


def _count_where(model: type, condition: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(condition))


def test_deleting_a_school_still_in_use_is_refused_with_a_clear_message(
    app: Flask, client_as: Any
) -> None:
    with app.app_context():
        used_id, _ = _school_in_use()
    client = client_as("supervisor")
    response = client.post(
        "/admin/school/delete/", data={"id": str(used_id)}, follow_redirects=True
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Not deleted" in body
    assert "routes" in body and "Designated Transport Areas" in body
    assert "transport applications" in body
    with app.app_context():
        assert db.session.get(School, used_id) is not None
        assert _reference_counts(used_id) == (1, 1, 1)


def test_bulk_delete_including_a_school_in_use_deletes_nothing(app: Flask, client_as: Any) -> None:
    with app.app_context():
        used_id, free_id = _school_in_use()
    client = client_as("supervisor")
    response = client.post(
        "/admin/school/action/",
        data={"action": "delete", "rowid": [str(used_id), str(free_id)]},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Nothing was deleted" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(School, used_id) is not None
        assert db.session.get(School, free_id) is not None  # all or nothing
        assert _reference_counts(used_id) == (1, 1, 1)
    # The free school alone goes.
    client.post("/admin/school/action/", data={"action": "delete", "rowid": [str(free_id)]})
    with app.app_context():
        assert db.session.get(School, free_id) is None


def test_deleting_a_main_site_with_satellites_is_refused_A3f(app: Flask, client_as: Any) -> None:
    with app.app_context():
        main = f.school(name="Main site")
        satellite = f.school(name="Satellite", main_site=main)
        db.session.commit()
        main_id, satellite_id = main.id, satellite.id
    response = client_as("supervisor").post(
        "/admin/school/delete/", data={"id": str(main_id)}, follow_redirects=True
    )
    assert "satellite sites" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(School, main_id) is not None
        assert db.session.get(School, satellite_id).main_site_id == main_id  # not cleared


def test_deleting_a_parish_with_postcodes_keeps_both(app: Flask, client_as: Any) -> None:
    with app.app_context():
        parish = f.parish()
        f.postcode("LN4 1AB", parish)
        db.session.commit()
        parish_id = parish.id
    response = client_as("assistant").post(
        "/admin/parish/delete/", data={"id": str(parish_id)}, follow_redirects=True
    )
    assert "postcodes" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Parish, parish_id) is not None
        postcode = db.session.scalar(select(Postcode))
        assert postcode.parish_id == parish_id


def test_the_database_itself_refuses_to_orphan_a_school_s_references(app: Flask) -> None:
    """ON DELETE RESTRICT (and SQLite's foreign_keys pragma) hold even without the screens."""
    with app.app_context():
        used_id, _ = _school_in_use()
        with pytest.raises(IntegrityError):
            db.session.execute(delete(School).where(School.id == used_id))
            db.session.flush()
        db.session.rollback()
        assert db.session.get(School, used_id) is not None
        assert _reference_counts(used_id) == (1, 1, 1)


def test_an_assistant_cannot_write_appeals_but_an_officer_can_open_them(
    app: Flask, client_as: Any
) -> None:
    assert client_as("assistant").get("/admin/appeal/new/").status_code == 403
    assert client_as("officer").get("/admin/appeal/new/").status_code == 200


# --- appeals: Appendix C deadlines and the stage-one reviewer --------------------------------


def _refusal(officer_id: int, decided: date) -> int:
    f.academic_year()
    application = f.transport_application(f.pupil(), f.school())
    decision = EligibilityDecision(
        application=application,
        outcome=Outcome.NOT_ELIGIBLE,
        basis="A3",
        clauses=["A3"],
        reasons=["Within the walking distance (A3)."],
        facts={},
        facts_hash="1" * 64,
        parameters_year="2024/25",
        decided_by_id=officer_id,
        decided_at=datetime(decided.year, decided.month, decided.day, 11, 0, tzinfo=UTC),
    )
    db.session.add(decision)
    db.session.commit()
    return decision.id


def _appeal_form(decision_id: int, reviewer_id: int, **values: str) -> dict[str, str]:
    form = {
        "decision": str(decision_id),
        "stage": "stage_one",
        "received_on": "2024-12-20",
        "grounds": "The walking route has no footway (Appendix D).",
        "reviewer": str(reviewer_id),
        "outcome": "pending",
    }
    form.update(values)
    return form


def test_appeal_deadlines_are_working_days_skipping_bank_holidays_appendix_C(
    app: Flask, client_as: Any, users: dict[str, int]
) -> None:
    with app.app_context():
        decision_id = _refusal(users["officer"], date(2024, 12, 2))
    client = client_as("officer")
    response = client.post(
        "/admin/appeal/new/", data=_appeal_form(decision_id, users["supervisor"])
    )
    assert response.status_code == 302, _errors(response.get_data(as_text=True))
    with app.app_context():
        appeal = db.session.scalar(select(Appeal))
        # 20 working days from the refusal on 2 Dec 2024, skipping 25, 26 Dec and 1 Jan.
        assert appeal.request_deadline == date(2025, 1, 2)
        # Stage one decided within 20 working days of receipt on 20 Dec 2024.
        assert appeal.decision_due == date(2025, 1, 22)
        assert appeal.panel_not_before is None
        first_id = appeal.id
    # Stage one upholds the refusal; the stage-two panel window follows (20-40 days, +5).
    response = client.post(
        f"/admin/appeal/edit/?id={first_id}",
        data=_appeal_form(
            decision_id, users["supervisor"], outcome="upheld", decided_on="2025-01-10"
        ),
    )
    assert response.status_code == 302, _errors(response.get_data(as_text=True))
    response = client.post(
        "/admin/appeal/new/",
        data=_appeal_form(
            decision_id, users["supervisor"], stage="stage_two", received_on="2025-01-20"
        ),
    )
    assert response.status_code == 302, _errors(response.get_data(as_text=True))
    with app.app_context():
        second = db.session.scalar(select(Appeal).where(Appeal.stage == AppealStage.PANEL))
        assert second.request_deadline == date(2025, 2, 7)  # 20 working days from 10 Jan
        assert second.panel_not_before == date(2025, 2, 17)  # 20 working days from 20 Jan
        assert second.decision_due == date(2025, 3, 24)  # 40 working days (17 Mar), then 5


def test_stage_one_reviewer_who_made_the_decision_is_refused_appendix_C(
    app: Flask, client_as: Any, users: dict[str, int]
) -> None:
    with app.app_context():
        decision_id = _refusal(users["officer"], date(2024, 12, 2))
    response = client_as("officer").post(
        "/admin/appeal/new/", data=_appeal_form(decision_id, users["officer"])
    )
    assert response.status_code == 200
    assert "did not deal with the original application" in response.get_data(as_text=True)
    with app.app_context():
        assert _count(Appeal) == 0


def test_stage_two_needs_a_decided_stage_one_appendix_C(
    app: Flask, client_as: Any, users: dict[str, int]
) -> None:
    with app.app_context():
        decision_id = _refusal(users["officer"], date(2024, 12, 2))
    response = client_as("officer").post(
        "/admin/appeal/new/",
        data=_appeal_form(decision_id, users["supervisor"], stage="stage_two"),
    )
    assert response.status_code == 200
    assert "follows a decided stage-one review" in response.get_data(as_text=True)
    with app.app_context():
        assert _count(Appeal) == 0


def test_related_records_are_found_by_typing_not_picked_from_a_list(
    app: Flask, client_as: Any, users: dict[str, int]
) -> None:
    """Ajax look-ups: an appeal's decision by TRA number, a pupil's or DTA area's parish."""
    with app.app_context():
        decision_id = _refusal(users["officer"], date(2024, 12, 2))
        reference = db.session.get(EligibilityDecision, decision_id).application.reference
        f.parish(name="Saxilby with Ingleby")
        db.session.commit()
    officer = client_as("officer")
    found = officer.get(f"/admin/appeal/ajax/lookup/?name=decision&query={reference[:6]}")
    assert found.status_code == 200 and reference in found.get_data(as_text=True)
    assistant = client_as("assistant")
    for url in (
        "/admin/pupil/ajax/lookup/?name=parish&query=Saxil",
        "/admin/dta/ajax/lookup/?name=dtaarea-parish&query=Saxil",
    ):
        found = assistant.get(url)
        assert found.status_code == 200 and "Saxilby with Ingleby" in found.get_data(as_text=True)
    # The create forms carry no <option> per pupil, school or parish: they are ajax fields.
    for path in ("pupil", "dta", "appeal", "low_income_evidence", "postcode"):
        page = client_as("supervisor").get(f"/admin/{path}/new/").get_data(as_text=True)
        assert "Saxilby" not in page, path


def test_deleting_an_academic_year_in_use_is_refused_by_label(app, client_as):  # type: ignore[no-untyped-def]
    """Casework points at a year by its label, not its id: the guard must follow that key."""
    from models import AcademicYear
    from tests import factories as f

    with app.app_context():
        year = f.academic_year()
        f.transport_application(f.pupil(), f.school())
        db.session.commit()
        year_id = year.id
    response = client_as("supervisor").post(
        "/admin/academic_year/delete/", data={"id": str(year_id)}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "still used by 1 transport applications" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(AcademicYear, year_id) is not None


@pytest.mark.parametrize("field", ["route", "pupil", "school"])
def test_a_non_number_in_a_look_up_field_is_a_field_error(
    app: Flask, client_as: Any, field: str
) -> None:
    """A look-up field's value is a record's id: typed text is "Not a valid choice" on that
    field, not a 500 (PostgreSQL refused the text as an integer key)."""
    with app.app_context():
        f.academic_year()
        pupil, school = f.pupil(), f.school()
        db.session.commit()
        form = {
            "reference": "TRA7777778",
            "pupil": str(pupil.id),
            "school": str(school.id),
            "academic_year": "2024/25",
            "received_on": "2024-06-03",
            "payment_plan": "3",
            field: "abc",
        }
    response = client_as("officer").post("/admin/transport_application/new/", data=form)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert re.search(rf'id="{field}"[^>]*is-invalid|is-invalid[^>]*id="{field}"', body), field
    assert "Not a valid choice" in _errors(body)
    with app.app_context():
        assert _count(TransportApplication) == 0
