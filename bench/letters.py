"""`python -m bench.letters`: decision letters for a whole year, end to end (issue 13).

The benchmark county (25,000 applications) on SQLite, assessed, then `make_letters` for the
year's decision letters: what `flask letters run --kind decision` does (owed letters found,
each case read, the wording rendered from its template, the PDF drawn with ReportLab, every
row stored with its PDF, a chunk per transaction). Beside it, in the same run, the same
letters' text through WeasyPrint (the HTML renderer GOV.UK Notify's letters use) and through
ReportLab alone, so the renderer is a measured choice. The section between the letters markers
in bench/RESULTS.md is replaced.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.sections import write_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
TARGET_S = 300.0  # issue 13: 25,000 letters in at most 5 minutes on 2 cores


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _html(title: str, body: str) -> str:
    """The letter as the HTML a WeasyPrint letter would start from: same blocks, A4."""
    from services.letters.render import blocks

    parts = [
        "<!doctype html><html lang='en-GB'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>@page {{ size: A4; margin: 20mm }} "
        "body { font-family: 'DejaVu Sans', sans-serif; font-size: 11pt }</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    bullets: list[str] = []
    for block in blocks(body):
        if block.kind == "bullet":
            bullets.append(f"<li>{html.escape(block.lines[0])}</li>")
            continue
        if bullets:
            parts.append("<ul>" + "".join(bullets) + "</ul>")
            bullets = []
        text = html.escape(" ".join(block.lines))
        parts.append(f"<h2>{text}</h2>" if block.kind == "heading" else f"<p>{text}</p>")
    if bullets:
        parts.append("<ul>" + "".join(bullets) + "</ul>")
    return "".join(parts) + "</body></html>"


def run(count: int | None, sample: int, workdir: Path) -> dict[str, Any]:
    from sqlalchemy import func, select, text

    from bench import county as county_mod
    from bench.run import build_county, make_app, migrate
    from models import Communication, TransportApplication, db
    from services.assessment import assess_applications
    from services.audit import acting_user
    from services.letters.council import council_details
    from services.letters.kinds import kinds_of
    from services.letters.owed import make_letters
    from services.letters.render import letter_pdf

    path = workdir / "letters.db"
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    migrate(url)
    app = make_app(url)
    size = county_mod.SIZES["full"]
    if count is not None:
        size = dataclasses.replace(size, transport_applications=count)
    build_county(app, size, 7)
    with app.app_context():
        user_id = db.session.execute(
            text("SELECT id FROM user_account WHERE username = 'supervisor'")
        ).scalar_one()
        assess_applications(
            where=TransportApplication.academic_year == county_mod.YEAR,
            user_id=user_id,
            session=db.session,
        )
        db.session.commit()
        with acting_user("supervisor", user_id):
            start, cpu = time.perf_counter(), time.process_time()
            report = make_letters(db.session, county_mod.YEAR, kinds_of("decision"))
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            start = time.perf_counter()
            again = make_letters(db.session, county_mod.YEAR, kinds_of("decision"))
            rerun = time.perf_counter() - start
        stored = db.session.scalar(select(func.sum(func.length(Communication.pdf))))
        letters = db.session.execute(
            select(Communication.title, Communication.body_text, Communication.subject_key)
            .order_by(Communication.id)
            .limit(sample)
        ).all()
    council = council_details()
    start, cpu0 = time.perf_counter(), time.process_time()
    for row in letters:
        letter_pdf(
            title=row.title, body=row.body_text, council=council, addressee="A Parent",
            address=("1 High Street", "Lincoln", "LN1 1AA"), date_line="2 December 2026",
            reference=row.subject_key, subject=row.title,
        )  # fmt: skip
    reportlab_each = (time.perf_counter() - start) / max(1, len(letters))
    reportlab_cpu = (time.process_time() - cpu0) / max(1, len(letters))
    weasy_cpu: float | None = None
    weasy_each: float | str
    try:
        from weasyprint import HTML

        HTML(string=_html("warm-up", "warm-up")).write_pdf()
        start, cpu0 = time.perf_counter(), time.process_time()
        for row in letters:
            HTML(string=_html(row.title, row.body_text)).write_pdf()
        weasy_each = (time.perf_counter() - start) / max(1, len(letters))
        weasy_cpu = (time.process_time() - cpu0) / max(1, len(letters))
    except (ImportError, OSError) as error:  # WeasyPrint needs Debian's Pango
        weasy_each = f"not available: {error}"
    return {
        "made": report.made,
        "wall": wall,
        "cpu": cpu,
        "again": again.made,
        "rerun": rerun,
        "stored_mb": (stored or 0) / 1e6,
        "sample": len(letters),
        "reportlab_each": reportlab_each,
        "weasy_each": weasy_each,
        "reportlab_cpu": reportlab_cpu,
        "weasy_cpu": weasy_cpu,
        "peak_mb": _peak_mb(),
    }


def render(result: dict[str, Any], command: str) -> str:
    made, wall = result["made"], result["wall"]
    each = wall / made * 1000 if made else float("nan")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    weasy = result["weasy_each"]
    weasy_cell = f"{weasy * 1000:.1f} ms" if isinstance(weasy, float) else weasy
    rl = result["reportlab_each"] * 1000
    ratio = f" ({weasy * 1000 / rl:.0f}× ReportLab's)" if isinstance(weasy, float) and rl else ""
    whole = f"{weasy * made / 60:.0f} min" if isinstance(weasy, float) else "—"
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    wc = result["weasy_cpu"]
    weasy_cpu = f" (CPU {wc * 1000:.1f} ms)" if wc is not None else ""
    verdict = "met" if made and wall <= TARGET_S * made / 25_000 else "**missed**"
    return "\n".join(
        [
            "## Issue 13: decision letters for a whole year (SQLite)",
            "",
            f"`{command}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}, "
            f"{os.cpu_count()} cores (load average after the run {load}); peak memory "
            f"{result['peak_mb']:.0f} MB.",
            "",
            "| What | Figure | Target | Verdict |",
            "| --- | --- | --- | --- |",
            f"| `make_letters` for the year's decision letters, end to end (owed letters found, "
            f"cases read, wording rendered, ReportLab PDF, rows stored) | {made:,} letters in "
            f"{wall:.1f} s ({each:.2f} ms a letter; CPU {result['cpu']:.1f} s); "
            f"{result['stored_mb']:.0f} MB of PDF stored | ≤ 300 s for 25,000 | {verdict} |",
            f"| Run again (idempotent) | {result['again']} letters made in "
            f"{result['rerun']:.1f} s | makes none | "
            f"{'met' if result['again'] == 0 else '**missed**'} |",
            f"| ReportLab alone, the same letters' text ({result['sample']} letters) | "
            f"{rl:.2f} ms a letter (CPU {result['reportlab_cpu'] * 1000:.2f} ms) | — | — |",
            f"| WeasyPrint, the same letters' text as HTML ({result['sample']} letters) | "
            f"{weasy_cell} a letter{ratio}{weasy_cpu}; {whole} for the year | — | — |",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.letters", description=__doc__)
    parser.add_argument("--applications", type=int, help="default: the full county's 25,000")
    parser.add_argument("--sample", type=int, default=200, help="letters per renderer")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    workdir = ROOT / "bench" / "out" / f"letters-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)
    command = "python -m bench.letters" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:])
    )
    result = run(args.applications, args.sample, workdir)
    section = render(result, command)
    print(section)
    write_section("letters", section, args.out)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
