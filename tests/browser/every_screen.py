"""A database with at least one row on every screen, and a way to find every page type.

The accessibility tests walk the panel the way staff do: from the home page and each
registered screen's list, following the links the pages themselves offer. So a screen another
change adds later is walked (and checked) without editing the tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask

from models import (
    Appeal,
    ConcessionarySeat,
    Contribution,
    Instalment,
    LowIncomeEvidence,
    Payment,
    Refund,
    TermDateVariation,
    User,
    UserRole,
    Withdrawal,
    db,
)
from models.enums import (
    AppealStage,
    ConcessionaryStatus,
    ContributionKind,
    Outcome,
    PaymentPlan,
    Role,
    SeatStatus,
    Sessions,
    WithdrawalKind,
)
from services.policy import ensure_parameter_set
from tests import factories

YEAR = "2024/25"


def seed_every_screen(password_hash: str) -> None:
    """One account per role, and a record for each list, details and edit page."""
    for role in Role:
        user = User(
            username=role.value, full_name=f"Test {role.value}", password_hash=password_hash
        )
        user.role_rows = [UserRole(role=role)]
        db.session.add(user)
    factories.academic_year(YEAR)
    factories.academic_year("2025/26", with_calendar=False)
    factories.contribution_setting(YEAR)
    ensure_parameter_set(YEAR)
    alpha = factories.school(name="Alpha School")
    beta = factories.school(name="Beta School")
    parish = factories.parish()
    postcode = factories.postcode("LN2 2BB", parish)
    factories.dta(alpha, parishes=[parish], postcodes=[postcode])
    route = factories.route([alpha, beta], code="R1", seats=10)
    pupil, other = factories.pupil(), factories.pupil()
    application = factories.transport_application(pupil, alpha, route=route)
    refused = factories.transport_application(other, beta)
    factories.decision(application)
    decision = factories.decision(refused, outcome=Outcome.NOT_ELIGIBLE, basis="A3")
    db.session.add(
        Appeal(
            decision=decision,
            stage=AppealStage.REVIEW,
            received_on=date(2024, 7, 1),
            request_deadline=date(2024, 7, 20),
            decision_due=date(2024, 7, 29),
            grounds="The walking route is unsafe.",
        )
    )
    db.session.add(
        LowIncomeEvidence(
            pupil=pupil,
            academic_year=YEAR,
            evidence="Universal Credit",
            verified_on=date(2024, 9, 1),
        )
    )
    seat_application = factories.concessionary_application(
        other, beta, route, status=ConcessionaryStatus.ALLOCATED
    )
    factories.concessionary_application(pupil, beta, route)
    seat = ConcessionarySeat(
        application=seat_application,
        route=route,
        sessions=Sessions.BOTH,
        start_date=date(2024, 9, 4),
        end_date=date(2025, 7, 22),
        status=SeatStatus.WITHDRAWN,
    )
    db.session.add(seat)
    db.session.flush()
    contribution = Contribution(
        kind=ContributionKind.CONCESSIONARY,
        pupil=other,
        academic_year=YEAR,
        concessionary_seat=seat,
        annual_amount=Decimal("456.00"),
        amount=Decimal("456.00"),
        start_date=date(2024, 9, 4),
        plan=PaymentPlan.THREE,
    )
    contribution.instalments = [
        Instalment(number=n, due_on=due, amount=Decimal("152.00"))
        for n, due in ((1, date(2024, 9, 1)), (2, date(2025, 1, 1)), (3, date(2025, 4, 1)))
    ]
    db.session.add(contribution)
    db.session.flush()
    withdrawal = Withdrawal(
        kind=WithdrawalKind.CONCESSIONARY_SEAT,
        concessionary_seat=seat,
        clause="Appendix F",
        reason="needed for an entitled child",
        notice_on=date(2025, 1, 3),
        effective_on=date(2025, 1, 10),
        refund_amount=Decimal("20.00"),
        family_told_of_appeal=True,
    )
    db.session.add_all(
        [
            Payment(
                contribution=contribution,
                instalment=contribution.instalments[0],
                received_on=date(2024, 9, 20),
                amount=Decimal("152.00"),
                method="card",
            ),
            withdrawal,
            Refund(
                contribution=contribution,
                amount=Decimal("20.00"),
                reason="seat withdrawn",
                due_on=date(2025, 2, 1),
            ),
            TermDateVariation(
                school=alpha, academic_year="2025/26", notice_on=date(2024, 6, 1), details="INSET"
            ),
        ]
    )
    db.session.commit()
    _letters_and_jobs()


def _letters_and_jobs() -> None:
    """Issue 13: the letters the records above call for, a template version, a download and
    a job, for the communications, templates, downloads and jobs screens."""
    from models import Job, LetterDownload
    from models.enums import LetterKind
    from services.letters.owed import make_letters
    from services.letters.templates import save_wording

    save_wording(db.session, LetterKind.DECISION_ELIGIBLE, YEAR, "Decision", "Dear you", None)
    db.session.commit()
    make_letters(db.session, YEAR, tuple(LetterKind), on=date(2025, 2, 3))
    db.session.add(LetterDownload(what="letter 1", communication_ids=[1], username="officer"))
    db.session.add(Job(kind="letters", parameters={"year": YEAR}, started_by="assistant"))
    db.session.commit()


# Endpoints that answer with a file, a fragment or a redirect rather than a page.
NOT_PAGES = {
    "export",
    "ajax_lookup",
    "ajax_update",
    "count",
    "delete_view",
    "action_view",
    "download_document",
    "pdf",  # a letter's PDF (issue 13)
}


def page_endpoint(app: Flask, url: str) -> str | None:
    """The endpoint a panel link leads to, or None when it is not a page to check."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("", "http") or not parts.path.startswith("/admin"):
        return None
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _args = adapter.match(parts.path, method="GET")
    except Exception:  # noqa: BLE001 - not a GET page of the panel (POST-only, or unknown)
        return None
    if endpoint.rsplit(".", 1)[-1] in NOT_PAGES or endpoint.endswith(".static"):
        return None
    return str(endpoint)


def start_pages(app: Flask) -> list[str]:
    """The home page and every registered screen's own URL."""
    admin: Any = app.extensions["admin"][0]
    return ["/admin/"] + [view.url.rstrip("/") + "/" for view in admin._views]


@contextmanager
def every_screen_panel(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[tuple[Flask, Any]]:
    """A live panel (real CSP, CSRF on) over a fresh database seeded by `seed_every_screen`."""
    from auth.passwords import hash_password
    from models import db
    from tests.browser.conftest import LiveServer
    from tests.conftest import PASSWORD, fresh_database, make_app

    url = fresh_database(request, name, tmp_path_factory.mktemp(f"{name}-db"))
    flask_app = make_app(
        url, TESTING=False, WTF_CSRF_ENABLED=True, SERVER_NAME=None, SECRET_KEY="axe-secret"
    )
    with flask_app.app_context():
        seed_every_screen(hash_password(PASSWORD))
        db.session.remove()
    server = LiveServer(flask_app).start()
    try:
        yield flask_app, server
    finally:
        server.stop()
        with flask_app.app_context():
            db.session.remove()
            db.engine.dispose()
