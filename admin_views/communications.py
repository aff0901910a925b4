"""The communications log: every letter and e-mail a family was sent, its PDF, and a resend;
and the post room's print batches (B1i, Appendix C, Appendix F).

Letters hold personal data: staff only, every PDF download and every batch is recorded
(`LetterDownload`, whose insert is in the audit trail), the PDFs are sent with no-store, and
the log's list does not export. The list filters by pupil and application id, which is how
the pupil and application screens link to their letters.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import IntEqualFilter
from sqlalchemy import func, select
from werkzeug.utils import secure_filename

from models import Communication, LetterDownload, db
from models.enums import Channel, CommunicationStatus, LetterKind
from services.letters.kinds import FAMILIES, LABELS, UnknownFamily, kinds_of
from services.letters.sending import notify_settings, print_batch, record_download, resend

from .base import ASSISTANTS, OFFICERS, STAFF, AppModelView, user_has
from .dates import london_minute
from .jobs import year_labels

PDF_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _kind_formatter(view: Any, context: Any, model: Communication, name: str) -> str:
    return LABELS[model.kind]


def pdf_response(data: bytes, name: str) -> Response:
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{secure_filename(name)}"',
            **PDF_HEADERS,
        },
    )


class CommunicationView(AppModelView):
    read_roles = STAFF
    write_roles = ()
    allow_create = False
    allow_edit = False
    allow_delete = False
    can_export = False  # a spreadsheet of families' addresses is not a download we want
    list_template = "admin/letters/communication_list.html"
    details_template = "admin/letters/communication_details.html"

    column_list = (
        "made_at",
        "kind",
        "pupil",
        "application",
        "channel",
        "addressee",
        "status",
        "template_version",
        "made_by",
    )
    column_details_list = (
        "id",
        "kind",
        "subject_key",
        "academic_year",
        "pupil",
        "application",
        "channel",
        "addressee",
        "address_used",
        "letter_date",
        "title",
        "body_text",
        "template_version",
        "made_by",
        "made_at",
        "status",
        "status_at",
        "status_note",
        "notify_id",
        "resend_of_id",
    )
    column_formatters = {"kind": _kind_formatter}
    column_formatters_detail = {"kind": _kind_formatter}
    column_labels = {
        "made_at": "Made",
        "template_version": "Template version",
        "made_by": "Made by",
        "address_used": "Address used",
        "body_text": "Text",
        "resend_of_id": "Resend of letter",
        "notify_id": "GOV.UK Notify id",
    }
    column_filters = (
        "academic_year",
        "kind",
        "channel",
        "status",
        "made_at",
        IntEqualFilter(Communication.pupil_id, "Pupil id"),
        IntEqualFilter(Communication.application_id, "Application id"),
        IntEqualFilter(Communication.seat_application_id, "Seat application id"),
    )
    named_filter_urls = True  # links from the pupil and application pages read plainly
    column_searchable_list = ("subject_key", "addressee")
    column_default_sort = ("id", True)
    column_sortable_list = ("made_at", "kind", "channel", "status", "made_by")

    def render(self, template: str, **kwargs: Any) -> Any:
        kwargs.setdefault("notify", notify_settings())
        kwargs.setdefault("can_resend", user_has(ASSISTANTS))
        kwargs.setdefault("job_years", year_labels())
        kwargs.setdefault("letter_families", list(FAMILIES))
        kwargs.setdefault("can_start_letters", user_has(ASSISTANTS))
        return super().render(template, **kwargs)

    @expose("/pdf/<int:letter_id>")
    def pdf(self, letter_id: int) -> Any:
        """One letter's PDF; the download is recorded with the user (audit trail)."""
        row = db.session.execute(
            select(Communication.id, Communication.pdf, Communication.kind).where(
                Communication.id == letter_id
            )
        ).first()
        if row is None:
            abort(404)
        record_download(db.session, f"letter {letter_id}", [letter_id])
        db.session.commit()
        return pdf_response(row.pdf, f"letter-{letter_id}-{row.kind.value}.pdf")

    @expose("/resend/<int:letter_id>", methods=("POST",))
    def resend_letter(self, letter_id: int) -> Any:
        """The same letter again as a new queued row (post: the next batch; e-mail: the
        next send)."""
        if not user_has(ASSISTANTS):
            abort(403)
        try:
            copy = resend(db.session, letter_id)
        except LookupError:
            abort(404)
        flash(f"Letter {letter_id} will be sent again (letter {copy.id}, queued).", "success")
        return redirect(url_for(".details_view", id=copy.id))

    @expose("/owed/")
    def owed(self) -> Any:
        """Letters owed (B1i) per year and kind, as the home page counts them
        (`queues.letters_owed_by_kind`), with the button that makes them."""
        from services import queues, years

        today = years.today()
        rows = [
            (label, LABELS[LetterKind(kind)], n)
            for label in years.years_in_force(db.session, today)
            for kind, n in sorted(queues.letters_owed_by_kind(db.session, [label], today).items())
        ]
        return self.render("admin/letters/owed.html", rows=rows, total=sum(n for _y, _k, n in rows))

    @expose("/print/", methods=("GET", "POST"))
    def print_batches(self) -> Any:
        """The post room's batches: what is waiting, what was printed, and a new batch."""
        if request.method == "POST":
            if not user_has(ASSISTANTS):
                abort(403)
            year = request.form.get("year", "")
            if year not in year_labels():
                flash("Academic year: choose one of the years listed.", "error")
                return redirect(url_for(".print_batches"))
            try:
                kinds = kinds_of(request.form.get("letters") or None)
            except UnknownFamily as error:
                flash(f"Letters: {error}.", "error")
                return redirect(url_for(".print_batches"))
            document, count = print_batch(db.session, year, kinds)
            if document is None:
                flash(f"No {year} post letters are waiting to print.", "info")
                return redirect(url_for(".print_batches"))
            return pdf_response(document, f"print-batch-{year.replace('/', '-')}-{count}.pdf")
        c = Communication
        waiting = db.session.execute(
            select(c.academic_year, c.kind, func.count(c.id))
            .where(c.channel == Channel.POST, c.status == CommunicationStatus.QUEUED)
            .group_by(c.academic_year, c.kind)
            .order_by(c.academic_year, c.kind)
        ).all()
        batches = db.session.scalars(
            select(LetterDownload)
            .where(LetterDownload.what.like("print batch%"))
            .order_by(LetterDownload.id.desc())
            .limit(50)
        ).all()
        return self.render(
            "admin/letters/print_batches.html",
            waiting=[(year, LABELS[kind], n) for year, kind, n in waiting],
            batches=batches,
            when=london_minute,
        )


def related_letters(
    application_id: int | None = None, pupil_id: int | None = None, limit: int = 20
) -> dict[str, Any] | None:
    """A Jinja global: the newest letters of an application or a pupil, for their pages
    (None for a user who may not read the log)."""
    if not user_has(STAFF) or (application_id is None) == (pupil_id is None):
        return None
    c = Communication
    column, value, name = (
        (c.application_id, application_id, "application_id")
        if application_id is not None
        else (c.pupil_id, pupil_id, "pupil_id")
    )
    rows = db.session.execute(
        select(c.id, c.made_at, c.kind, c.channel, c.addressee, c.status, c.template_version)
        .where(column == value)
        .order_by(c.id.desc())
        .limit(limit)
    ).all()
    filter_args: dict[str, Any] = {f"flt0_{name}_equals": value}
    return {
        "log_url": url_for("communication.index_view", **filter_args),
        "rows": [
            {
                "id": r.id,
                "made": london_minute(r.made_at),
                "kind": LABELS[r.kind],
                "channel": r.channel.value,
                "addressee": r.addressee,
                "status": r.status.value,
                "version": r.template_version,
                "url": url_for("communication.details_view", id=r.id),
            }
            for r in rows
        ],
    }


class LetterDownloadView(AppModelView):
    """Who downloaded which letter or batch: oversight, like the audit trail."""

    read_roles = OFFICERS
    write_roles = ()
    allow_create = False
    allow_edit = False
    allow_delete = False
    can_export = False
    column_list = ("at", "username", "what")
    column_labels = {"at": "When", "username": "Who", "what": "What"}
    column_filters = ("at", "username", "what")
    column_default_sort = ("id", True)


VIEW = (CommunicationView, Communication, "Communications log", "Casework")
DOWNLOADS_VIEW = (LetterDownloadView, LetterDownload, "Letter downloads", "Administration")
