"""Home is the day's work: per role, the counts that matter, each a link to the list behind it.

The counts come from services/queues.py, the same definitions the linked filters apply, in a
fixed number of grouped statements (tests/test_home.py counts them). The supervisor's chart
(decisions per week against the B2 target) is inline SVG drawn on the server with its numbers
in a table too: no script, so it renders under the panel's CSP and reads without sight.
"""

from __future__ import annotations

from calendar import month_name
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from markupsafe import Markup, escape

from models import db
from models.enums import AppealStage, Role
from rules.academic_year import academic_year_of
from rules.figures import quote
from rules.parameters import parameters_for
from services import queues, years
from services.errors import ServiceError

from .base import SecuredIndexView
from .import_runs import PROBLEMS_FILTER
from .queue_filters import APPEAL_FILTER, ASSIGNED_FILTER, B2_FILTER, WAITING_FILTER


@dataclass(frozen=True)
class Tile:
    """One count on the home page: what it is, how many, where the list is, who sees it."""

    key: str
    label: str
    explanation: str
    roles: frozenset[Role]
    count: int = 0
    url: str | None = None


ALL = frozenset(Role)
OFFICER_UP = frozenset({Role.OFFICER, Role.SUPERVISOR})
SUPERVISOR = frozenset({Role.SUPERVISOR})
# Who keys and maintains the lists (DOMAIN.md roles): the imports are theirs to put right.
KEYING = frozenset({Role.ASSISTANT, Role.SUPERVISOR})


def b2_words(today: date, label: str | None) -> dict[str, str]:
    """B2's figures as the home page quotes them, from the year in force (rules/figures.toml,
    or the supervisors' figures for it): the decision target and the busy months."""
    try:
        params = years.policy_for(label or academic_year_of(today).label)
    except ServiceError:
        params = parameters_for(academic_year_of(today).label)
    first, last = params.busy_period_first_month, params.busy_period_last_month
    return {
        "target": quote("decision_target_working_days", params.decision_target_working_days),
        "busy": f"{month_name[first]}-{month_name[last]}",
    }


def filter_url(admin: Any, endpoint: str, wanted: list[tuple[str, str]], **extra: Any) -> str:
    """The list of `endpoint` with filters (by their names) set: Flask-Admin numbers its
    filters, so the arguments are looked up rather than written by hand."""
    view = next(v for v in admin._views if getattr(v, "endpoint", None) == endpoint)
    args: dict[str, Any] = dict(extra)
    for position, (name, value) in enumerate(wanted):
        index, flt = next((i, f) for i, f in enumerate(view._filters or ()) if str(f.name) == name)
        args[f"flt{position}_{view.get_filter_arg(index, flt)}"] = value
    return url_for(f"{endpoint}.index_view", **args)


def week_chart(weeks: list[queues.WeekBar]) -> Markup:
    """Stacked bars per week: decided within the B2 target, in B2a's busy months, late."""
    if not weeks:
        return Markup("")
    width, label_w, bar_h, gap = 640, 110, 22, 6
    top = max((w.decided for w in weeks), default=0) or 1
    span = width - label_w - 60
    height = (bar_h + gap) * len(weeks) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="b2-chart-title" '
        f'class="report-chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        '<title id="b2-chart-title">Decisions per week against the B2 target '
        "(the table below gives the same figures)</title>",
    ]
    for i, week in enumerate(weeks):
        y = 5 + i * (bar_h + gap)
        x = label_w
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"w/c {week.monday:%d %b}</text>"
        )
        for value, colour, what in (
            (week.in_target, "#1d6b2f", "within target"),
            (week.busy, "#6b5b1d", "busy period"),
            (week.late, "#a4262c", "late"),
        ):
            if not value:
                continue
            w = max(int(value / top * span), 1)
            parts.append(
                f'<rect x="{x}" y="{y}" width="{w}" height="{bar_h}" fill="{colour}">'
                f"<title>{escape(what)}: {value}</title></rect>"
            )
            x += w
        parts.append(f'<text x="{x + 4}" y="{y + 15}" font-size="12">{week.decided}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def route_chart(routes: list[queues.RouteUse]) -> Markup:
    """Seats used per route, morning and afternoon bars against a line at the vehicle's seats;
    a session over capacity in red (A1, Appendix F). The fullest routes only (`queues`)."""
    if not routes:
        return Markup("")
    width, label_w, bar_h, gap = 640, 90, 10, 8
    top = max(max(r.am, r.pm) / r.seats for r in routes)
    span = (width - label_w - 90) / max(top, 1.0)
    row_h = 2 * bar_h + gap
    height = row_h * len(routes) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="seats-chart-title" '
        f'class="report-chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        '<title id="seats-chart-title">Seats used per route, morning and afternoon, against '
        "the vehicle's seats (the table below gives the same figures)</title>",
    ]
    full = label_w + span
    for i, route in enumerate(routes):
        y = 5 + i * row_h
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_h + 4}" text-anchor="end" font-size="12">'
            f"{escape(route.code)}</text>"
        )
        for n, (session, used) in enumerate((("AM", route.am), ("PM", route.pm))):
            w = max(int(used / route.seats * span), 1 if used else 0)
            colour = "#a4262c" if used > route.seats else "#1d4f91" if n == 0 else "#5b7db8"
            parts.append(
                f'<rect x="{label_w}" y="{y + n * bar_h}" width="{w}" height="{bar_h - 1}" '
                f'fill="{colour}"><title>{escape(route.code)} {session}: {used} of '
                f"{route.seats} seats</title></rect>"
            )
        parts.append(
            f'<text x="{label_w + max(route.am, route.pm) / route.seats * span + 4:.0f}" '
            f'y="{y + bar_h + 4}" font-size="12">{max(route.am, route.pm)}/{route.seats}</text>'
        )
    parts.append(
        f'<line x1="{full:.0f}" y1="0" x2="{full:.0f}" y2="{height}" stroke="#212529" '
        'stroke-dasharray="4 3"><title>All seats used</title></line>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


class HomeView(SecuredIndexView):
    """The panel's index page."""

    @expose("/")
    def index(self):  # type: ignore[no-untyped-def]
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.path))
        today = years.today()
        in_force = years.years_in_force(db.session, today)
        roles = set(current_user.roles)
        chart = bool(roles & SUPERVISOR)
        work = queues.day_work(db.session, today, current_user.id, in_force, chart=chart)
        b2 = b2_words(today, in_force[0] if in_force else None)
        tiles = [t for t in self.tiles(work.counts, b2) if roles & t.roles]
        return self.render(
            "admin/home.html",
            b2=b2,
            tiles=tiles,
            work=work,
            chart=week_chart(work.weeks) if chart else None,
            route_chart=route_chart(work.routes) if chart else None,
            newcomer=self.first_steps(roles),
        )

    def tiles(self, counts: dict[str, int], b2: dict[str, str] | None = None) -> list[Tile]:
        b2 = b2 or b2_words(years.today(), None)
        admin = self.admin
        ta_list = "transport_application"

        def ta(flt: list[tuple[str, str]]) -> str:
            return filter_url(admin, ta_list, flt)

        def appeals(key: str) -> str:
            return filter_url(admin, "appeal", [(APPEAL_FILTER, key)])

        found = [
            Tile(
                "mine",
                "Assigned to me",
                "Applications you are working on.",
                ALL,
                counts["mine"],
                ta([(ASSIGNED_FILTER, "me")]),
            ),
            Tile(
                "to_measure",
                "To measure",
                "A route distance would decide these; measure it, then assess again (A3b).",
                ALL,
                counts["to_measure"],
                url_for(f"{ta_list}.queue", queue_name="measure"),
            ),
            Tile(
                "to_refer",
                "To refer to an officer",
                "An officer's determination is pending (A11, A13, A21).",
                OFFICER_UP,
                counts["to_refer"],
                url_for(f"{ta_list}.queue", queue_name="refer"),
            ),
            Tile(
                "awaiting_sign_off",
                "Awaiting sign-off",
                "An assistant's refusals and decisions on an officer's judgement: an officer "
                "signs them off before their letters go.",
                ALL,
                counts["awaiting_sign_off"],
                url_for(f"{ta_list}.sign_off_queue"),
            ),
            Tile(
                "b2_within",
                "Decisions due (B2)",
                f"Awaiting a decision and still within {b2['target']} of receipt (B2a).",
                ALL,
                counts["b2_within"],
                ta([(B2_FILTER, "within")]),
            ),
            Tile(
                "b2_past",
                "Decisions overdue (B2)",
                f"Awaiting a decision more than {b2['target']} after receipt (B2a).",
                ALL,
                counts["b2_past"],
                ta([(B2_FILTER, "past")]),
            ),
            Tile(
                "b2_busy",
                "Waiting, busy period",
                f"Received {b2['busy']}: B2a dis-applies the target, but decide quickly.",
                OFFICER_UP,
                counts["b2_busy"],
                ta([(B2_FILTER, "busy")]),
            ),
        ]
        for stage, name in ((AppealStage.REVIEW, "Stage one"), (AppealStage.PANEL, "Panel")):
            for when, words in (("overdue", "decision overdue"), ("soon", "due this week")):
                key = f"appeal_{stage.value}_{when}"
                found.append(
                    Tile(
                        key,
                        f"Appeals: {name.lower()} {words}",
                        f"{name} appeals pending with their Appendix C decision date "
                        + (
                            "passed."
                            if when == "overdue"
                            else f"in the next {queues.SOON_WORKING_DAYS} working days."
                        ),
                        OFFICER_UP,
                        counts[key],
                        appeals(f"{stage.value}_{when}"),
                    )
                )
        found += [
            Tile(
                "letters_failed",
                "Letters failed",
                "Letters or e-mails that could not be sent (B1i): check the address.",
                ALL,
                counts["letters_failed"],
                filter_url(admin, "communication", [("Status", "failed")]),
            ),
            Tile(
                "letters_queued",
                "Letters not yet sent",
                "Made and waiting for the post run or GOV.UK Notify (B1i).",
                ALL,
                counts["letters_queued"],
                filter_url(admin, "communication", [("Status", "queued")]),
            ),
            Tile(
                "letters_owed",
                "Letters owed",
                "Decisions, seats, withdrawals, appeal steps and overdue instalments whose "
                "letter has not been made yet (B1i).",
                ALL,
                counts["letters_owed"],
                url_for("communication.owed"),
            ),
            Tile(
                "imports_problems",
                "Imports with problems",
                "Files refused for errors and not imported cleanly since: put the rows right "
                "and import again.",
                KEYING,
                counts["imports_problems"],
                filter_url(admin, "import_run", [(PROBLEMS_FILTER, "1")]),
            ),
            Tile(
                "instalments_overdue",
                "Overdue instalments",
                "Past their due date and not fully paid (B1j).",
                ALL,
                counts["instalments_overdue"],
                filter_url(admin, "instalment", [("Overdue", "1")]),
            ),
            Tile(
                "waiting_with_seats",
                "Waiting with a free seat",
                "On a waiting list for a route with a seat free in their session "
                "(Appendix F): offer the next place.",
                ALL,
                counts["waiting_with_seats"],
                filter_url(admin, "concessionary_application", [(WAITING_FILTER, "1")]),
            ),
            Tile(
                "routes_over",
                "Routes over capacity",
                "More passengers than seats in a session (A1, Appendix F).",
                OFFICER_UP,
                counts["routes_over"],
                filter_url(admin, "route", [("Over capacity", "1")]),
            ),
        ]
        return found

    def first_steps(self, roles: set[Role]) -> list[tuple[str, str]]:
        """New here? The few pages to try first, for the role."""
        steps = [
            ("Find a child by name or reference, and open their case", url_for("pupil.index_view")),
            (
                "See the applications to measure",
                url_for("transport_application.queue", queue_name="measure"),
            ),
        ]
        if roles & OFFICER_UP:
            steps.append(
                (
                    "Take an application referred to an officer",
                    url_for("transport_application.queue", queue_name="refer"),
                )
            )
            steps.append(("Check the appeals and their deadlines", url_for("appeal.index_view")))
        if roles & SUPERVISOR:
            steps.append(
                ("Review this year's policy figures", url_for("policy_parameter_set.index_view"))
            )
        return steps
