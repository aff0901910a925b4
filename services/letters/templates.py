"""Supervisors' wording per letter kind and academic year, in Jinja's sandbox.

A template can read the letter's context and nothing else: `SandboxedEnvironment` refuses
attribute tricks that reach Python internals, and `StrictUndefined` makes a misspelt field an
error in the preview instead of a blank in a family's letter. Saving never edits a version in
place; it adds the next one, and every letter records the version it used (0: built-in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import LetterTemplate
from models.base import utcnow
from models.enums import LetterKind

from .defaults import DEFAULTS


class LetterTemplateError(ValueError):
    """The wording cannot be used; the message says where (for the form and the preview)."""


def long_date(value: date | datetime | None) -> str:
    """Dates in letters are written out: "23 January 2025"."""
    if value is None:
        return ""
    return f"{value.day} {value:%B %Y}"


def money(value: Decimal | int | str | None) -> str:
    if value is None:
        return ""
    return f"£{Decimal(value):,.2f}"


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["long_date"] = long_date
    env.filters["money"] = money
    return env


_ENV = _environment()


@dataclass(frozen=True, slots=True)
class Wording:
    """The template a letter is made with."""

    kind: LetterKind
    title: str
    body: str
    version: int  # 0 for the built-in wording
    template_id: int | None


def current_wording(session: Session, kind: LetterKind, year: str) -> Wording:
    """The newest saved version for the kind and year, else the built-in wording."""
    row = session.scalars(
        select(LetterTemplate)
        .where(LetterTemplate.kind == kind, LetterTemplate.academic_year == year)
        .order_by(LetterTemplate.version.desc())
        .limit(1)
    ).first()
    if row is None:
        title, body = DEFAULTS[kind]
        return Wording(kind, title, body, 0, None)
    return Wording(kind, row.title, row.body, row.version, row.id)


def check_wording(title: str, body: str) -> None:
    """Refuse wording that does not compile (the preview then renders it against a case)."""
    for name, text in (("title", title), ("body", body)):
        try:
            _ENV.parse(text)
        except TemplateError as error:
            line = getattr(error, "lineno", None)
            where = f" (line {line})" if line else ""
            raise LetterTemplateError(f"{name}{where}: {error.message}") from None


def save_wording(
    session: Session, kind: LetterKind, year: str, title: str, body: str, user_id: int | None
) -> LetterTemplate:
    """Add the next version of the kind's wording for the year (flushes; the caller commits)."""
    check_wording(title, body)
    latest = session.scalar(
        select(func.max(LetterTemplate.version)).where(
            LetterTemplate.kind == kind, LetterTemplate.academic_year == year
        )
    )
    row = LetterTemplate(
        kind=kind,
        academic_year=year,
        version=(latest or 0) + 1,
        title=title.strip(),
        body=body,
        created_by_id=user_id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


_COMPILED: dict[str, Any] = {}


def _compiled(text: str) -> Any:
    template = _COMPILED.get(text)
    if template is None:
        if len(_COMPILED) > 256:
            _COMPILED.clear()
        template = _COMPILED[text] = _ENV.from_string(text)
    return template


def render_wording(wording: Wording, context: dict[str, Any]) -> tuple[str, str]:
    """(title, body text) of one letter; a field the context lacks is an error, not a blank."""
    try:
        title = _compiled(wording.title).render(context).strip()
        body = _compiled(wording.body).render(context)
    except TemplateError as error:
        raise LetterTemplateError(f"{wording.kind.value}: {error}") from None
    body = re.sub(r"[ \t]+\n", "\n", body)
    return " ".join(title.split()), re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
