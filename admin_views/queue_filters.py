"""List filters for the home page's queues, applying services/queues.py's definitions.

Each home count links to a list with one of these set, so the count and the rows behind it
come from the same clause.
"""

from __future__ import annotations

from typing import Any

from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_login import current_user

from models import Appeal, ConcessionaryApplication, TransportApplication, db
from models.enums import AppealStage
from services import queues, years

# The filters' names: the home page finds them by name to build its links.
B2_FILTER = "Decision target (B2)"
ASSIGNED_FILTER = "Assigned to"
APPEAL_FILTER = "Due (Appendix C)"
WAITING_FILTER = "Waiting with a free seat"


class B2Filter(BaseSQLAFilter):
    """B2a: awaiting a decision, within or past the year's target from receipt."""

    def __init__(self, name: str) -> None:
        super().__init__(TransportApplication.id, name, options=list(queues.B2_LABELS.items()))

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        if value not in queues.B2_LABELS:
            return query
        return query.filter(queues.B2Clock(years.today()).clause(value))

    def operation(self) -> str:
        return "is"


class AssignedFilter(BaseSQLAFilter):
    """Whose case it is: mine, or nobody's yet."""

    def __init__(self, name: str) -> None:
        super().__init__(
            TransportApplication.id, name, options=[("me", "Me"), ("nobody", "Nobody")]
        )

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        if value == "me":
            return query.filter(queues.assigned_to(current_user.id))
        if value == "nobody":
            return query.filter(queues.assigned_to(None))
        return query

    def operation(self) -> str:
        return "is"


APPEAL_DUE_OPTIONS = [
    (f"{stage.value}_{when}", f"{name}: {words}")
    for stage, name in ((AppealStage.REVIEW, "Stage one"), (AppealStage.PANEL, "Panel"))
    for when, words in (
        ("overdue", "decision overdue"),
        ("soon", f"due within {queues.SOON_WORKING_DAYS} working days"),
    )
]


class AppealDueFilter(BaseSQLAFilter):
    """Pending appeals by their Appendix C decision date: passed, or within a working week."""

    def __init__(self, name: str) -> None:
        super().__init__(Appeal.id, name, options=APPEAL_DUE_OPTIONS)

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        stage_code, _, when = str(value).rpartition("_")
        try:
            stage = AppealStage(stage_code)
        except ValueError:
            return query
        if when not in ("overdue", "soon"):
            return query
        return query.filter(queues.appeal_due(stage, when, years.today()))  # type: ignore[arg-type]

    def operation(self) -> str:
        return "is"


class WaitingWithSeatFilter(BaseSQLAFilter):
    """Appendix F: on a waiting list for a route with a seat free in their sessions now."""

    def __init__(self, name: str) -> None:
        super().__init__(ConcessionaryApplication.id, name, options=[("1", "Yes")])

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        if value != "1":
            return query
        on = years.today()
        in_force = years.years_in_force(db.session, on)
        if not in_force:
            return query.filter(ConcessionaryApplication.id.is_(None))
        ids = queues.waiting_with_seat_ids(in_force, on)
        return query.filter(ConcessionaryApplication.id.in_(ids))

    def operation(self) -> str:
        return "is"
