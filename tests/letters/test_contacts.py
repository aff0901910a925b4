"""Parents and carers on the pupil (B1i: every applicant is written to): screen and import."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from imports.applications import import_applications
from models import Contact, Pupil, db
from models.enums import Channel
from tests import factories as f
from tests.imports.conftest import csv_bytes

PUPIL_FORM = {
    "reference": "LP0004321",
    "first_name": "Freya",
    "last_name": "Taylor",
    "date_of_birth": "2012-03-14",
    "address": "4 Church Lane",
    "postcode": "LN2 2PE",
    "lives_in_county": "y",
}


def test_contacts_are_kept_inline_on_the_pupil_screen(app: Flask, client_as: Any) -> None:
    client = client_as("assistant")
    form = {
        **PUPIL_FORM,
        "contacts-0-name": "Sam Taylor",
        "contacts-0-relationship_to_child": "mother",
        "contacts-0-parental_responsibility": "y",
        "contacts-0-preferred_channel": "email",
        "contacts-0-email": "sam@example.com",
        "contacts-0-phone": "01522 000000",
        "contacts-0-postal_address": "",
        "contacts-0-postcode": "",
    }
    response = client.post("/admin/pupil/new/", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        pupil = db.session.scalar(select(Pupil))
        [contact] = pupil.contacts
        assert (contact.name, contact.preferred_channel, contact.email) == (
            "Sam Taylor",
            Channel.EMAIL,
            "sam@example.com",
        )
        assert contact.parental_responsibility and contact.postal_address is None
        pupil_id = pupil.id
    page = client.get(f"/admin/pupil/edit/?id={pupil_id}").get_data(as_text=True)
    assert "Parents and carers" in page and "Relationship to the child" in page


def test_an_email_contact_without_an_address_is_a_field_error(app: Flask, client_as: Any) -> None:
    form = {
        **PUPIL_FORM,
        "contacts-0-name": "Sam Taylor",
        "contacts-0-relationship_to_child": "mother",
        "contacts-0-preferred_channel": "email",
        "contacts-0-email": "",
    }
    response = client_as("assistant").post("/admin/pupil/new/", data=form)
    assert response.status_code == 200
    assert "Give an e-mail address to write by e-mail" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Pupil.id))) == 0


HEADER = [
    "application_reference",
    "pupil_reference",
    "first_name",
    "last_name",
    "date_of_birth",
    "address",
    "postcode",
    "academic_year",
    "school_urn",
    "received_on",
    "contact_name",
    "contact_relationship",
    "contact_email",
    "contact_channel",
    "contact_parental_responsibility",
]


def _row(app_ref: str, urn: str, email: str = "ann@example.com") -> list[str]:
    return [
        app_ref, "P000009", "Ava", "Smith", "05/05/2013", "1 High St", "LN1 1AA",
        "2024/25", urn, "01/03/2024", "Ann Smith", "mother", email, "", "yes",
    ]  # fmt: skip


@pytest.fixture
def reference(app_ctx: Flask) -> None:
    f.academic_year("2024/25", with_calendar=False)
    f.school(urn=110001)
    f.school(urn=110002)
    db.session.commit()


def test_the_applications_import_adds_then_updates_contacts_idempotently(reference: None) -> None:
    today = date(2024, 7, 1)
    rows = [_row("TRA0000001", "110001"), _row("TRA0000002", "110002")]
    report = import_applications(csv_bytes(HEADER, rows), "a.csv", today=today)
    assert report.ok and report.committed, report.errors
    assert report.inserted["contacts"] == 1  # two rows, one pupil, one contact
    [contact] = db.session.scalars(select(Contact)).all()
    assert contact.preferred_channel is Channel.EMAIL  # an e-mail given: written to by e-mail
    assert contact.relationship_to_child == "mother" and contact.parental_responsibility

    again = import_applications(csv_bytes(HEADER, rows), "a.csv", today=today)
    assert again.ok and again.unchanged["contacts"] == 1 and not again.inserted["contacts"]

    moved = [_row("TRA0000001", "110001", email="ann@new.example.com")]
    changed = import_applications(csv_bytes(HEADER, moved), "a.csv", today=today)
    assert changed.ok and changed.updated["contacts"] == 1
    db.session.expire_all()
    assert db.session.scalars(select(Contact.email)).all() == ["ann@new.example.com"]


def test_a_bad_contact_cell_names_row_and_column_and_imports_nothing(reference: None) -> None:
    rows = [_row("TRA0000001", "110001", email="not-an-address")]
    report = import_applications(csv_bytes(HEADER, rows), "a.csv", today=date(2024, 7, 1))
    assert not report.ok and not report.committed
    assert [(e.row, e.column) for e in report.errors] == [(2, "contact_email")]
    assert db.session.scalar(select(func.count(Pupil.id))) == 0
