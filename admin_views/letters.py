"""Letter templates: supervisors' wording per kind and academic year, versioned, previewed
against a real case before it is saved (issue 13).

A version is never edited: "Write a new version" starts from the current wording (the
built-in one for version 0) and saving adds the next version, which every letter made after
it records. Staff may read the versions; only supervisors write them (checked on the server).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from markupsafe import Markup, escape

from models import LetterTemplate, db
from models.enums import LetterKind
from services.letters.kinds import LABELS
from services.letters.preview import NoCase, preview
from services.letters.sending import record_download
from services.letters.templates import LetterTemplateError, current_wording, save_wording

from .base import STAFF, SUPERVISORS, AppModelView, user_has, year_labels
from .communications import pdf_response


def _kind_formatter(view: Any, context: Any, model: LetterTemplate, name: str) -> str:
    return LABELS[model.kind]


def _body_formatter(view: Any, context: Any, model: LetterTemplate, name: str) -> Markup:
    return Markup('<pre class="letter-text">') + escape(model.body) + Markup("</pre>")


class LetterTemplateView(AppModelView):
    read_roles = STAFF
    write_roles = SUPERVISORS
    # Versions are added by the write page below, never edited or deleted (letters point
    # at the version they used).
    allow_create = False
    allow_edit = False
    allow_delete = False
    can_export = False
    list_template = "admin/letters/template_list.html"
    details_template = "admin/letters/template_details.html"

    column_list = ("kind", "academic_year", "version", "title", "created_by", "created_at")
    column_details_list = (
        "kind",
        "academic_year",
        "version",
        "title",
        "body",
        "created_by",
        "created_at",
    )
    column_formatters = {"kind": _kind_formatter}
    column_formatters_detail = {"kind": _kind_formatter, "body": _body_formatter}
    column_filters = ("kind", "academic_year")
    column_default_sort = ("id", True)
    column_labels = {"created_by": "Saved by", "created_at": "Saved"}

    def render(self, template: str, **kwargs: Any) -> Any:
        kwargs.setdefault("can_write", user_has(SUPERVISORS))
        kwargs.setdefault("kinds", [(k.value, LABELS[k]) for k in LetterKind])
        kwargs.setdefault("years", year_labels())
        return super().render(template, **kwargs)

    @expose("/write/", methods=("GET", "POST"))
    def write(self) -> Any:
        """Write the next version of a kind's wording for a year: preview, then save."""
        if not user_has(SUPERVISORS):
            abort(403)
        years = year_labels()
        source = request.form if request.method == "POST" else request.args
        try:
            kind = LetterKind(source.get("kind") or LetterKind.DECISION_NOT_ELIGIBLE.value)
        except ValueError:
            abort(400)
        year = source.get("year") or (years[0] if years else "")
        if year not in years:
            abort(400)
        current = current_wording(db.session, kind, year)
        title = source.get("title", current.title)
        body = source.get("body", current.body)
        reference = source.get("reference", "")
        errors: dict[str, str] = {}
        shown = None
        if request.method == "POST":
            if not title.strip():
                errors["title"] = "Give the letter a title."
            if not body.strip():
                errors["body"] = "Write the letter's text."
            if not errors and request.form.get("save"):
                try:
                    row = save_wording(db.session, kind, year, title, body, _user_id())
                except LetterTemplateError as error:
                    db.session.rollback()
                    errors["body" if str(error).startswith("body") else "title"] = str(error)
                else:
                    db.session.commit()
                    flash(
                        f"{LABELS[kind]} for {year}: version {row.version} saved; letters made "
                        "from now on use it.",
                        "success",
                    )
                    return redirect(url_for(".details_view", id=row.id))
            elif not errors:
                try:
                    shown = preview(db.session, kind, year, title, body, reference)
                except LetterTemplateError as error:
                    errors["body" if str(error).startswith("body") else "title"] = str(error)
                except NoCase as error:
                    errors["reference"] = f"{error}."
                if shown is not None and request.form.get("pdf"):
                    # A preview is a real family's letter: its download is recorded too.
                    record_download(db.session, f"preview {kind.value} {shown.reference}", [])
                    db.session.commit()
                    return pdf_response(shown.pdf, f"preview-{kind.value}.pdf")
        return self.render(
            "admin/letters/template_write.html",
            kind=kind,
            kind_label=LABELS[kind],
            year=year,
            title=title,
            body=body,
            reference=reference,
            current=current,
            errors=errors,
            shown=shown,
        )


def _user_id() -> int | None:
    from flask_login import current_user

    return int(current_user.id) if current_user.is_authenticated else None


VIEW = (LetterTemplateView, LetterTemplate, "Letter templates", "Settings")
