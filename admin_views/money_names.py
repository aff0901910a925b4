"""Money a person can reconcile: every money list names the child and the application.

A payment, instalment, refund, contribution or withdrawal is found by what the family quotes:
the child's name or reference, or the application's reference (the CSA number of a seat, the
TRA number of a post-16 charge). One query per page puts those names next to the rows; the
search tests the same names through one IN subquery per word (no join fan-out).
"""

from __future__ import annotations

from typing import Any

from flask import g, url_for
from flask_admin.contrib.sqla import tools
from markupsafe import Markup, escape
from sqlalchemy import ColumnElement, String, func, or_, select
from sqlalchemy.orm import aliased

from models import (
    ConcessionaryApplication,
    ConcessionarySeat,
    Contribution,
    EligibilityDecision,
    Pupil,
    Route,
    TransportApplication,
    Withdrawal,
    db,
)

NAME_COLUMNS = {"child": "Child", "application_ref": "Application"}


def names_stmt(model: type) -> Any:
    """(row id, pupil id, pupil reference, first name, surname, application reference)."""
    ca, seat, ta = ConcessionaryApplication, ConcessionarySeat, TransportApplication
    if model is Withdrawal:
        decision_app = aliased(TransportApplication)
        return (
            select(
                Withdrawal.id.label("id"),
                Pupil.id.label("pupil_id"),
                Pupil.reference.label("pupil_ref"),
                Pupil.first_name,
                Pupil.last_name,
                func.coalesce(ca.reference, decision_app.reference).label("app_ref"),
                *_seat_columns(),
            )
            .select_from(Withdrawal)
            .outerjoin(seat, seat.id == Withdrawal.concessionary_seat_id)
            .outerjoin(ca, ca.id == seat.application_id)
            .outerjoin(EligibilityDecision, EligibilityDecision.id == Withdrawal.decision_id)
            .outerjoin(decision_app, decision_app.id == EligibilityDecision.application_id)
            .join(Pupil, Pupil.id == func.coalesce(ca.pupil_id, decision_app.pupil_id))
            .outerjoin(Route, Route.id == seat.route_id)
        )
    own = Contribution.id if model is Contribution else model.id  # type: ignore[attr-defined]
    stmt = select(
        own.label("id"),
        Pupil.id.label("pupil_id"),
        Pupil.reference.label("pupil_ref"),
        Pupil.first_name,
        Pupil.last_name,
        func.coalesce(ca.reference, ta.reference).label("app_ref"),
        *_seat_columns(),
    ).select_from(model)
    if model is not Contribution:
        stmt = stmt.join(Contribution, Contribution.id == model.contribution_id)  # type: ignore[attr-defined]
    return (
        stmt.join(Pupil, Pupil.id == Contribution.pupil_id)
        .outerjoin(seat, seat.id == Contribution.concessionary_seat_id)
        .outerjoin(ca, ca.id == seat.application_id)
        .outerjoin(ta, ta.id == Contribution.transport_application_id)
        .outerjoin(Route, Route.id == seat.route_id)
    )


def _seat_columns() -> list[Any]:
    seat = ConcessionarySeat
    return [
        Route.code.label("route_code"),
        seat.sessions.label("seat_sessions"),
        seat.start_date.label("seat_start"),
    ]


class MoneyNamesMixin:
    """Adds the Child and Application columns, and searches by them."""

    model: type

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        count, rows = super().get_list(*args, **kwargs)  # type: ignore[misc]
        if isinstance(rows, list):
            self.get_list_names(rows)
        return count, rows

    def _names(self, model: Any) -> Any:
        return getattr(g, "money_names", {}).get(model.id)

    def _child(self, _context: Any, model: Any, _name: str) -> Any:
        row = self._names(model)
        if row is None:
            return ""
        text = f"{row['first_name']} {row['last_name']} ({row['pupil_ref']})"
        link = url_for("pupil.details_view", id=row["pupil_id"])
        return Markup(f'<a href="{escape(link)}">{escape(text)}</a>')

    def _child_text(self, _context: Any, model: Any, _name: str) -> str:
        row = self._names(model)
        return "" if row is None else f"{row['first_name']} {row['last_name']} ({row['pupil_ref']})"

    def _seat(self, _context: Any, model: Any, _name: str) -> str:
        """The seat as `ConcessionarySeat.__str__` words it, from the page's one query (its
        route was lazy-loaded per row, and an export streamed after the session had closed)."""
        row = self._names(model)
        if row is None or row["route_code"] is None:
            return ""
        return f"{row['route_code']} {row['seat_sessions'].value} from {row['seat_start']:%d %b %Y}"

    def _application(self, _context: Any, model: Any, _name: str) -> str:
        row = self._names(model)
        return "" if row is None or row["app_ref"] is None else str(row["app_ref"])

    def get_list_names(self, rows: list[Any]) -> None:
        """The names for these rows: one query per 500 (one for any list page; an export of
        many rows a few more)."""
        ids = [r.id for r in rows]
        found: dict[int, Any] = {}
        sub = names_stmt(self.model).subquery()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for row in db.session.execute(select(sub).where(sub.c.id.in_(chunk))).mappings():
                found[row["id"]] = row
        g.money_names = found

    def _apply_search(  # type: ignore[no-untyped-def]
        self, query, count_query, joins, count_joins, search: str
    ):
        """Each word: the child's reference or names, the application reference, or one of
        the view's own searchable columns."""
        sub = names_stmt(self.model).subquery()
        postgresql = db.session.get_bind().dialect.name == "postgresql"
        own = [c for c, path in (getattr(self, "_search_fields", None) or ()) if not path]

        def like(column: Any, pattern: str) -> ColumnElement[bool]:
            text = column if isinstance(column.type, String) else column.cast(String)
            return text.ilike(pattern) if postgresql else text.like(pattern)

        for term in search.split():
            pattern = tools.parse_like_term(term)
            by_name = select(sub.c.id).where(
                or_(
                    *(
                        like(sub.c[k], pattern)
                        for k in ("pupil_ref", "first_name", "last_name", "app_ref")
                    )
                )
            )
            found = or_(self.model.id.in_(by_name), *(like(c, pattern) for c in own))  # type: ignore[attr-defined]
            query = query.filter(found)
            if count_query is not None:
                count_query = count_query.filter(found)
        return query, count_query, joins, count_joins


def name_columns(mixin: type[MoneyNamesMixin] = MoneyNamesMixin) -> dict[str, Any]:
    return {
        "child": mixin._child,
        "application_ref": mixin._application,
        "concessionary_seat": mixin._seat,
    }


def name_export_columns(mixin: type[MoneyNamesMixin] = MoneyNamesMixin) -> dict[str, Any]:
    return {
        "child": mixin._child_text,
        "application_ref": mixin._application,
        "concessionary_seat": mixin._seat,
    }
