"""Issue 13's benchmark: the year's decision letters end to end, and the renderer measured.

* **end to end**: `services.letters.owed.make_letters` for the decision family over the
  county's current decisions (every letter's context from its case and the year's dated
  parameters, its wording rendered in the sandbox, its PDF drawn, every row committed in
  chunks), as `flask letters run --kind decision` does, on a database holding none yet;
* **renderer**: the same letters, a sample of them, drawn again by ReportLab (the panel's
  renderer) and, in the same run, by WeasyPrint (the renderer GOV.UK Notify's own letters
  use) from the equivalent HTML: A4, the same font, the same blocks. Per letter, wall clock
  and this process's CPU time (2 cores shared with other work inflate the wall clock).

WeasyPrint needs Debian's Pango (libpango-1.0-0); without it, that row says so.
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench import county as county_mod
from bench.measures import Figure, Unavailable

SAMPLE = 200


def _ensure_decisions(app: Any, user_id: int) -> int:
    """The county's decisions, made first (untimed) when the assessment step did not run."""
    from models import EligibilityDecision, TransportApplication, db
    from services.assessment import assess_applications

    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(EligibilityDecision)
            .where(EligibilityDecision.superseded_at.is_(None))
        )
        if not count:
            assess_applications(
                where=TransportApplication.academic_year == county_mod.YEAR,
                user_id=user_id,
                session=db.session,
            )
            count = db.session.scalar(select(func.count()).select_from(EligibilityDecision))
        db.session.remove()
    return int(count or 0)


def _pool_cpu() -> float:
    """CPU seconds used so far by the letter-drawing processes (Linux /proc)."""
    import os

    from services.letters import render

    pool = render._pool
    if pool is None:
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in list(getattr(pool, "_processes", {}) or {}):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def end_to_end(app: Any, user_id: int) -> Figure:
    from models import Communication, db
    from services.audit import acting_user
    from services.letters.kinds import kinds_of
    from services.letters.owed import make_letters

    decisions = _ensure_decisions(app, user_id)
    with app.app_context(), acting_user("bench", user_id):
        start, cpu, drawing = time.perf_counter(), time.process_time(), _pool_cpu()
        report = make_letters(db.session, county_mod.YEAR, kinds_of("decision"))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        drawing = _pool_cpu() - drawing
        size = db.session.scalar(select(func.avg(func.length(Communication.pdf))))
        db.session.remove()
    made = report.made
    if not made:
        raise Unavailable(f"no decision letters were owed ({decisions} decisions)")
    kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(report.by_kind.items()))
    return Figure(
        elapsed,
        "s",
        f"{made:,} letters ({kinds}): {elapsed / made * 1000:.1f} ms/letter; cpu "
        f"{cpu / made * 1000:.1f} ms/letter here + {drawing / made * 1000:.1f} ms/letter in "
        f"the drawing processes; PDF {float(size or 0) / 1024:.0f} KiB average",
        cpu=cpu,
        extra={"made": made},
    )


def _sample(app: Any) -> list[dict[str, Any]]:
    from models import Communication, db
    from models.enums import LetterKind

    with app.app_context():
        rows = db.session.execute(
            select(
                Communication.title,
                Communication.body_text,
                Communication.addressee,
                Communication.address_used,
                Communication.channel,
                Communication.letter_date,
                Communication.kind,
            )
            .where(
                Communication.kind.in_(
                    [LetterKind.DECISION_NOT_ELIGIBLE, LetterKind.DECISION_ELIGIBLE]
                )
            )
            .order_by(Communication.id)
            .limit(SAMPLE)
        ).all()
        db.session.remove()
    if not rows:
        raise Unavailable("no decision letters to render (run the letters step)")
    return [
        {
            "title": r.title,
            "body": r.body_text,
            "addressee": r.addressee,
            "address": r.address_used.splitlines() if r.channel.value == "post" else [],
            "date": r.letter_date,
            "reference": "TRA",
            "kind": r.kind,
        }
        for r in rows
    ]


def _timed(fn: Any, letters: list[dict[str, Any]]) -> tuple[float, float, int]:
    fn(letters[0])  # warm-up: fonts loaded, caches filled
    start, cpu = time.perf_counter(), time.process_time()
    size = 0
    for letter in letters:
        size += len(fn(letter))
    n = len(letters)
    return (time.perf_counter() - start) / n, (time.process_time() - cpu) / n, size // n


def reportlab(app: Any) -> Figure:
    from services.letters.council import council_details
    from services.letters.kinds import LABELS
    from services.letters.render import letter_pdf
    from services.letters.templates import long_date

    council = council_details()
    letters = _sample(app)

    def draw(letter: dict[str, Any]) -> bytes:
        return letter_pdf(
            title=letter["title"],
            body=letter["body"],
            council=council,
            addressee=letter["addressee"],
            address=letter["address"],
            date_line=long_date(letter["date"]),
            reference=letter["reference"],
            subject=LABELS[letter["kind"]],
        )

    wall, cpu, size = _timed(draw, letters)
    return Figure(
        wall * 1000,
        "ms",
        f"cpu {cpu * 1000:.1f} ms; {len(letters)} letters; {size / 1024:.0f} KiB each",
        cpu=cpu * 1000,
    )


def letter_html(letter: dict[str, Any], council: Any) -> str:
    """The same letter as HTML for WeasyPrint: the same blocks, font and page."""
    from services.letters.render import blocks
    from services.letters.templates import long_date

    e = html.escape
    parts = []
    for block in blocks(letter["body"]):
        if block.kind == "heading":
            parts.append(f"<h2>{e(block.lines[0])}</h2>")
        elif block.kind == "bullet":
            parts.append(f"<ul><li>{e(block.lines[0])}</li></ul>")
        else:
            parts.append("<p>" + "<br>".join(e(line) for line in block.lines) + "</p>")
    council_lines = [council.name, council.team, *council.address, council.phone, council.email]
    return (
        f'<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{e(letter['title'])}</title><style>"
        "@page { size: A4; margin: 20mm; }"
        "body { font-family: 'DejaVu Sans', sans-serif; font-size: 11pt; line-height: 1.35; }"
        ".council { float: right; text-align: right; font-size: 9pt; }"
        ".council b { font-size: 10pt; } .to { margin-top: 45mm; }"
        "h1 { font-size: 14pt; } h2 { font-size: 12pt; margin: 3mm 0 0; }"
        "ul { margin: 0; padding-left: 7mm; } p { margin: 2mm 0 0; }"
        "</style></head><body>"
        '<div class="council"><b>'
        + "</b><br>".join([e(council_lines[0]), *map(e, council_lines[1:])])
        + '</div><div class="to">'
        + "<br>".join(e(x) for x in [letter["addressee"], *letter["address"]])
        + f"</div><p>{e(long_date(letter['date']))}<br>Our reference: "
        f"{e(letter['reference'])}</p><h1>{e(letter['title'])}</h1>"
        + "".join(parts)
        + "</body></html>"
    )


def weasyprint(app: Any) -> Figure:
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as error:  # OSError: Pango missing
        raise Unavailable(f"WeasyPrint not usable ({type(error).__name__}: {error})") from error
    from services.letters.council import council_details

    council = council_details()
    letters = _sample(app)

    def draw(letter: dict[str, Any]) -> bytes:
        return HTML(string=letter_html(letter, council)).write_pdf()

    wall, cpu, size = _timed(draw, letters)
    return Figure(
        wall * 1000,
        "ms",
        f"cpu {cpu * 1000:.1f} ms; {len(letters)} letters; {size / 1024:.0f} KiB each",
        cpu=cpu * 1000,
    )


START, END = "<!-- letters:start -->", "<!-- letters:end -->"


def write_section(results: Any, table: str, heading: str) -> None:
    """Put this run's letters rows in bench/RESULTS.md's own section (between markers),
    leaving the whole-run table and the other sections as they are."""
    text = results.read_text() if results.exists() else "# Benchmark results\n"
    section = f"{START}\n{heading}\n\n{table.strip()}\n{END}"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    results.write_text(text)
