"""Money a person can reconcile (issue 14): every money list names the child and the
application reference, links to the child's case, is searchable by them and exports them."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from auth.passwords import hash_password
from models import ConcessionaryApplication, Contribution, Pupil, db
from tests.browser.every_screen import seed_every_screen
from tests.conftest import PASSWORD, sign_in

MONEY_LISTS = ("contribution", "instalment", "payment", "refund", "withdrawal")


@pytest.fixture
def money(app: Flask) -> dict[str, str]:
    with app.app_context():
        seed_every_screen(hash_password(PASSWORD))
        db.session.commit()
        contribution = db.session.scalars(select(Contribution)).one()
        pupil = db.session.get(Pupil, contribution.pupil_id)
        seat_application = db.session.scalars(
            select(ConcessionaryApplication).where(ConcessionaryApplication.pupil_id == pupil.id)
        ).one()
        return {
            "child": f"{pupil.first_name} {pupil.last_name} ({pupil.reference})",
            "pupil_ref": pupil.reference,
            "pupil_id": str(pupil.id),
            "surname": pupil.last_name,
            "application": seat_application.reference,
        }


@pytest.mark.parametrize("endpoint", MONEY_LISTS)
def test_a_money_list_names_the_child_and_application_and_finds_them(
    app: Flask, money: dict[str, str], endpoint: str
) -> None:
    client = app.test_client()
    sign_in(client, "supervisor")
    page = client.get(f"/admin/{endpoint}/").get_data(as_text=True)
    assert money["child"] in page and money["application"] in page
    assert f"/admin/pupil/details/?id={money['pupil_id']}" in page  # to the child's case
    for term in (money["pupil_ref"], money["surname"], money["application"]):
        found = client.get(f"/admin/{endpoint}/?search={term}").get_data(as_text=True)
        assert found.count('class="col-child"') >= 1, f"{endpoint}: nothing found for {term}"
    none = client.get(f"/admin/{endpoint}/?search=ZZ-NOBODY").get_data(as_text=True)
    assert none.count('class="col-child"') == 0
    export = client.get(f"/admin/{endpoint}/export/csv/").get_data(as_text=True)
    header, first = export.splitlines()[:2]
    # The panel's CSV starts with a byte-order mark, so spreadsheets read it as UTF-8.
    assert header.removeprefix("\ufeff").startswith("Child,Application")
    assert money["child"] in first and money["application"] in first
