"""Letters owed: worked out from the stored state, so making them is idempotent.

A letter is owed when a record's current state calls for one (a current decision, a seat
offered, a withdrawal, an appeal received or decided, an instalment overdue) and no live letter
of that kind about that record exists (`Communication.subject_key`, unique while live). So:

* running again makes none;
* a queued letter whose record no longer calls for it (its decision superseded, a waiting-list
  place now a seat, an instalment since paid) is cancelled, never sent;
* after a bulk assessment, allocation, withdrawal or appeal step, the letters made are exactly
  those for what changed.

Letters are made in chunks, each committed with its rows: a worker killed mid-batch leaves
whole chunks behind, and the next run makes only the rest (tests/letters/test_jobs.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.sql.functions import FunctionElement

from models import (
    Appeal,
    Communication,
    ConcessionaryApplication,
    ConcessionarySeat,
    Contribution,
    EligibilityDecision,
    Instalment,
    Payment,
    Pupil,
    TransportApplication,
    Withdrawal,
)
from models.base import table_of
from models.enums import (
    AppealOutcome,
    AppealStage,
    ApplicationStatus,
    CommunicationStatus,
    ConcessionaryStatus,
    LetterKind,
    Outcome,
    SignOff,
    WithdrawalKind,
)
from rules.parameters import PolicyParameters
from services import years
from services.audit import current_actor
from services.contributions import overdue_clause
from services.policy import parameters_for_year

from . import context as ctx
from .council import Council, council_details
from .kinds import LABELS
from .render import PdfOrder, render_soon
from .templates import Wording, current_wording, long_date, render_wording

CHUNK = 500
Progress = Callable[[int, int], None]
CANCEL_NOTE = "cancelled before it was sent: the record it told of has changed"


def today_in_england() -> date:
    """The panel's one clock (services.years.today), looked up when called so a fixed clock
    reaches the letters too."""
    return years.today()


@dataclass(frozen=True, slots=True)
class Due:
    """A letter the state calls for: its kind, what it is about, and the record to load."""

    kind: LetterKind
    subject_key: str
    record_id: int


@dataclass(slots=True)
class Case:
    """What one letter is made from, loaded for a chunk at a time."""

    pupil: Pupil
    application: TransportApplication | None
    seat_application_id: int | None
    reference: str
    extra: dict[str, Any]


@dataclass
class LettersReport:
    made: int = 0
    cancelled: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"made": self.made, "cancelled": self.cancelled, "by_kind": dict(self.by_kind)}

    def as_text(self) -> str:
        kinds = ", ".join(f"{LABELS[LetterKind(k)]} {n}" for k, n in sorted(self.by_kind.items()))
        text = f"{self.made} letters made" + (f" ({kinds})" if kinds else "")
        if self.cancelled:
            text += f"; {self.cancelled} unsent letters cancelled (their record has changed)"
        return text + "."


# --- what each record's state calls for ------------------------------------------------------
#
# Each family of letters is one SELECT of (kind, subject_key, record_id), in the order the
# letters are made: `letters_owed` reads it to make them and `count_owed` counts it in the
# database, so the home page's count and the letters made can never disagree.

_KIND = table_of(Communication).c.kind.type


class _DateText(FunctionElement[str]):
    """A date as ISO text ("2025-01-05", what str(date) gives): PostgreSQL's CAST would follow
    the session's DateStyle, so it is spelt out there; SQLite stores dates as that text."""

    type = String()
    inherit_cache = True


@compiles(_DateText)
def _date_text_default(element: _DateText, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS VARCHAR)"


@compiles(_DateText, "postgresql")
def _date_text_postgresql(element: _DateText, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD')"


def _kind(kind: LetterKind) -> Any:
    return literal(kind, _KIND)


def _key(prefix: str, *parts: Any) -> Any:
    """`prefix` + the parts joined by ":", as the f-strings "decision:12" and
    "appeal-panel:7:2025-01-05" spell the subject keys."""
    text: Any = literal(prefix, String)
    for n, part in enumerate(parts):
        if n:
            text = text + literal(":", String)
        text = text + (cast(part, String) if not isinstance(part, _DateText) else part)
    return text


def _rows(*columns: Any) -> Any:
    return [
        columns[0].label("kind"),
        columns[1].label("subject_key"),
        columns[2].label("record_id"),
    ]


def _decision_dues(year: str, on: date) -> Select[Any]:
    """B1i: a current eligible or refused decision is written to the family; A11/A13/B1e: a
    referral to an officer asks for the evidence the officer needs."""
    by_outcome = {
        Outcome.ELIGIBLE: LetterKind.DECISION_ELIGIBLE,
        Outcome.NOT_ELIGIBLE: LetterKind.DECISION_NOT_ELIGIBLE,
        Outcome.REFER: LetterKind.EVIDENCE_REQUEST,
    }
    dec, ta = EligibilityDecision, TransportApplication
    kind = case(*((dec.outcome == o, _kind(k)) for o, k in by_outcome.items()))
    return (
        select(*_rows(type_coerce(kind, _KIND), _key("decision:", dec.id), dec.id))
        .join(ta, ta.id == dec.application_id)
        .where(
            ta.academic_year == year,
            ta.status != ApplicationStatus.WITHDRAWN,
            dec.superseded_at.is_(None),
            # The outcomes with no letter left out, not these listed: with no statistics
            # SQLite would read the decisions of every year by their outcome index.
            dec.outcome.not_in([o for o in Outcome if o not in by_outcome]),
            _signed_off_if_needed(dec),
        )
        .order_by(dec.id)
    )


def _signed_off_if_needed(dec: type[EligibilityDecision]) -> Any:
    """Issue 14, DOMAIN.md "officers sign off decisions": an assistant's decision awaiting an
    officer's sign-off is owed no letter yet (services/sign_off.py)."""
    return or_(dec.sign_off.is_(None), dec.sign_off != SignOff.AWAITING)


def _in_order(*parts: Select[Any]) -> Select[Any]:
    """The parts' rows, the first part's before the second's, each by record."""
    numbered = [p.add_columns(literal(n).label("part")) for n, p in enumerate(parts)]
    both = union_all(*numbered).subquery()
    return select(both.c.kind, both.c.subject_key, both.c.record_id).order_by(
        both.c.part, both.c.record_id
    )


def _seat_dues(year: str, on: date) -> Select[Any]:
    """Appendix F: a seat offered, a waiting-list place, a refusal."""
    ca, seat = ConcessionaryApplication, ConcessionarySeat
    waiting = ca.status == ConcessionaryStatus.WAITING
    offers = (
        select(*_rows(_kind(LetterKind.SEAT_OFFER), _key("seat:", seat.id), seat.id))
        .join(ca, ca.id == seat.application_id)
        .where(ca.academic_year == year)
    )
    kind = case(
        (waiting, _kind(LetterKind.SEAT_WAITING_LIST)), else_=_kind(LetterKind.SEAT_REFUSED)
    )
    key = case((waiting, _key("waiting:", ca.id)), else_=_key("refused:", ca.id))
    places = select(*_rows(type_coerce(kind, _KIND), key, ca.id)).where(
        ca.academic_year == year,
        ca.status.in_([ConcessionaryStatus.WAITING, ConcessionaryStatus.REFUSED]),
    )
    return _in_order(offers, places)


def _withdrawal_dues(year: str, on: date) -> Select[Any]:
    """Appendix F, A12a, A15: every withdrawal is a written notice."""
    w, seat, ca = Withdrawal, ConcessionarySeat, ConcessionaryApplication
    dec, ta = EligibilityDecision, TransportApplication
    # The year as EXISTS, read per withdrawal (there are few), not IN over the year's records.
    of_seat = (
        select(seat.id)
        .join(ca, ca.id == seat.application_id)
        .where(seat.id == w.concessionary_seat_id, ca.academic_year == year)
    )
    of_decision = (
        select(dec.id)
        .join(ta, ta.id == dec.application_id)
        .where(dec.id == w.decision_id, ta.academic_year == year)
    )
    kind = case(
        (w.kind == WithdrawalKind.CONCESSIONARY_SEAT, _kind(LetterKind.SEAT_WITHDRAWAL)),
        else_=_kind(LetterKind.ELIGIBILITY_WITHDRAWAL),
    )
    return (
        select(*_rows(type_coerce(kind, _KIND), _key("withdrawal:", w.id), w.id))
        .where(of_seat.exists() | of_decision.exists())
        .order_by(w.id)
    )


def _appeal_dues(year: str, on: date) -> Select[Any]:
    """Appendix C: an appeal is acknowledged, its panel date given, its outcome written."""
    dec, ta = EligibilityDecision, TransportApplication

    of_year = (
        select(dec.id)
        .join(ta, ta.id == dec.application_id)
        .where(dec.id == Appeal.decision_id, ta.academic_year == year)
        .exists()
    )

    def appeals(*columns: Any, seq: int) -> Select[Any]:
        # EXISTS: read per appeal (there are few), not from the year's applications.
        return select(*_rows(*columns), literal(seq).label("seq")).where(of_year)

    outcome_kind = case(
        (Appeal.stage == AppealStage.REVIEW, _kind(LetterKind.APPEAL_STAGE_ONE_OUTCOME)),
        else_=_kind(LetterKind.APPEAL_PANEL_OUTCOME),
    )
    every = union_all(
        appeals(
            _kind(LetterKind.APPEAL_ACKNOWLEDGEMENT), _key("appeal:", Appeal.id), Appeal.id, seq=0
        ),
        appeals(
            _kind(LetterKind.APPEAL_PANEL_DATE),
            _key("appeal-panel:", Appeal.id, _DateText(Appeal.panel_on)),
            Appeal.id,
            seq=1,
        ).where(Appeal.panel_on.is_not(None), Appeal.stage == AppealStage.PANEL),
        appeals(
            type_coerce(outcome_kind, _KIND), _key("appeal-outcome:", Appeal.id), Appeal.id, seq=2
        ).where(Appeal.outcome.in_([AppealOutcome.UPHELD, AppealOutcome.OVERTURNED])),
    ).subquery()
    return select(every.c.kind, every.c.subject_key, every.c.record_id).order_by(
        every.c.record_id, every.c.seq
    )


def _outstanding(session: Session, instalment_ids: Sequence[int]) -> dict[int, Decimal]:
    paid = dict(
        session.execute(
            select(Payment.instalment_id, func.sum(Payment.amount))
            .where(Payment.instalment_id.in_(instalment_ids))
            .group_by(Payment.instalment_id)
        ).all()
    )
    amounts = dict(
        session.execute(
            select(Instalment.id, Instalment.amount).where(Instalment.id.in_(instalment_ids))
        ).all()
    )
    return {i: Decimal(a) - Decimal(paid.get(i) or 0) for i, a in amounts.items()}


def _payment_dues(year: str, on: date) -> Select[Any]:
    """B1j: an instalment overdue (`services.contributions.overdue_clause`, the one rule the
    screens and reports use too) is reminded once; a cancelled one is owed no more (RULES.md
    v2), nor one for days after its seat ended, so neither is ever reminded."""
    return (
        select(
            *_rows(
                _kind(LetterKind.PAYMENT_REMINDER),
                _key("instalment:", Instalment.id),
                Instalment.id,
            )
        )
        .join(Contribution, Contribution.id == Instalment.contribution_id)
        .where(Contribution.academic_year == year, overdue_clause(on))
        .order_by(Instalment.id)
    )


# --- loading the cases a chunk of letters is made from ---------------------------------------

_PUPIL = (selectinload(Pupil.contacts),)


def _application_options() -> list[Any]:
    ta = TransportApplication
    return [joinedload(ta.pupil).selectinload(Pupil.contacts), joinedload(ta.school)]


def _contributions(session: Session, column: Any, ids: Iterable[int]) -> dict[int, Contribution]:
    wanted = list(ids)
    if not wanted:
        return {}
    rows = session.scalars(
        select(Contribution)
        .where(column.in_(wanted))
        .options(selectinload(Contribution.instalments))
    )
    return {getattr(c, column.key): c for c in rows}


def _load_decisions(session: Session, ids: Sequence[int]) -> dict[int, Case]:
    dec = EligibilityDecision
    rows = session.scalars(
        select(dec)
        .where(dec.id.in_(ids))
        .options(*(joinedload(dec.application).options(o) for o in _application_options()))
    ).all()
    contributions = _contributions(
        session,
        Contribution.transport_application_id,
        [
            d.application_id
            for d in rows
            if d.charge is not None and d.charge.value == "contribution"
        ],
    )
    return {
        d.id: Case(
            d.application.pupil,
            d.application,
            None,
            d.application.reference,
            {
                "decision": ctx.decision_context(d),
                "contribution": ctx.contribution_context(contributions.get(d.application_id)),
            },
        )
        for d in rows
    }


def _seat_application_case(ca: ConcessionaryApplication, extra: dict[str, Any]) -> Case:
    return Case(
        ca.pupil,
        None,
        ca.id,
        ca.reference,
        {
            "school": ctx.record_fields(ca.school),
            "application": ctx.record_fields(ca),
            "seat_application": ctx.record_fields(ca),
            "route": ctx.record_fields(ca.route),
            **extra,
        },
    )


def _seat_application_options() -> list[Any]:
    ca = ConcessionaryApplication
    return [
        joinedload(ca.pupil).selectinload(Pupil.contacts),
        joinedload(ca.school),
        joinedload(ca.route),
    ]


def _load_seats(session: Session, ids: Sequence[int]) -> dict[int, Case]:
    seat = ConcessionarySeat
    rows = session.scalars(
        select(seat)
        .where(seat.id.in_(ids))
        .options(*(joinedload(seat.application).options(o) for o in _seat_application_options()))
    ).all()
    contributions = _contributions(
        session, Contribution.concessionary_seat_id, [s.id for s in rows]
    )
    return {
        s.id: _seat_application_case(
            s.application,
            {
                "seat": ctx.record_fields(s),
                "contribution": ctx.contribution_context(contributions.get(s.id)),
            },
        )
        for s in rows
    }


def _load_seat_applications(session: Session, ids: Sequence[int]) -> dict[int, Case]:
    ca = ConcessionaryApplication
    rows = session.scalars(select(ca).where(ca.id.in_(ids)).options(*_seat_application_options()))
    return {a.id: _seat_application_case(a, {}) for a in rows}


def _load_withdrawals(session: Session, ids: Sequence[int]) -> dict[int, Case]:
    w = Withdrawal
    rows = session.scalars(
        select(w)
        .where(w.id.in_(ids))
        .options(
            joinedload(w.concessionary_seat)
            .joinedload(ConcessionarySeat.application)
            .options(*_seat_application_options()),
            joinedload(w.decision)
            .joinedload(EligibilityDecision.application)
            .options(*_application_options()),
        )
    )
    cases: dict[int, Case] = {}
    for row in rows:
        extra = {"withdrawal": ctx.record_fields(row)}
        if row.concessionary_seat is not None:
            seat = row.concessionary_seat
            extra["seat"] = ctx.record_fields(seat)
            cases[row.id] = _seat_application_case(seat.application, extra)
        elif row.decision is not None:
            app = row.decision.application
            extra["decision"] = ctx.decision_context(row.decision)
            cases[row.id] = Case(app.pupil, app, None, app.reference, extra)
    return cases


_STAGE_WORDS = {AppealStage.REVIEW: "stage one (review)", AppealStage.PANEL: "stage two (panel)"}
_OUTCOME_WORDS = {
    AppealOutcome.UPHELD: "not successful: the decision stands",
    AppealOutcome.OVERTURNED: "successful: the decision is overturned",
    AppealOutcome.PENDING: "being considered",
    AppealOutcome.WITHDRAWN: "withdrawn",
}


def _load_appeals(session: Session, ids: Sequence[int]) -> dict[int, Case]:
    rows = session.scalars(
        select(Appeal)
        .where(Appeal.id.in_(ids))
        .options(
            joinedload(Appeal.decision)
            .joinedload(EligibilityDecision.application)
            .options(*_application_options())
        )
    )
    cases: dict[int, Case] = {}
    for appeal in rows:
        app = appeal.decision.application
        fields = ctx.record_fields(appeal)
        fields["stage_words"] = _STAGE_WORDS[appeal.stage]
        fields["outcome_words"] = _OUTCOME_WORDS[appeal.outcome]
        fields["panel_date"] = appeal.panel_on
        extra = {"appeal": fields, "decision": ctx.decision_context(appeal.decision)}
        cases[appeal.id] = Case(app.pupil, app, None, app.reference, extra)
    return cases


def _load_instalments(session: Session, ids: Sequence[int]) -> dict[int, Case]:
    c = Contribution
    rows = session.scalars(
        select(Instalment)
        .where(Instalment.id.in_(ids))
        .options(
            joinedload(Instalment.contribution).options(
                joinedload(c.pupil).selectinload(Pupil.contacts),
                joinedload(c.transport_application).joinedload(TransportApplication.school),
                joinedload(c.concessionary_seat)
                .joinedload(ConcessionarySeat.application)
                .joinedload(ConcessionaryApplication.school),
                selectinload(c.instalments),
            )
        )
    )
    owing = _outstanding(session, ids)
    cases: dict[int, Case] = {}
    for inst in rows:
        contribution = inst.contribution
        app = contribution.transport_application
        seat_app = (
            contribution.concessionary_seat.application if contribution.concessionary_seat else None
        )
        school = app.school if app is not None else (seat_app.school if seat_app else None)
        reference = app.reference if app else (seat_app.reference if seat_app else "")
        extra = {
            "instalment": {**ctx.record_fields(inst), "outstanding": owing.get(inst.id)},
            "contribution": ctx.contribution_context(contribution),
            "school": ctx.record_fields(school),
        }
        cases[inst.id] = Case(
            contribution.pupil, app, seat_app.id if seat_app else None, reference, extra
        )
    return cases


DueFinder = Callable[[str, date], Select[Any]]
Loader = Callable[[Session, Sequence[int]], dict[int, Case]]
FINDERS: dict[tuple[LetterKind, ...], DueFinder] = {
    (LetterKind.DECISION_ELIGIBLE, LetterKind.DECISION_NOT_ELIGIBLE, LetterKind.EVIDENCE_REQUEST): (
        _decision_dues
    ),
    (LetterKind.SEAT_OFFER, LetterKind.SEAT_WAITING_LIST, LetterKind.SEAT_REFUSED): _seat_dues,
    (LetterKind.SEAT_WITHDRAWAL, LetterKind.ELIGIBILITY_WITHDRAWAL): _withdrawal_dues,
    (
        LetterKind.APPEAL_ACKNOWLEDGEMENT,
        LetterKind.APPEAL_STAGE_ONE_OUTCOME,
        LetterKind.APPEAL_PANEL_DATE,
        LetterKind.APPEAL_PANEL_OUTCOME,
    ): _appeal_dues,
    (LetterKind.PAYMENT_REMINDER,): _payment_dues,
}
LOADERS: dict[LetterKind, Loader] = {
    LetterKind.DECISION_ELIGIBLE: _load_decisions,
    LetterKind.DECISION_NOT_ELIGIBLE: _load_decisions,
    LetterKind.EVIDENCE_REQUEST: _load_decisions,
    LetterKind.SEAT_OFFER: _load_seats,
    LetterKind.SEAT_WAITING_LIST: _load_seat_applications,
    LetterKind.SEAT_REFUSED: _load_seat_applications,
    LetterKind.SEAT_WITHDRAWAL: _load_withdrawals,
    LetterKind.ELIGIBILITY_WITHDRAWAL: _load_withdrawals,
    LetterKind.APPEAL_ACKNOWLEDGEMENT: _load_appeals,
    LetterKind.APPEAL_STAGE_ONE_OUTCOME: _load_appeals,
    LetterKind.APPEAL_PANEL_DATE: _load_appeals,
    LetterKind.APPEAL_PANEL_OUTCOME: _load_appeals,
    LetterKind.PAYMENT_REMINDER: _load_instalments,
}


# --- the plan and the making -----------------------------------------------------------------


def _families(kinds: Sequence[LetterKind]) -> list[DueFinder]:
    wanted = set(kinds)
    return [finder for family, finder in FINDERS.items() if wanted.intersection(family)]


def _held(kind: Any, subject_key: Any) -> ColumnElement[bool]:
    """A live letter of `kind` about `subject_key` exists: one neither cancelled nor a resend,
    in any year, the rows uq_communication_live keeps unique (so a second could not be made).
    Its terms are spelt as in that index's condition, so SQLite's planner reads only it."""
    c = Communication
    return exists().where(
        c.kind == kind,
        c.subject_key == subject_key,
        c.status != literal_column("'cancelled'"),
        c.resend_of_id.is_(None),
    )


def _called_for(
    session: Session, year: str, kinds: Sequence[LetterKind], on: date
) -> list[tuple[Due, bool]]:
    """Every letter of `kinds` the year's stored state calls for, in order, and whether a
    live letter holds it already."""
    wanted = set(kinds)
    found: list[tuple[Due, bool]] = []
    for finder in _families(kinds):
        stmt = finder(year, on)
        columns = stmt.selected_columns
        held = _held(columns.kind, columns.subject_key).label("held")
        for kind, key, record_id, is_held in session.execute(stmt.add_columns(held)):
            if kind in wanted:
                found.append((Due(kind, key, record_id), bool(is_held)))
    return found


def called_for(session: Session, year: str, kinds: Sequence[LetterKind], on: date) -> list[Due]:
    """Every letter of `kinds` the year's stored state calls for, made or not, in order."""
    return [due for due, _held in _called_for(session, year, kinds, on)]


def letters_owed(
    session: Session,
    year: str,
    kinds: Sequence[LetterKind],
    on: date | None = None,
    *,
    only: Callable[[Due], bool] | None = None,
) -> tuple[list[Due], list[int]]:
    """(the letters owed, the ids of queued letters no longer called for) for the year.

    `only` keeps the letters owed about some records (a step's own, follow_up.py); what is
    no longer called for is still the whole year's, so nothing stale is ever sent."""
    on = on or today_in_england()
    due = _called_for(session, year, kinds, on)
    keys = {(d.kind, d.subject_key) for d, _held in due}
    queued = session.execute(
        select(Communication.id, Communication.kind, Communication.subject_key).where(
            Communication.academic_year == year,
            Communication.kind.in_(list(set(kinds))),
            Communication.status == CommunicationStatus.QUEUED,
            Communication.resend_of_id.is_(None),
        )
    ).all()
    stale = [i for i, kind, key in queued if (kind, key) not in keys]
    owed = [d for d, held in due if not held and (only is None or only(d))]
    return owed, stale


def owed_by_kind(
    session: Session, year: str, kinds: Sequence[LetterKind], on: date | None = None
) -> Counter[LetterKind]:
    """How many letters of each kind `letters_owed` would make, counted by the database in
    one statement: the same SELECTs, less the rows a live letter holds (`_held`)."""
    on = on or today_in_england()
    parts = []
    for finder in _families(kinds):
        due = finder(year, on).order_by(None).subquery()
        parts.append(
            select(due.c.kind).where(
                due.c.kind.in_(list(set(kinds))), ~_held(due.c.kind, due.c.subject_key)
            )
        )
    if not parts:
        return Counter()
    every = union_all(*parts).subquery()
    rows = session.execute(select(every.c.kind, func.count()).group_by(every.c.kind))
    return Counter({LetterKind(kind): int(n) for kind, n in rows})


def count_owed(
    session: Session, year: str, kinds: Sequence[LetterKind], on: date | None = None
) -> int:
    """len(letters_owed(...)[0]), counted by the database."""
    return sum(owed_by_kind(session, year, kinds, on).values())


def cancel_stale(session: Session, ids: Sequence[int], now: datetime) -> int:
    """A superseded decision's unsent letter (or any queued letter no longer called for) is
    cancelled, never sent: the family will hear of the record as it now stands."""
    for start in range(0, len(ids), CHUNK):
        session.execute(
            update(Communication)
            .where(
                Communication.id.in_(ids[start : start + CHUNK]),
                Communication.status == CommunicationStatus.QUEUED,
            )
            .values(status=CommunicationStatus.CANCELLED, status_at=now, status_note=CANCEL_NOTE)
            .execution_options(synchronize_session=False)
        )
    return len(ids)


@dataclass
class LetterMaker:
    """Makes letters for one academic year: the year's figures and wording read once."""

    session: Session
    year: str
    letter_date: date
    council: Council = field(default_factory=council_details)
    _params: PolicyParameters | None = None
    _wordings: dict[LetterKind, Wording] = field(default_factory=dict)

    @property
    def params(self) -> PolicyParameters:
        if self._params is None:
            self._params = parameters_for_year(self.year, self.session)
        return self._params

    def wording(self, kind: LetterKind) -> Wording:
        if kind not in self._wordings:
            self._wordings[kind] = current_wording(self.session, kind, self.year)
        return self._wordings[kind]

    def context(self, case: Case) -> dict[str, Any]:
        values = ctx.base_context(
            pupil=case.pupil,
            application=case.application,
            letter_date=self.letter_date,
            params=self.params,
            council=self.council,
            reference=case.reference,
        )
        values.update(case.extra)
        return values

    def row(
        self, due: Due, case: Case, made_by: tuple[int | None, str], now: datetime
    ) -> dict[str, Any]:
        """The communications-log row of one letter, with its PDF and e-mail body."""
        values = self.context(case)
        wording = self.wording(due.kind)
        title, body = render_wording(wording, values)
        contact, channel, addressee, address = ctx.recipient(case.pupil)
        pdf = PdfOrder(
            title=title,
            body=body,
            council=self.council,
            addressee=addressee,
            address=tuple(address) if channel.value == "post" else (),
            date_line=long_date(self.letter_date),
            reference=case.reference,
            subject=LABELS[due.kind],
        )
        return {
            "kind": due.kind,
            "subject_key": due.subject_key,
            "academic_year": self.year,
            "pupil_id": case.pupil.id,
            "application_id": case.application.id if case.application else None,
            "seat_application_id": case.seat_application_id,
            "contact_id": contact.id if contact else None,
            "channel": channel,
            "addressee": addressee[:200],
            "address_used": "\n".join(address),
            "template_id": wording.template_id,
            "template_version": wording.version,
            "letter_date": self.letter_date,
            "title": title[:200],
            "body_text": body,
            "pdf": pdf,
            "made_by_id": made_by[0],
            "made_by": made_by[1][:60],
            "made_at": now,
            "status": CommunicationStatus.QUEUED,
            "status_at": now,
        }


def make_letters(
    session: Session,
    year: str,
    kinds: Sequence[LetterKind],
    *,
    on: date | None = None,
    progress: Progress | None = None,
    chunk: int = CHUNK,
    only: Callable[[Due], bool] | None = None,
) -> LettersReport:
    """Make every letter owed for the year (with `only`, those about some records), a chunk
    per transaction; returns what was done.

    Stale queued letters are cancelled in the first transaction. Each chunk's letters commit
    together; if the process dies, rerunning makes only the letters still owed.
    """
    letter_date = on or today_in_england()
    now = datetime.now(UTC)
    actor = current_actor(session)
    made_by = (actor.user_id, actor.username)
    report = LettersReport()
    owed, stale = letters_owed(session, year, kinds, letter_date, only=only)
    report.cancelled = cancel_stale(session, stale, now)
    session.commit()
    maker = LetterMaker(session, year, letter_date)
    total = len(owed)
    if progress:
        progress(0, total)

    def finish(rows: list[dict[str, Any]], pdfs: Callable[[], list[bytes]], done: int) -> None:
        for row, pdf in zip(rows, pdfs(), strict=True):
            row["pdf"] = pdf
        if rows:
            # Core executemany: one statement, one audit row (the ORM would split the batch).
            session.execute(insert(table_of(Communication)), rows)
        session.commit()
        report.made += len(rows)
        report.by_kind.update(str(r["kind"].value) for r in rows)
        if progress:
            progress(done, total)

    # A chunk's PDFs are drawn by the pool (render_soon) while the next chunk is read and
    # worded here; each chunk still commits whole, with its letters and nothing else.
    pending: tuple[list[dict[str, Any]], Callable[[], list[bytes]], int] | None = None
    for start in range(0, total, chunk):
        part = owed[start : start + chunk]
        by_kind: dict[LetterKind, list[Due]] = defaultdict(list)
        for due in part:
            by_kind[due.kind].append(due)
        cases: dict[tuple[Loader, int], Case] = {}
        for kind, dues in by_kind.items():
            loader = LOADERS[kind]
            missing = [d.record_id for d in dues if (loader, d.record_id) not in cases]
            for record_id, found in loader(session, missing).items():
                cases[(loader, record_id)] = found
        rows = [
            maker.row(due, cases[(LOADERS[due.kind], due.record_id)], made_by, now)
            for due in part
            if (LOADERS[due.kind], due.record_id) in cases
        ]
        drawn = render_soon([r["pdf"] for r in rows])
        if pending is not None:
            finish(*pending)
        pending = (rows, drawn, min(start + chunk, total))
    if pending is not None:
        finish(*pending)
    return report
