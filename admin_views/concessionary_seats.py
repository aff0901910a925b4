"""Concessionary seats held (Appendix F), with whether each is live yet.

B1j: payment comes before travel, so a seat whose first instalment is unpaid shows "awaiting
payment"; the state is computed for the whole page in one query, never stored.
"""

from __future__ import annotations

from typing import Any

from flask import g

from models import ConcessionaryApplication, ConcessionarySeat, Route, db
from services import contributions

from .base import ASSISTANTS, AppModelView

CS = ConcessionarySeat


class ConcessionarySeatView(AppModelView):
    write_roles = ASSISTANTS
    # Seats are made by allocation and ended by withdrawal or lapse, never typed in.
    allow_create = False
    allow_delete = False
    allow_edit = False

    column_list = ("application", "route", "sessions", "start_date", "end_date", "status", "state")
    column_labels = {"state": "State"}
    column_descriptions = {
        "state": "Awaiting payment until the first instalment is paid (B1j: payment before "
        "travel); withdrawn seats are held until their effective date (Appendix F)",
    }
    column_select_related_list = (CS.application, CS.route)
    column_searchable_list = (ConcessionaryApplication.reference, Route.code)
    column_filters = (CS.status, CS.sessions, Route.code, CS.start_date, CS.end_date)
    column_sortable_list = ("start_date", "end_date", "status", ("route", "route.code"))
    column_details_exclude_list = ("created_at", "updated_at")

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        count, rows = super().get_list(*args, **kwargs)
        g.seat_states = contributions.seat_states(db.session, [r.id for r in rows])
        return count, rows

    def _state(self, _context: Any, model: ConcessionarySeat, _name: str) -> str:
        return getattr(g, "seat_states", {}).get(model.id, "")

    column_formatters = {"state": _state}
    column_formatters_export = column_formatters


VIEW = (ConcessionarySeatView, ConcessionarySeat, "Seats", "Concessionary seats")
