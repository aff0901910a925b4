"""Eligibility decisions: read-only, because history is never overwritten.

A decision is made only by assessment (`services.assessment`), superseded by a later one and
ended by A2 or a withdrawal, never edited or deleted from a screen, by anyone: a family's appeal
(Appendix C) must be able to see exactly what was decided, on which facts, by whom and when.
"""

from __future__ import annotations

from typing import Any

from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual
from markupsafe import Markup, escape
from sqlalchemy.orm import joinedload

from models import EligibilityDecision, TransportApplication
from models.enums import Charge, Outcome

from .base import STAFF, AppModelView, summary_list
from .enum_support import _label
from .transport_applications import BASES


class _CurrentFilter(BaseSQLAFilter):
    """Current (not superseded) or superseded decisions."""

    def __init__(self) -> None:
        super().__init__(
            EligibilityDecision.superseded_at,
            "Current or superseded",
            options=[("current", "current"), ("superseded", "superseded")],
        )

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        if value == "superseded":
            return query.filter(EligibilityDecision.superseded_at.is_not(None))
        return query.filter(EligibilityDecision.superseded_at.is_(None))

    def operation(self) -> str:
        return "is"


def _lines(_view: Any, _context: Any, model: EligibilityDecision, name: str) -> Markup:
    return Markup("<br>".join(escape(str(item)) for item in getattr(model, name) or ()))


def _json(_view: Any, _context: Any, model: EligibilityDecision, name: str) -> Markup:
    """The facts the rules were given, as a summary list in words (issue 15, not JSON)."""
    value = getattr(model, name)
    return summary_list(value) if isinstance(value, dict) else Markup(escape(str(value)))


def _clauses(_view: Any, _context: Any, model: EligibilityDecision, _name: str) -> str:
    return ", ".join(model.clauses or ())


def _pupil(_view: Any, _context: Any, model: EligibilityDecision, _name: str) -> str:
    return str(model.application.pupil)


def _charge(_view: Any, _context: Any, model: EligibilityDecision, _name: str) -> str:
    return "" if model.charge is None else _label(model.charge)


def _when(_view: Any, _context: Any, model: EligibilityDecision, name: str) -> str:
    value = getattr(model, name)
    return "" if value is None else value.strftime("%d %b %Y %H:%M")


def _year(_view: Any, _context: Any, model: EligibilityDecision, _name: str) -> str:
    return model.application.academic_year


class EligibilityDecisionView(AppModelView):
    read_roles = STAFF
    write_roles = ()  # nobody: decisions are made by assessment only
    allow_create = False
    allow_edit = False
    allow_delete = False
    can_view_details = True

    column_list = (
        "application",
        "pupil",
        "academic_year",
        "outcome",
        "basis",
        "clauses",
        "charge",
        "valid_until",
        "review_date",
        "decided_by",
        "decided_at",
        "superseded_at",
        "ended_on",
    )
    column_details_list = (
        "application",
        "pupil",
        "academic_year",
        "outcome",
        "basis",
        "clauses",
        "charge",
        "valid_until",
        "review_date",
        "reasons",
        "facts",
        "facts_hash",
        "parameters_year",
        "decided_by",
        "decided_at",
        "superseded_at",
        "ended_on",
        "end_reason",
    )
    column_export_list = column_details_list
    column_labels = {
        "application": "TRA number",
        "academic_year": "Academic year",
        "basis": "Deciding clause",
        "clauses": "Every clause relied on",
        "valid_until": "Valid until",
        "review_date": "Review by",
        "decided_by": "Decided by",
        "decided_at": "Decided at",
        "superseded_at": "Superseded at",
        "ended_on": "Ended on",
        "end_reason": "Why it ended",
        "facts": "Facts given to the rules",
        "facts_hash": "Facts fingerprint",
        "parameters_year": "Policy figures of",
    }
    column_formatters = {
        "clauses": _clauses,
        "pupil": _pupil,
        "academic_year": _year,
        "charge": _charge,
        "decided_at": _when,
        "superseded_at": _when,
    }
    column_formatters_detail = {
        "clauses": _clauses,
        "pupil": _pupil,
        "academic_year": _year,
        "charge": _charge,
        "decided_at": _when,
        "superseded_at": _when,
        "reasons": _lines,
        "facts": _json,
    }
    column_formatters_export = {"clauses": _clauses, "pupil": _pupil, "academic_year": _year}
    column_sortable_list = ("outcome", "basis", "valid_until", "decided_at", "superseded_at")
    column_default_sort = ("decided_at", True)
    # Tens of thousands of rows a year: counting every match on each page (a full scan for a
    # search) cost more than the page itself (bench/profiles/NOTES.md).
    simple_list_pager = True
    column_searchable_list = (TransportApplication.reference,)
    # Explicit filters: Flask-Admin's own enum filters look values up by member name and fail
    # on the stored codes ("not_eligible"), so enum columns get plain equality on the code.
    column_filters = (
        FilterEqual(
            EligibilityDecision.outcome,
            "Outcome",
            options=[(o.value, _label(o)) for o in Outcome],
        ),
        FilterEqual(EligibilityDecision.basis, "Deciding clause", options=[(b, b) for b in BASES]),
        FilterEqual(
            EligibilityDecision.charge,
            "Charge",
            options=[(c.value, _label(c)) for c in Charge],
        ),
        FilterEqual("application.academic_year", "Academic year (e.g. 2024/25)"),
        _CurrentFilter(),
        "ended_on",
        "decided_at",
    )
    column_choices = {"outcome": [(o.value, _label(o)) for o in Outcome]}
    column_select_related_list = (EligibilityDecision.decided_by,)

    def get_query(self) -> Any:
        """The TRA number and the pupil come with each row: one query for the page."""
        return (
            super()
            .get_query()
            .options(
                joinedload(EligibilityDecision.application).joinedload(TransportApplication.pupil)
            )
        )


VIEW = (EligibilityDecisionView, EligibilityDecision, "Eligibility decisions", "Casework")
