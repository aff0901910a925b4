"""The letter as a PDF (A4, real text, title and language) and the print room's batch.

ReportLab's canvas, not an HTML renderer: a decision letter takes a few milliseconds, where
WeasyPrint (the renderer GOV.UK Notify's letters use) takes tens; bench/RESULTS.md has both,
measured in the same run. The text is real text in an embedded DejaVu Sans when Debian's
fonts-dejavu-core is installed (any name prints), else in Helvetica (Latin-1 names only).

The fonts stay embedded (a letter prints and reads the same everywhere, as print rooms and
PDF/UA expect), but ReportLab copies a TrueType font's hinting programs, every glyph's
hinting instructions and its whole name table (DejaVu's carries its licence) into each
letter's subset: about 35 KiB of the 44 KiB a letter took. `lean_font` takes those out once
per process, before ReportLab sees the font, so a letter is about 19 KiB (bench/letters.py).
"""

from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from multiprocessing import get_context
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from .council import Council

LANGUAGE = "en-GB"
_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
MARGIN = 20 * mm
WIDTH, HEIGHT = A4


FontFiles = tuple[bytes, bytes] | None  # (regular, bold) TrueType files, or None: Helvetica
_fonts: tuple[str, str] | None = None


def lean_font(path: Path) -> bytes:
    """The font with every glyph it has, less what a letter never uses: hinting (screens
    and printers draw these sizes well without it), the layout tables ReportLab does not
    read, and all but the names a PDF reader shows (family, style, full and PostScript)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont as FontFile

    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.name_IDs = [1, 2, 3, 4, 6]
    options.name_languages = [0x409]
    options.name_legacy = False
    options.glyph_names = False
    options.notdef_outline = True
    options.drop_tables += ["FFTM", "GDEF", "GSUB", "GPOS"]  # FontForge's stamp; layout
    notes = logging.getLogger("fontTools")  # a line per table and every glyph id, at INFO
    level = notes.level
    notes.setLevel(logging.WARNING)
    try:
        font = FontFile(str(path))
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=font.getBestCmap().keys())
        subsetter.subset(font)
        out = io.BytesIO()
        font.save(out)
    finally:
        notes.setLevel(level)
    return out.getvalue()


@cache
def font_files() -> FontFiles:
    """DejaVu Sans and its bold, made lean, when Debian's fonts-dejavu-core is installed."""
    regular, bold = _DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"
    if regular.exists() and bold.exists():
        return lean_font(regular), lean_font(bold)
    return None


def _register(files: FontFiles) -> tuple[str, str]:
    global _fonts
    if files is None:
        _fonts = ("Helvetica", "Helvetica-Bold")
    else:
        pdfmetrics.registerFont(TTFont("LetterSans", io.BytesIO(files[0])))
        pdfmetrics.registerFont(TTFont("LetterSans-Bold", io.BytesIO(files[1])))
        _fonts = ("LetterSans", "LetterSans-Bold")
    return _fonts


def fonts() -> tuple[str, str]:
    """(regular, bold) font names: DejaVu Sans embedded when present, else Helvetica."""
    return _fonts or _register(font_files())


@dataclass(frozen=True, slots=True)
class Block:
    kind: str  # "heading", "bullet" or "para"
    lines: tuple[str, ...]


def blocks(body: str) -> list[Block]:
    """The body's markup: "# " heading, "* " bullet, blank line between paragraphs."""
    out: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append(Block("para", tuple(para)))
            para.clear()

    for raw in body.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("# "):
            flush()
            out.append(Block("heading", (line[2:].strip(),)))
        elif line.startswith("* "):
            flush()
            out.append(Block("bullet", (line[2:].strip(),)))
        else:
            para.append(line)
    flush()
    return out


class _Page:
    """A canvas with a cursor that starts a new page when the text reaches the margin."""

    def __init__(self, canvas: Canvas, footer: str) -> None:
        self.canvas = canvas
        self.footer = footer
        self.y = HEIGHT - MARGIN
        self.number = 1

    def need(self, height: float) -> None:
        if self.y - height < MARGIN + 10 * mm:
            self.finish_page()
            self.canvas.showPage()
            self.number += 1
            self.y = HEIGHT - MARGIN

    def finish_page(self) -> None:
        regular, _bold = fonts()
        self.canvas.setFont(regular, 8)
        self.canvas.drawString(MARGIN, MARGIN - 4 * mm, f"{self.footer}   Page {self.number}")

    def text(self, words: str, font: str, size: float, indent: float = 0.0) -> None:
        leading = size * 1.35
        for line in simpleSplit(words, font, size, WIDTH - 2 * MARGIN - indent) or [""]:
            self.need(leading)
            self.y -= leading
            self.canvas.setFont(font, size)
            self.canvas.drawString(MARGIN + indent, self.y, line)


def letter_pdf(
    *,
    title: str,
    body: str,
    council: Council,
    addressee: str,
    address: Sequence[str],
    date_line: str,
    reference: str,
    subject: str,
) -> bytes:
    """One letter: the council's block, the address, date and reference, then the body."""
    regular, bold = fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, lang=LANGUAGE, invariant=True, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor(council.name)
    canvas.setSubject(subject)
    canvas.setCreator(council.name)
    page = _Page(canvas, f"{council.name} · {reference}")

    # The council's details on the right, the addressee on the left (a windowed envelope).
    right = WIDTH - MARGIN
    y = HEIGHT - MARGIN
    for i, line in enumerate((council.name, council.team, *council.address, council.phone,
                              council.email)):  # fmt: skip
        canvas.setFont(bold if i == 0 else regular, 10 if i == 0 else 9)
        y -= 12
        canvas.drawRightString(right, y, line)
    page.y = HEIGHT - MARGIN - 45 * mm
    for line in (addressee, *address):
        page.text(line, regular, 11)
    page.y -= 8 * mm
    page.text(date_line, regular, 11)
    page.text(f"Our reference: {reference}", regular, 11)
    page.y -= 6 * mm
    page.text(title, bold, 14)
    page.y -= 2 * mm
    for block in blocks(body):
        if block.kind == "heading":
            page.y -= 3 * mm
            page.text(block.lines[0], bold, 12)
        elif block.kind == "bullet":
            page.need(15)
            canvas.setFont(regular, 11)
            canvas.drawString(MARGIN + 2 * mm, page.y - 11 * 1.35, "•")
            page.text(block.lines[0], regular, 11, indent=7 * mm)
        else:
            page.y -= 2 * mm
            for line in block.lines:
                page.text(line, regular, 11)
    page.finish_page()
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class PdfOrder:
    """Everything one letter's PDF is drawn from (picklable, for the drawing processes)."""

    title: str
    body: str
    council: Council
    addressee: str
    address: tuple[str, ...]
    date_line: str
    reference: str
    subject: str


def _draw(order: PdfOrder) -> bytes:
    return letter_pdf(**{f: getattr(order, f) for f in PdfOrder.__slots__})


# Drawing is pure CPU and needs no database: a chunk of letters large enough is drawn by a
# pool of processes, one per core (LETTER_RENDER_PROCESSES; 1 draws in this process). The
# pool is started once (forkserver: no database connection is inherited) and reused.
PARALLEL_FROM = 64
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def render_processes() -> int:
    configured = os.environ.get("LETTER_RENDER_PROCESSES")
    if configured:
        return max(1, int(configured))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 8))


def _shared_pool(size: int) -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # Each drawing process is handed the lean fonts made here, not made again.
            _pool = ProcessPoolExecutor(
                max_workers=size,
                mp_context=get_context("forkserver"),
                initializer=_register,
                initargs=(font_files(),),
            )
        return _pool


def render_soon(orders: Sequence[PdfOrder]) -> Callable[[], list[bytes]]:
    """Start drawing the letters' PDFs; the returned function waits for them, in order.

    On the pool the drawing starts now, so the caller can prepare the next letters
    meanwhile; a small batch (or one process) is drawn here when the result is asked for.
    """
    processes = render_processes()
    if processes == 1 or len(orders) < PARALLEL_FROM:
        return lambda: [_draw(order) for order in orders]
    pool = _shared_pool(processes)
    per_task = max(1, len(orders) // (processes * 4))
    futures = [
        pool.submit(_draw_all, orders[i : i + per_task]) for i in range(0, len(orders), per_task)
    ]
    return lambda: [pdf for future in futures for pdf in future.result()]


def _draw_all(orders: Sequence[PdfOrder]) -> list[bytes]:
    return [_draw(order) for order in orders]


def render_many(orders: Sequence[PdfOrder]) -> list[bytes]:
    """The PDFs of the letters, in order."""
    return render_soon(orders)()


def merged_pdf(documents: Iterable[bytes], title: str) -> bytes:
    """The post room's batch: every letter in one PDF, each starting on its own page."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    writer = PdfWriter()
    for document in documents:
        writer.append(PdfReader(io.BytesIO(document)))
    writer.add_metadata({"/Title": title})
    writer._root_object[NameObject("/Lang")] = TextStringObject(LANGUAGE)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
