"""A small case for the letter tests, independent of the demo county's year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from flask import Flask

from models import Contact, EligibilityDecision, TransportApplication, db
from models.enums import Channel, Outcome
from tests import factories as f

REFUSAL_REASONS = [
    "The school is not the nearest suitable school (A3).",
    "The route is 2900 m, not more than the 4827 m secondary walking distance (A3).",
]


@dataclass
class Case:
    application: TransportApplication
    decision: EligibilityDecision
    school_name: str
    child_name: str


def make_case(outcome: Outcome = Outcome.NOT_ELIGIBLE, *, email: str | None = None) -> Case:
    school = f.school(name="Fenwick Academy")
    pupil = f.pupil(first_name="Zoë", last_name="Łukasz")
    pupil.contacts = [
        Contact(
            name="Ann Łukasz",
            relationship_to_child="mother",
            email=email,
            preferred_channel=Channel.EMAIL if email else Channel.POST,
        )
    ]
    application = f.transport_application(pupil, school)
    refused = outcome is Outcome.NOT_ELIGIBLE
    decision = f.decision(
        application,
        outcome=outcome,
        basis="A3" if refused else "A3",
        clauses=["A3", "A2"],
        reasons=REFUSAL_REASONS if refused else ["Lives beyond the walking distance (A3)."],
        valid_until=None if refused else date(2025, 7, 31),
    )
    return Case(application, decision, school.name, pupil.name)


@pytest.fixture
def year(app_ctx: Flask) -> str:
    f.academic_year("2024/25", with_calendar=False)
    db.session.commit()
    return "2024/25"


@pytest.fixture
def queue_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The job queue in a SQLite file of the test's own."""
    path = tmp_path / "jobs.db"
    monkeypatch.setenv("JOB_QUEUE_FILE", str(path))
    monkeypatch.delenv("JOB_QUEUE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return path
