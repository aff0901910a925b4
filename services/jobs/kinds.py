"""The panel's own job kinds: a year's letters, a whole-year assessment, a whole-year allocation,
a whole-year route measurement, the retention run.

Each is chunked and idempotent, so a retry after a dead worker neither loses nor repeats work:

* letters: `make_letters` commits a chunk of letters at a time, and a letter already in the
  log is never owed again (services/letters/owed.py);
* assessment: a chunk of applications (a pupil's applications always in the same chunk, for
  A2's "a new application overrides") per `assess_applications` call, which commits; an
  application already assessed on the same facts writes nothing when assessed again;
* allocation: one route per `allocate` call (all or nothing per route); an application
  already allocated, waiting or refused is left alone when it runs again;
* measurement: the year's routes in one transaction (`measure_applications`, all or nothing),
  and a measurement equal to the stored one writes nothing, so a retry redoes only what the
  dead worker had not committed; the applications whose distance changed are assessed again.

Assessment and allocation end by making the letters their changes call for (B1i, Appendix F),
and only those: letters already made are not owed again.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import select

from models import AcademicYear, ConcessionaryApplication, TransportApplication, db
from models.enums import ConcessionaryStatus, LetterKind, Role
from rules.academic_year import parse_academic_year
from rules.errors import RulesError
from services.letters.follow_up import letters_left_to_caller

from .api import JobRefused, Progress
from .registry import JobKind, register

ASSISTANTS = (Role.ASSISTANT,)  # User.has_role lets officers and supervisors through too
DEFAULT_CHUNK = 500


def _year(parameters: dict[str, Any]) -> str:
    year = str(parameters.get("year") or "").strip()
    try:
        parse_academic_year(year)
    except RulesError as error:
        raise JobRefused(f"year: {error.message}") from None
    if db.session.scalar(select(AcademicYear.id).where(AcademicYear.label == year)) is None:
        raise JobRefused(f"year: there is no academic year {year} in the database")
    return year


def _chunk(parameters: dict[str, Any]) -> int:
    try:
        value = int(parameters.get("chunk") or DEFAULT_CHUNK)
    except (TypeError, ValueError):
        raise JobRefused("chunk: a whole number of records") from None
    if not 1 <= value <= 5_000:
        raise JobRefused("chunk: between 1 and 5,000")
    return value


# --- letters -----------------------------------------------------------------------------


def _only(parameters: dict[str, Any]) -> dict[str, list[int]] | None:
    """A step's own records (services/letters/follow_up.py): record name -> ids."""
    from services.letters.follow_up import RECORD_NAMES

    only = parameters.get("only")
    if only is None:
        return None
    if not isinstance(only, dict) or not only:
        raise JobRefused("only: the records the letters are about, by kind of record")
    cleaned: dict[str, list[int]] = {}
    for record, ids in only.items():
        if record not in RECORD_NAMES:
            raise JobRefused(f"only: no letter is about a {record!r}")
        if not isinstance(ids, list) or not all(type(i) is int for i in ids):
            raise JobRefused(f"only: {record}: a list of record ids")
        cleaned[record] = sorted(set(ids))
    return cleaned


def _check_letters(parameters: dict[str, Any]) -> dict[str, Any]:
    from services.letters.kinds import UnknownFamily, kinds_of

    family = parameters.get("kind") or None
    try:
        kinds_of(family)
    except UnknownFamily as error:
        raise JobRefused(f"kind: {error}") from None
    cleaned = {"year": _year(parameters), "kind": family, "chunk": _chunk(parameters)}
    only = _only(parameters)
    if only is not None:
        cleaned["only"] = only
    return cleaned


def letters_for(
    year: str,
    kinds: tuple[LetterKind, ...],
    progress: Progress,
    chunk: int = DEFAULT_CHUNK,
    only: dict[str, list[int]] | None = None,
) -> str:
    """Make the letters owed (a chunk per commit), with `only` just those about a step's
    records, and send the queued e-mails."""
    from services.letters.follow_up import in_scope, kinds_in
    from services.letters.owed import make_letters
    from services.letters.sending import send_queued_emails, sender_from_environment

    progress.stage("making letters")
    if only is not None:
        kinds = tuple(k for k in kinds if k in kinds_in(only))
    report = make_letters(
        db.session,
        year,
        kinds,
        progress=progress,
        chunk=chunk,
        only=in_scope(only) if only is not None else None,
    )
    progress.stage("sending e-mails")
    sent = send_queued_emails(db.session, year, kinds, sender_from_environment())
    return f"{report.as_text()} {sent.as_text()}"


def _letters(parameters: dict[str, Any], progress: Progress, user_id: int | None) -> str:
    from services.letters.kinds import kinds_of

    year = parameters["year"]
    kinds = kinds_of(parameters.get("kind"))
    text = letters_for(year, kinds, progress, parameters["chunk"], parameters.get("only"))
    return f"{year}: {text}"


# --- whole-year assessment ---------------------------------------------------------------


def _check_assessment(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"year": _year(parameters), "chunk": _chunk(parameters)}


def pupil_chunks(rows: list[tuple[int, int]], size: int) -> list[list[int]]:
    """Application ids in chunks of about `size`, never splitting one pupil's applications
    (A2: the pupil's newest eligible application ends the others, within one transaction)."""
    chunks: list[list[int]] = []
    current: list[int] = []
    last_pupil: int | None = None
    for app_id, pupil_id in rows:
        if len(current) >= size and pupil_id != last_pupil:
            chunks.append(current)
            current = []
        current.append(app_id)
        last_pupil = pupil_id
    if current:
        chunks.append(current)
    return chunks


def _assessment(parameters: dict[str, Any], progress: Progress, user_id: int | None) -> str:
    from services.assessment import assess_applications
    from services.letters.kinds import kinds_of

    year = parameters["year"]
    ta = TransportApplication
    rows = [
        (a, p)
        for a, p in db.session.execute(
            select(ta.id, ta.pupil_id).where(ta.academic_year == year).order_by(ta.pupil_id, ta.id)
        )
    ]
    db.session.commit()
    chunks = pupil_chunks(rows, parameters["chunk"])
    progress.stage("assessing applications", total=len(rows))
    totals: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    skipped = 0
    done = 0
    for ids in chunks:
        with letters_left_to_caller():  # the year's letters are made below, once
            summary = assess_applications(ids=ids, user_id=user_id)
        totals.update(
            assessed=summary.assessed,
            unchanged=summary.unchanged,
            superseded=summary.superseded,
            ended=summary.ended,
            awaiting=summary.awaiting_sign_off,
        )
        outcomes.update(summary.by_outcome)
        skipped += len(summary.skipped)
        done += len(ids)
        progress(done, len(rows))
    words = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(outcomes.items()))
    text = (
        f"{year}: {totals['assessed']} assessed ({words or 'no new decisions'}), "
        f"{totals['unchanged']} unchanged, {totals['superseded']} earlier decisions superseded"
    )
    if totals["ended"]:
        text += f", {totals['ended']} other eligibilities ended (A2)"
    if totals["awaiting"]:
        text += f", {totals['awaiting']} await an officer's sign-off (no letter goes before)"
    if skipped:
        text += f", {skipped} not assessed (see the applications list)"
    kinds = kinds_of("decision") + kinds_of("evidence")
    return f"{text}. Letters: {letters_for(year, kinds, progress, parameters['chunk'])}"


# --- whole-year allocation ---------------------------------------------------------------


def _check_allocation(parameters: dict[str, Any]) -> dict[str, Any]:
    from services import years

    on_text = str(parameters.get("on") or "").strip()
    try:
        on = date.fromisoformat(on_text) if on_text else years.today()
    except ValueError:
        raise JobRefused(f"on: {on_text!r} is not a date (YYYY-MM-DD)") from None
    return {"year": _year(parameters), "on": on.isoformat()}


def _allocation(parameters: dict[str, Any], progress: Progress, user_id: int | None) -> str:
    from services import seats
    from services.letters.kinds import kinds_of

    year, on = parameters["year"], date.fromisoformat(parameters["on"])
    ca = ConcessionaryApplication
    route_ids = list(
        db.session.scalars(
            select(ca.route_id)
            .where(
                ca.academic_year == year,
                ca.status.in_([ConcessionaryStatus.PENDING, ConcessionaryStatus.WAITING]),
            )
            .distinct()
            .order_by(ca.route_id)
        )
    )
    db.session.commit()
    progress.stage("allocating seats, route by route", total=len(route_ids))
    counts: Counter[str] = Counter()
    for done, route_id in enumerate(route_ids, start=1):
        with letters_left_to_caller():  # the year's letters are made below, once
            report = seats.allocate(year, on=on, route_ids=[route_id])
        counts.update(
            allocated=report.allocated,
            waiting=report.waiting,
            refused=report.refused,
            withdrawn=report.withdrawn,
        )
        progress(done, len(route_ids))
    text = (
        f"{year}: {counts['allocated']} allocated, {counts['waiting']} on waiting lists, "
        f"{counts['refused']} refused"
        + (f", {counts['withdrawn']} withdrawn" if counts["withdrawn"] else "")
        + f" across {len(route_ids)} route(s)"
    )
    kinds = kinds_of("seat") + kinds_of("withdrawal")
    return f"{text}. Letters: {letters_for(year, kinds, progress)}"


# --- whole-year route measurement (A4b) ----------------------------------------------------


def _check_measurement(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"year": _year(parameters)}


def _measurement(parameters: dict[str, Any], progress: Progress, user_id: int | None) -> str:
    """Measure every application of the year over the road network, then assess again those
    whose distance changed, so the "To measure" queue drains by itself (issue 17): the same
    work as `flask network measure`, then the letters the new decisions call for."""
    from services.letters.kinds import kinds_of
    from services.measurement import MeasurementError, handler

    year = parameters["year"]
    progress.stage("measuring routes (schools searched)")
    try:
        with letters_left_to_caller():  # the year's letters are made below, once
            via = "whole-year measurement (background job)"
            out = handler({"year": year, "user_id": user_id, "via": via}, progress)
    except MeasurementError as error:
        raise JobRefused(str(error)) from None
    text = f"{year}: {out['summary']}"
    if "assessment" in out:
        kinds = kinds_of("decision") + kinds_of("evidence")
        text += f"; assessed again: {out['assessment']}. Letters: "
        text += letters_for(year, kinds, progress)
    return text


# --- retention (UK GDPR Art. 5(1)(e), Art. 17) --------------------------------------------


def _check_retention(parameters: dict[str, Any]) -> dict[str, Any]:
    """The run needs no year (each pupil's own last year decides); the day it counts from is
    England's today when the job is started."""
    from services import years

    return {"on": years.today().isoformat()}


def _retention(parameters: dict[str, Any], progress: Progress, user_id: int | None) -> str:
    """Anonymise every pupil past their retention period, all or nothing (services.retention);
    a retry after a dead worker finds only those still due, so nobody is done twice."""
    from services.retention import run

    progress.stage("anonymising pupils past their retention period")
    done = run(db.session, date.fromisoformat(parameters["on"]))
    progress(len(done), len(done))
    return f"{len(done)} pupils anonymised (retention periods as of {parameters['on']})"


LETTERS = register(
    JobKind("letters", "Letters owed for a year", ASSISTANTS, _letters, _check_letters)
)
ASSESSMENT = register(
    JobKind("assessment", "Assess a whole year", ASSISTANTS, _assessment, _check_assessment)
)
ALLOCATION = register(
    JobKind(
        "allocation",
        "Allocate concessionary seats for a whole year",
        ASSISTANTS,
        _allocation,
        _check_allocation,
    )
)
MEASUREMENT = register(
    JobKind(
        "measurement",
        "Measure a whole year's routes over the road network",
        ASSISTANTS,
        _measurement,
        _check_measurement,
    )
)

RETENTION = register(
    JobKind(
        "retention",
        "Anonymise pupils past their retention period",
        (Role.SUPERVISOR,),
        _retention,
        _check_retention,
    )
)
