"""Report pages: a table, a bar chart drawn on the server as inline SVG, CSV and XLSX downloads.

The charts are plain SVG markup (no script), so they render under the panel's strict CSP.
Assistants and up may view and download (checked on the server for every endpoint).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, abort, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from markupsafe import Markup, escape

from models import db
from models.enums import AuditAction
from services import reports, years
from services.audit import record_access

from .base import ASSISTANTS, user_has

BAR_HEIGHT = 18
CHART_WIDTH = 640
LABEL_WIDTH = 220
MAX_BARS = 60


def bar_chart(series: list[tuple[str, float]], unit: str) -> Markup:
    """A horizontal bar chart as SVG; negative values (an overfull vehicle) draw in red."""
    if not series:
        return Markup("")
    shown = series[:MAX_BARS]
    top = max((abs(v) for _, v in shown), default=0) or 1
    span = CHART_WIDTH - LABEL_WIDTH - 70
    height = BAR_HEIGHT * len(shown) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="report-chart" '
        f'width="{CHART_WIDTH}" height="{height}" viewBox="0 0 {CHART_WIDTH} {height}">',
        f"<title>{escape(unit)}</title>",
    ]
    for i, (label, value) in enumerate(shown):
        y = 5 + i * BAR_HEIGHT
        width = max(int(abs(value) / top * span), 1 if value else 0)
        colour = "#c0392b" if value < 0 else "#2e6da4"
        number = f"{value:,.2f}" if unit == "£" else f"{value:,.0f}"
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end" font-size="12">'
            f"{escape(label[:34])}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{width}" height="{BAR_HEIGHT - 5}" '
            f'fill="{colour}"><title>{escape(label)}: {number}</title></rect>'
            f'<text x="{LABEL_WIDTH + width + 4}" y="{y + 13}" font-size="12">{number}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


class ReportsView(BaseView):
    roles = ASSISTANTS

    def is_accessible(self) -> bool:
        return user_has(self.roles)

    def inaccessible_callback(self, name: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)

    @expose("/")
    def index(self):  # type: ignore[no-untyped-def]
        return self.render("reports/index.html", reports=reports.REPORTS)

    @expose("/<key>/")
    def show(self, key: str):  # type: ignore[no-untyped-def]
        if key not in reports.REPORTS:
            abort(404)
        known = reports.years(db.session)
        year = request.args.get("year") or (known[0] if known else "")
        if year and year not in known:
            abort(404)
        on_text = request.args.get("on", "")
        try:
            on = date.fromisoformat(on_text) if on_text else years.today()
        except ValueError:
            on = years.today()
        report = reports.build(db.session, key, year, on) if year else None
        fmt = request.args.get("format", "")
        if fmt in ("csv", "xlsx") and report is not None:
            # Every download of a report is in the audit trail, like list exports (issue 16).
            record_access(
                AuditAction.EXPORT,
                "report",
                what=f"report {key} {fmt}",
                record_ids=[key],
                rows=len(report.rows),
                filters={"year": year, "on": on.isoformat()},
            )
        if not fmt and report is not None:
            # Reading a report on screen is recorded as a download of it is (issue 16).
            record_access(
                AuditAction.READ,
                "report",
                what=f"report {key} on screen",
                record_ids=[key],
                rows=len(report.rows),
                filters={"year": year, "on": on.isoformat()},
            )
        if fmt and report is not None:
            name = f"{key}-{year.replace('/', '-')}"
            if fmt == "csv":
                return Response(
                    report.csv_bytes(),
                    mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
                )
            if fmt == "xlsx":
                return Response(
                    report.xlsx_bytes(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
                )
            abort(400)
        chart = bar_chart(report.chart, report.chart_label) if report else Markup("")
        return self.render(
            "reports/report.html",
            key=key,
            name=reports.REPORTS[key],
            report=report,
            chart=chart,
            years=known,
            year=year,
            on=on,
        )


PAGE = (ReportsView, "Reports", "Reports", "reports")
