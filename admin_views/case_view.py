"""The case view on a pupil's page: the whole case in time order, notes and evidence.

Mixed into the pupil screen so the case is where staff already look for the child. Adding a
note or uploading evidence is open to every staff role (the pupil screen's read roles, checked
by Flask-Admin's access check for each endpoint); a download is recorded every time
(services/casework.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from models import Pupil, db
from models.case_document import DocumentKind
from services import casework

from .base import OFFICERS, STAFF, SUPERVISORS, user_has


def documents_root() -> Path:
    return Path(str(current_app.config["CASE_DOCUMENTS_DIR"]))


class CaseViewMixin:
    """Pupil details become the case; three endpoints write to it."""

    details_template = "admin/pupils/details.html"

    def render(self, template: str, **kwargs: Any) -> Any:
        model = kwargs.get("model")
        if template == self.details_template and isinstance(model, Pupil):
            case = casework.case_file(db.session, model)
            kwargs.update(
                case=case,
                kinds=[(k.value, casework.KIND_LABELS[k]) for k in DocumentKind],
                application_choices=casework.application_choices(case.applications),
                is_officer=user_has(OFFICERS),
                is_supervisor=user_has(SUPERVISORS),
                assignable=casework.staff(db.session) if user_has(SUPERVISORS) else [],
                case_url=url_for(".details_view", id=model.id),
                max_mb=casework.MAX_DOCUMENT_BYTES // 1024 // 1024,
            )
        return super().render(template, **kwargs)  # type: ignore[misc]

    def _back(self, pupil_id: int) -> Any:
        return redirect(url_for(".details_view", id=pupil_id) + "#case")

    @expose("/case/<int:pupil_id>/note", methods=("POST",))
    def add_note(self, pupil_id: int) -> Any:
        if not user_has(STAFF) or db.session.get(Pupil, pupil_id) is None:
            abort(404)
        try:
            casework.add_note(
                db.session,
                pupil_id,
                request.form.get("text", ""),
                current_user.id,
                casework.as_int(request.form.get("application_id")),
            )
        except casework.CaseError as error:
            db.session.rollback()
            flash(f"Note not added. {error.message}", "error")
            return self._back(pupil_id)
        db.session.commit()
        flash("Note added to the case.", "success")
        return self._back(pupil_id)

    @expose("/case/<int:pupil_id>/document", methods=("POST",))
    def upload_document(self, pupil_id: int) -> Any:
        if not user_has(STAFF) or db.session.get(Pupil, pupil_id) is None:
            abort(404)
        upload = request.files.get("file")
        try:
            document = casework.store_document(
                db.session,
                documents_root(),
                pupil_id=pupil_id,
                kind=request.form.get("kind", ""),
                filename=(upload.filename or "") if upload else "",
                content_type=upload.mimetype if upload else "",
                data=upload.read(casework.MAX_DOCUMENT_BYTES + 1) if upload else b"",
                uploaded_by_id=current_user.id,
                application_id=casework.as_int(request.form.get("application_id")),
            )
        except casework.CaseError as error:
            db.session.rollback()
            flash(f"Document not uploaded. {error.message}", "error")
            return self._back(pupil_id)
        db.session.commit()
        flash(f"{document.filename} added to the case.", "success")
        return self._back(pupil_id)

    @expose("/case/<int:pupil_id>/document/<int:document_id>")
    def download_document(self, pupil_id: int, document_id: int) -> Any:
        if not user_has(STAFF):
            abort(403)
        try:
            document, data = casework.open_document(
                db.session, documents_root(), document_id, current_user.id, current_user.username
            )
        except casework.CaseError as error:
            db.session.rollback()
            flash(error.message, "error")
            return self._back(pupil_id)
        if document.pupil_id != pupil_id:
            db.session.rollback()
            abort(404)
        db.session.commit()
        return Response(
            data,
            mimetype=document.content_type,
            headers={
                "Content-Disposition": f'attachment; filename="{_safe(document.filename)}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._- " else "_" for c in name)[:120] or "document"
