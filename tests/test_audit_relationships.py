"""Every relationship change reaches the audit trail with its foreign key, old and new.

Issue 18 (done under issue 16): the trail read column history before the flush filled the
foreign key, so ``application.school = other`` or a seat application moved to another route
wrote no audit row. This test walks every relationship of every mapped model: a many-to-one is
pointed at another row, a one-to-many hands one of its rows to another parent, and the trail
must show the owning row's key column changing from the old id to the new one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import inspect, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import RelationshipDirection

from models import (
    AcademicYear,
    Appeal,
    AuditLog,
    Base,
    ConcessionaryApplication,
    ConcessionarySeat,
    Contribution,
    EligibilityDecision,
    Instalment,
    LowIncomeEvidence,
    Payment,
    Refund,
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
    Outcome,
    PaymentPlan,
    SeatStatus,
    WithdrawalKind,
)
from tests.conftest import PASSWORD, fresh_database, make_app


def _casework(year: AcademicYear, n: int, *, bare: bool = False) -> None:
    """One decision, appeal, seat, contribution, instalments, payment, withdrawal and refund.

    `bare`: only a decision, a seat and a contribution with nothing hanging off them, so
    rows that allow one of their kind per parent (an appeal per decision) have somewhere to go.
    """
    start = year.starts
    users = db.session.scalars(select(User).order_by(User.id)).all()
    application = db.session.scalars(
        select(TransportApplication)
        .where(TransportApplication.academic_year == year.label)
        .order_by(TransportApplication.id)
    ).all()[n]
    decision = EligibilityDecision(
        application=application,
        outcome=Outcome.NOT_ELIGIBLE,
        basis="A3",
        clauses=["A3"],
        reasons=["Within the walking distance (A3)."],
        facts={},
        facts_hash=f"{n}" * 64,
        parameters_year=year.label,
        decided_by_id=users[n].id,
        decided_at=datetime(start.year, 7, 1, 10, 0, tzinfo=UTC),
    )
    db.session.add(decision)
    db.session.flush()
    if not bare:
        db.session.add(
            Appeal(
                decision=decision,
                stage=AppealStage.REVIEW,
                received_on=start,
                request_deadline=start + timedelta(days=20),
                decision_due=start + timedelta(days=30),
                grounds="The route is unsafe to walk.",
                reviewer_id=users[n].id,
            )
        )
    csa = db.session.scalars(
        select(ConcessionaryApplication)
        .where(ConcessionaryApplication.academic_year == year.label)
        .order_by(ConcessionaryApplication.id)
    ).all()[n]
    csa.status = ConcessionaryStatus.ALLOCATED
    seat = ConcessionarySeat(
        application=csa,
        route_id=csa.route_id,
        sessions=csa.sessions,
        start_date=start,
        end_date=year.ends,
        status=SeatStatus.ACTIVE,
    )
    db.session.add(seat)
    db.session.flush()
    contribution = Contribution(
        kind=ContributionKind.CONCESSIONARY,
        pupil_id=csa.pupil_id,
        academic_year=year.label,
        concessionary_seat=seat,
        transport_application=application,
        annual_amount=Decimal("456.00"),
        amount=Decimal("456.00"),
        start_date=start,
        plan=PaymentPlan.THREE,
    )
    if not bare:
        contribution.instalments = [
            Instalment(number=k, due_on=start, amount=Decimal("152.00")) for k in (1, 2, 3)
        ]
    db.session.add(contribution)
    db.session.flush()
    if bare:
        spare = db.session.scalars(
            select(ConcessionaryApplication)
            .where(ConcessionaryApplication.academic_year == year.label)
            .order_by(ConcessionaryApplication.id)
        ).all()[n + 1]
        spare.status = ConcessionaryStatus.ALLOCATED
        db.session.add(
            ConcessionarySeat(
                application=spare,
                route_id=spare.route_id,
                sessions=spare.sessions,
                start_date=start,
                end_date=year.ends,
                status=SeatStatus.ACTIVE,
            )
        )
        return
    db.session.add(
        Payment(
            contribution=contribution,
            instalment=contribution.instalments[0],
            received_on=start,
            amount=Decimal("152.00"),
            method="card",
            recorded_by_id=users[n].id,
        )
    )
    withdrawal = Withdrawal(
        kind=WithdrawalKind.CONCESSIONARY_SEAT,
        concessionary_seat=seat,
        clause="Appendix F",
        reason="Seat needed for an entitled pupil.",
        notice_on=start + timedelta(days=30),
        effective_on=start + timedelta(days=37),
        refund_amount=Decimal("10.00"),
        decided_by_id=users[n].id,
    )
    db.session.add(withdrawal)
    db.session.add(
        Withdrawal(
            kind=WithdrawalKind.ELIGIBILITY,
            decision=decision,
            clause="A15",
            reason="The family moved.",
            notice_on=start + timedelta(days=30),
            effective_on=start + timedelta(days=37),
            decided_by_id=users[n].id,
        )
    )
    db.session.flush()
    db.session.add(
        Refund(
            contribution=contribution,
            withdrawal_id=withdrawal.id,
            amount=Decimal("10.00"),
            reason="Days not travelled",
            due_on=start + timedelta(days=50),
        )
    )
    db.session.add(
        TermDateVariation(
            school_id=application.school_id,
            academic_year=year.label,
            notice_on=start - timedelta(days=180),
            details="Starts a day later.",
        )
    )
    if db.session.scalar(select(LowIncomeEvidence.id).limit(1)) is None:
        db.session.add(
            LowIncomeEvidence(
                pupil_id=application.pupil_id,
                academic_year=year.label,
                evidence="Free school meals",
                verified_on=start,
            )
        )
        db.session.flush()


def _places_and_letters(year: AcademicYear) -> None:
    """Two of each row the road network (issue 17) and the letters (issue 13) keep."""
    from models import (
        Communication,
        Contact,
        HomeAccessPoint,
        Job,
        LetterTemplate,
        RoadNetwork,
        RouteMeasurement,
        School,
        SchoolGate,
    )
    from models.enums import (
        Channel,
        CommunicationStatus,
        DistanceMethod,
        LetterKind,
        MeasurementKind,
    )

    users = db.session.scalars(select(User).order_by(User.id)).all()
    schools = db.session.scalars(select(School).order_by(School.id).limit(2)).all()
    applications = db.session.scalars(
        select(TransportApplication)
        .where(TransportApplication.academic_year == year.label)
        .order_by(TransportApplication.id)
        .limit(2)
    ).all()
    now = datetime.now(UTC)
    rows = list(zip(schools, applications, users, strict=False))
    for _school, application, _user in rows:
        _ = application.pupil  # loaded first: a lazy load would autoflush a half-made gate
    for n, (school, application, user) in enumerate(rows):
        gate = SchoolGate(school=school, name=f"Gate {n}", easting=1000 + n, northing=2000 + n)
        # In the session before anything autoflushes (School.gates would otherwise hold a
        # gate the flush cannot save: SQLAlchemy's SAWarning, an error in this suite).
        db.session.add(gate)
        network = RoadNetwork(
            source_file=f"county-{n}.osm", source_sha256=f"{n:064d}", engine="test",
            loaded_by=user, nodes=0, walk_edges=0, drive_edges=0, data=b"",
        )
        contact = Contact(
            pupil=application.pupil, name=f"Parent {n}", relationship_to_child="Mother",
            preferred_channel=Channel.POST,
        )
        db.session.add_all([gate, network, contact])
        db.session.add(
            HomeAccessPoint(
                pupil=application.pupil, easting=500 + n, northing=600 + n,
                reason="The drive meets the lane here", set_by=user,
            )
        )
        db.session.add(
            RouteMeasurement(
                application_id=application.id, school=school, kind=MeasurementKind.COMPUTED,
                method=DistanceMethod.WALKING_ROUTE, distance_m=1000 + n, network=network,
                gate=gate, measured_on=year.starts, measured_by=user, measured_via="test",
            )
        )
        db.session.add(
            LetterTemplate(
                kind=LetterKind.DECISION_ELIGIBLE, academic_year=year.label, version=n + 1,
                title="Your decision", body="Dear {{ addressee }}", created_by=user,
            )
        )
        db.session.add(
            Communication(
                kind=LetterKind.DECISION_ELIGIBLE, subject_key=f"walk-{n}",
                academic_year=year.label, pupil=application.pupil, application=application,
                contact=contact, channel=Channel.POST, addressee=contact.name,
                address_used="1 High Street", template_version=0, letter_date=year.starts,
                title="Your decision", body_text="...", pdf=b"%PDF", maker=user,
                made_by=user.username, made_at=now, status=CommunicationStatus.QUEUED,
            )
        )
        db.session.add(
            Job(
                kind="letters", parameters={"year": year.label}, starter=user,
                started_by=user.username,
            )
        )
        _case_work(application, user, n)
    db.session.flush()


def _case_work(application: TransportApplication, user: User, n: int) -> None:
    """Issue 14: a note, a document and its download, and an assignment on the case."""
    from models import CaseAssignment, CaseDocument, CaseDocumentDownload, CaseNote
    from models.case_document import DocumentKind

    db.session.add(
        CaseNote(pupil=application.pupil, application=application, author=user, text=f"Note {n}")
    )
    document = CaseDocument(
        pupil=application.pupil, application=application, kind=DocumentKind.MEDICAL_EVIDENCE,
        filename=f"letter-{n}.pdf", content_type="application/pdf", size_bytes=10,
        sha256=f"{n:064d}", storage_key=f"key-{n}", uploaded_by=user,
    )  # fmt: skip
    db.session.add(document)
    db.session.add(CaseDocumentDownload(document=document, user_id=user.id, username="x"))
    db.session.add(CaseAssignment(application=application, user=user, assigned_by=user))


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    from demo.county import build_county

    url = fresh_database(request, "audit_walk", Path(tmp_path_factory.mktemp("audit_walk")))
    flask_app = make_app(url)
    with flask_app.app_context():
        build_county(seed=7, size="small", password=PASSWORD, today=date(2024, 10, 1))
        year = db.session.scalars(select(AcademicYear).order_by(AcademicYear.starts)).first()
        assert year is not None
        for n in range(2):
            _casework(year, n)
        _casework(year, 2, bare=True)
        _places_and_letters(year)
        db.session.commit()
    yield flask_app
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


# Rows never changed once written (issue 14: a case note is added, never edited);
# test_a_case_note_is_never_moved checks the refusal instead.
APPEND_ONLY = {"CaseNote"}


def _relationships() -> list[tuple[type, str]]:
    found = []
    for mapper in Base.registry.mappers:
        if mapper.class_.__name__ in APPEND_ONLY:
            continue
        for rel in mapper.relationships:
            if not rel.viewonly:
                found.append((mapper.class_, rel.key))
    return sorted(found, key=lambda pair: (pair[0].__name__, pair[1]))


def _key(obj: Any) -> str:
    return ",".join(str(v) for v in inspect(obj).mapper.primary_key_from_instance(obj))


def _trail_for(obj: Any) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(AuditLog)
        .where(AuditLog.table_name == obj.__tablename__, AuditLog.record_id == _key(obj))
        .order_by(AuditLog.id)
    ).all()
    return [row.changes for row in rows]


def _moves(model: type, key: str) -> Iterator[tuple[Any, str, Any, Any]]:
    """(row whose key column changes, the column, old id, new id) for each way to try it."""
    rel = getattr(model, key).property
    targets = db.session.scalars(select(rel.mapper.class_).limit(200)).all()
    if rel.direction is RelationshipDirection.MANYTOONE:
        (local, remote), *_ = rel.local_remote_pairs
        owners = db.session.scalars(select(model).order_by(local.is_(None)).limit(20)).all()
        for owner in owners:
            current = getattr(owner, local.key)
            for target in targets:
                new = getattr(target, remote.key)
                if new != current and target is not owner:
                    yield owner, local.key, (lambda o=owner, t=target: setattr(o, key, t)), new
    else:
        (_local, remote), *_ = rel.local_remote_pairs
        with_children = select(remote).where(remote.isnot(None))
        owners = db.session.scalars(select(model).where(_local.in_(with_children)).limit(20)).all()
        for parent in owners:
            for child in getattr(parent, key):
                for other in db.session.scalars(select(model).limit(6)).all():
                    if other is not parent:
                        yield (
                            child,
                            remote.key,
                            (lambda o=other, c=child: getattr(o, key).append(c)),
                            getattr(other, _local.key),
                        )


@pytest.mark.parametrize(
    ("model", "key"), _relationships(), ids=lambda v: getattr(v, "__name__", v)
)
def test_a_relationship_change_is_audited_with_its_key(world: Flask, model: type, key: str) -> None:
    with world.app_context():
        tried = 0
        for row, column, change, new in _moves(model, key):
            tried += 1
            if tried > 80:
                break
            old = getattr(row, column)
            savepoint = db.session.begin_nested()
            try:
                change()
                db.session.flush()
            except DBAPIError:  # this pairing breaks a rule of the schema; try another
                savepoint.rollback()
                continue
            changes = _trail_for(row)
            savepoint.rollback()
            assert changes, f"{model.__name__}.{key}: no audit row for {row!r}"
            assert changes[-1].get(column) == [old, new], changes[-1]
            db.session.rollback()
            return
        db.session.rollback()
        pytest.fail(f"{model.__name__}.{key}: the county has no rows to move ({tried} tried)")


def test_an_application_moved_to_another_school_names_both(app_ctx: Flask) -> None:
    from tests import factories

    factories.academic_year("2031/32", with_calendar=False)
    first, second = factories.school(), factories.school()
    application = factories.transport_application(
        factories.pupil(), first, academic_year="2031/32", received_on=date(2031, 6, 1)
    )
    db.session.commit()
    application.school = second
    db.session.commit()
    (row,) = [
        r
        for r in db.session.scalars(
            select(AuditLog).where(AuditLog.table_name == "transport_application")
        )
        if r.action.value == "update"
    ]
    assert row.changes == {"school_id": [first.id, second.id]}


def test_a_case_note_is_never_moved(world: Flask) -> None:
    """A note cannot be re-pointed at another child, case or author: refused, unwritten."""
    from models import CaseNote, Pupil
    from models.case_note import NoteIsFinal

    with world.app_context():
        note = db.session.scalars(select(CaseNote).limit(1)).one()
        other = db.session.scalars(select(Pupil).where(Pupil.id != note.pupil_id).limit(1)).one()
        note.pupil = other
        with pytest.raises(NoteIsFinal):
            db.session.flush()
        db.session.rollback()
