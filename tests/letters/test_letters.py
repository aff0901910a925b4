"""Decision letters (B1i, A1c, Appendix C): what they say, that they are made once, and the
PDF and template machinery behind them."""

from __future__ import annotations

import io
import os
import stat
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import func, select

from models import Communication, LetterDownload, db
from models.enums import Channel, CommunicationStatus, LetterKind, Outcome
from services.letters.kinds import kinds_of
from services.letters.owed import make_letters
from services.letters.templates import LetterTemplateError, current_wording, save_wording
from services.policy import ensure_parameter_set
from tests import factories as f

from .conftest import REFUSAL_REASONS, make_case

DECISIONS = kinds_of("decision")
# A Friday before Christmas: 20 working days skip 25, 26 December and 1 January (bank
# holidays in England) and the weekends, landing on Wednesday 22 January 2025.
LETTER_DATE = date(2024, 12, 20)


def letters() -> list[Communication]:
    return list(db.session.scalars(select(Communication).order_by(Communication.id)))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_refusal_letter_gives_reasons_clauses_review_right_and_last_date(year: str) -> None:
    case = make_case(Outcome.NOT_ELIGIBLE)
    db.session.commit()
    report = make_letters(db.session, year, DECISIONS, on=LETTER_DATE)
    assert report.made == 1 and report.by_kind == {"decision_not_eligible": 1}
    [letter] = letters()
    assert letter.kind is LetterKind.DECISION_NOT_ELIGIBLE
    assert letter.application_id == case.application.id and letter.channel is Channel.POST
    assert letter.addressee == "Ann Łukasz" and letter.template_version == 0
    for text in (letter.body_text, pdf_text(letter.pdf)):
        flat = " ".join(text.split())
        assert case.application.reference in flat  # the TRA number (Appendix C)
        assert "Zoë Łukasz" in flat and "Fenwick Academy" in flat
        assert "is not eligible" in flat
        assert all(reason in flat for reason in REFUSAL_REASONS)
        assert "by 22 January 2025" in flat  # 20 working days, bank holidays skipped
        assert "A3, A2" in flat


def test_the_review_deadline_comes_from_the_years_dated_parameters(year: str) -> None:
    make_case(Outcome.NOT_ELIGIBLE)
    ensure_parameter_set(year).review_request_working_days = 10
    db.session.commit()
    make_letters(db.session, year, DECISIONS, on=LETTER_DATE)
    [letter] = letters()
    assert "within 10 working days" in letter.body_text
    assert "by 8 January 2025" in letter.body_text


def test_an_eligible_letter_names_school_and_validity(year: str) -> None:
    case = make_case(Outcome.ELIGIBLE)
    db.session.commit()
    make_letters(db.session, year, DECISIONS, on=LETTER_DATE)
    [letter] = letters()
    assert letter.kind is LetterKind.DECISION_ELIGIBLE
    assert "is eligible for transport to Fenwick Academy until 31 July 2025" in " ".join(
        letter.body_text.split()
    )
    assert case.application.reference in letter.body_text
    assert "right to ask for a review" not in letter.body_text


def test_letters_owed_are_made_once_and_a_superseded_decisions_unsent_letter_is_cancelled(
    year: str,
) -> None:
    case = make_case(Outcome.NOT_ELIGIBLE)
    db.session.commit()
    assert make_letters(db.session, year, DECISIONS, on=LETTER_DATE).made == 1
    assert make_letters(db.session, year, DECISIONS, on=LETTER_DATE).made == 0

    # Re-assessed: the old decision is superseded, a new one is current.
    case.decision.superseded_at = datetime.now(UTC)
    db.session.flush()
    f.decision(case.application, outcome=Outcome.ELIGIBLE, valid_until=date(2025, 7, 31))
    db.session.commit()
    report = make_letters(db.session, year, DECISIONS, on=LETTER_DATE)
    assert (report.made, report.cancelled) == (1, 1)
    old, new = letters()
    assert old.status is CommunicationStatus.CANCELLED and "changed" in old.status_note
    assert new.kind is LetterKind.DECISION_ELIGIBLE and new.status is CommunicationStatus.QUEUED
    assert make_letters(db.session, year, DECISIONS, on=LETTER_DATE).made == 0


def test_a_sent_letter_is_never_cancelled(year: str) -> None:
    case = make_case(Outcome.NOT_ELIGIBLE)
    db.session.commit()
    make_letters(db.session, year, DECISIONS, on=LETTER_DATE)
    [letter] = letters()
    letter.status = CommunicationStatus.PRINTED
    case.decision.superseded_at = datetime.now(UTC)
    db.session.commit()
    assert make_letters(db.session, year, DECISIONS, on=LETTER_DATE).cancelled == 0
    assert letters()[0].status is CommunicationStatus.PRINTED


def test_the_pdf_is_a4_with_title_language_and_real_text(year: str) -> None:
    make_case(Outcome.NOT_ELIGIBLE)
    db.session.commit()
    make_letters(db.session, year, DECISIONS, on=LETTER_DATE)
    reader = PdfReader(io.BytesIO(letters()[0].pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    assert reader.metadata.title == "Home to school transport for Zoë Łukasz: not eligible"
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    assert "20 December 2024" in reader.pages[0].extract_text()


def _embedded_fonts(reader: PdfReader) -> dict[str, bytes]:
    """Each embedded TrueType font of the letter's first page, by name."""
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = {}
    for ref in fonts.values():
        font = ref.get_object()
        descriptor = font.get("/FontDescriptor")
        if descriptor is not None and "/FontFile2" in descriptor.get_object():
            embedded[font["/BaseFont"]] = descriptor.get_object()["/FontFile2"].get_data()
    return embedded


def _table_tags(font_file: bytes) -> set[str]:
    count = int.from_bytes(font_file[4:6], "big")
    return {font_file[12 + 16 * i : 16 + 16 * i].decode("latin-1") for i in range(count)}


def test_the_pdf_embeds_its_fonts_without_hinting_and_stays_small(year: str) -> None:
    """A letter was 44 KiB, 35 of them the fonts' hinting and DejaVu's licence text copied
    into every letter (about 1 GB a year at 25,000 letters): they are taken out, the fonts
    stay embedded and the text stays real text."""
    make_case(Outcome.NOT_ELIGIBLE)
    db.session.commit()
    make_letters(db.session, year, DECISIONS, on=LETTER_DATE)
    pdf = letters()[0].pdf
    reader = PdfReader(io.BytesIO(pdf))
    fonts = _embedded_fonts(reader)
    assert {name.split("+")[1] for name in fonts} == {"DejaVuSans", "DejaVuSans-Bold"}
    for font_file in fonts.values():
        assert not _table_tags(font_file) & {"fpgm", "prep", "cvt "}  # no hinting
        assert len(font_file) < 12_000
    assert len(pdf) < 24 * 1024
    assert "Zoë Łukasz" in pdf_text(pdf)


def test_an_email_contact_gets_an_email_letter(year: str) -> None:
    make_case(Outcome.NOT_ELIGIBLE, email="ann@example.com")
    db.session.commit()
    make_letters(db.session, year, DECISIONS, on=LETTER_DATE)
    [letter] = letters()
    assert letter.channel is Channel.EMAIL and letter.address_used == "ann@example.com"


def test_a_saved_template_is_a_new_version_recorded_on_each_letter(year: str) -> None:
    make_case(Outcome.NOT_ELIGIBLE)
    save_wording(
        db.session,
        LetterKind.DECISION_NOT_ELIGIBLE,
        year,
        "Decision on {{ application.reference }}",
        "Dear {{ recipient.name }},\n\nAsk by {{ review.last_date | long_date }}.",
        None,
    )
    second = save_wording(
        db.session,
        LetterKind.DECISION_NOT_ELIGIBLE,
        year,
        "Decision on {{ application.reference }}",
        "Dear {{ recipient.name }},\n\nAsk for a review by {{ review.last_date | long_date }}.",
        None,
    )
    db.session.commit()
    assert second.version == 2
    assert current_wording(db.session, LetterKind.DECISION_NOT_ELIGIBLE, "2024/25").version == 2
    make_letters(db.session, year, DECISIONS, on=LETTER_DATE)
    [letter] = letters()
    assert (letter.template_id, letter.template_version) == (second.id, 2)
    assert "Ask for a review by 22 January 2025." in letter.body_text


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",  # the sandbox refuses internals
        "{{ child.shoe_size }}",  # a field the case does not have: an error, not a blank
    ],
)
def test_unsafe_or_misspelt_wording_is_refused_not_sent(year: str, body: str) -> None:
    make_case(Outcome.NOT_ELIGIBLE)
    save_wording(db.session, LetterKind.DECISION_NOT_ELIGIBLE, year, "T", body, None)
    db.session.commit()
    with pytest.raises(LetterTemplateError):
        make_letters(db.session, year, DECISIONS, on=LETTER_DATE)
    assert db.session.scalar(select(func.count(Communication.id))) == 0


def test_wording_that_does_not_compile_is_refused_on_save(year: str) -> None:
    with pytest.raises(LetterTemplateError, match="body"):
        save_wording(db.session, LetterKind.DECISION_ELIGIBLE, year, "T", "{% for %}", None)


def test_flask_letters_run_and_print(app: Flask, year: str, tmp_path) -> None:
    make_case(Outcome.NOT_ELIGIBLE)
    make_case(Outcome.ELIGIBLE)
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["letters", "run", "--year", year, "--kind", "decision"])
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("2 letters made")
    again = runner.invoke(args=["letters", "run", "--year", year, "--kind", "decision"])
    assert again.stdout.startswith("0 letters made")
    assert "Log-only" in again.stderr
    out = tmp_path / "batch.pdf"
    old_umask = os.umask(0o022)
    try:
        printed = runner.invoke(
            args=["letters", "print", "--year", year, "--kind", "decision", "--out", str(out)]
        )
    finally:
        os.umask(old_umask)
    assert printed.exit_code == 0, printed.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # the letters hold personal data
    reader = PdfReader(out)
    assert len(reader.pages) == 2 and "is not eligible" in pdf_text(out.read_bytes())
    assert {c.status for c in letters()} == {CommunicationStatus.PRINTED}
    [download] = db.session.scalars(select(LetterDownload)).all()  # the batch is audited
    assert download.username == "flask letters print"
    assert sorted(download.communication_ids) == sorted(c.id for c in letters())
    bad = runner.invoke(args=["letters", "run", "--year", year, "--kind", "postcards"])
    assert bad.exit_code == 2 and "--kind" in bad.stderr
    assert runner.invoke(args=["letters", "run", "--year", "2031/32"]).exit_code == 2


def test_a_large_chunk_is_drawn_by_several_processes_with_the_same_pdfs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.letters import render
    from services.letters.council import council_details

    orders = [
        render.PdfOrder(
            title=f"Letter {n} for Zoë Łukasz",
            body=f"Dear Ann,\n\n# Our decision\n* Reason {n} (A3).\n\nYours sincerely,",
            council=council_details(),
            addressee="Ann Łukasz",
            address=("1 High Street", "LN1 1AA"),
            date_line="20 December 2024",
            reference=f"TRA{n:07d}",
            subject="Decision: not eligible",
        )
        for n in range(render.PARALLEL_FROM + 6)
    ]
    monkeypatch.setenv("LETTER_RENDER_PROCESSES", "2")
    drawn = render.render_many(orders)
    assert render._pool is not None  # the pool drew them
    monkeypatch.setenv("LETTER_RENDER_PROCESSES", "1")
    assert drawn == render.render_many(orders)  # byte for byte, in order
    assert f"Letter {render.PARALLEL_FROM + 5} for Zoë" in pdf_text(drawn[-1])


def test_the_home_pages_failed_and_unsent_letters_open_their_lists(
    app_ctx: Flask, year: str, users: dict[str, int]
) -> None:
    """Issue 14: each count on the home page links to the list behind it, with the same rows."""
    from tests.conftest import sign_in
    from tests.test_home import _rows, _tiles

    for _ in range(3):
        make_case()
    db.session.commit()
    make_letters(db.session, year, DECISIONS, on=LETTER_DATE)
    failed = db.session.scalars(select(Communication).order_by(Communication.id)).first()
    assert failed is not None
    failed.status = CommunicationStatus.FAILED
    db.session.commit()
    client = app_ctx.test_client()
    sign_in(client, "assistant")
    tiles = _tiles(client)
    for key, count in (("letters_failed", 1), ("letters_queued", 2)):
        shown, href = tiles[key]
        assert shown == count and href is not None, key
        assert _rows(client, href) == count, key
