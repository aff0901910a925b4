"""Upload pages for the imports: check and preview first, then an explicit "Import".

The preview step stores the uploaded bytes in the instance folder under a random token and
shows the report and the changes the file would make; the confirm step takes only the token,
re-reads the stored file on the server and runs the import again, checking everything afresh
(the database may have changed in between). Nothing the browser sends back but the token and
the CSRF field is trusted. Assistants and up (server-side check on every endpoint).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

from flask import abort, current_app, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user

from imports import applications as applications_import
from imports import areas as areas_import
from imports import casework_facts
from imports.report import ImportReport
from models import db
from services import import_runs
from services.private_files import private_dir, write_private

from .base import ASSISTANTS, user_has

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
MAX_AGE_SECONDS = 24 * 3600

KINDS: dict[str, str] = {
    "schools": "Schools (GIAS establishment CSV)",
    "areas": "Parishes, postcodes and DTAs (CSV or XLSX)",
    "applications": "Pupils and applications (CSV or XLSX)",
    "low-income": "Low-income evidence per year (free school meals; CSV or XLSX)",
    "care": "Care status and placements of pupils (CSV or XLSX)",
    "satellites": "Satellites' main sites (CSV or XLSX)",
    "post16": "Post-16 course facts on applications (CSV or XLSX)",
}


def _run(kind: str, data: bytes, filename: str, la: int | None, commit: bool) -> ImportReport:
    if kind == "schools":
        from imports.gias import import_schools

        return import_schools(data, filename, la, commit=commit)
    if kind == "areas":
        return areas_import.import_areas(data, filename, commit=commit)
    if kind in casework_facts.IMPORTERS:
        return casework_facts.IMPORTERS[kind](data, filename, commit=commit)
    # The signed-in account decides what the file may write, as on the form (determinations).
    return applications_import.import_applications(
        data, filename, commit=commit, user_id=current_user.id
    )


def _recorded(report: ImportReport, filename: str, via: str) -> ImportReport:
    """Every run is recorded, refused or not, in a transaction of its own (the import has
    committed or rolled back its rows already): the home page counts the refused ones."""
    import_runs.record(
        db.session,
        kind=report.kind,
        filename=filename,
        via=via,
        rows_read=report.rows_read,
        error_count=report.error_count,
        committed=report.committed,
        user_id=current_user.id,
        username=current_user.username,
    )
    db.session.commit()
    return report


def _store() -> Path:
    """IMPORT_UPLOAD_DIR, else instance/uploads: private to the server, never served."""
    configured = current_app.config.get("IMPORT_UPLOAD_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "uploads"
    return private_dir(path)


def _tidy(store: Path) -> None:
    """Uploads never confirmed are removed after a day: they hold children's details."""
    cutoff = time.time() - MAX_AGE_SECONDS
    for item in store.iterdir():
        try:
            if item.stat().st_mtime < cutoff:
                item.unlink()
        except OSError:
            continue


class ImportView(BaseView):
    roles = ASSISTANTS

    def is_accessible(self) -> bool:
        return user_has(self.roles)

    def inaccessible_callback(self, name: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)

    def _docs(self) -> dict[str, Any]:
        from imports import gias

        return {
            "schools": gias.__doc__,
            "areas": areas_import.__doc__,
            "applications": applications_import.__doc__,
            **{kind: casework_facts.__doc__ for kind in casework_facts.IMPORTERS},
        }

    @expose("/")
    def index(self):  # type: ignore[no-untyped-def]
        return self.render("imports/index.html", kinds=KINDS, docs=self._docs(), error=None)

    @expose("/preview", methods=("POST",))
    def preview(self):  # type: ignore[no-untyped-def]
        kind = request.form.get("kind", "")
        upload = request.files.get("file")
        la_text = request.form.get("la", "").strip()
        error = None
        la: int | None = None
        if kind not in KINDS:
            error = "Choose what the file holds."
        elif upload is None or not upload.filename:
            error = "Choose a file to upload."
        elif la_text:
            if not la_text.isdigit() or not 1 <= int(la_text) <= 999:
                error = "The local authority code is a number such as 925."
            else:
                la = int(la_text)
        if error:
            return self.render(
                "imports/index.html", kinds=KINDS, docs=self._docs(), error=error
            ), 400
        assert upload is not None
        data = upload.read()
        filename = Path(upload.filename or "upload").name[:120]
        report = _run(kind, data, filename, la if kind == "schools" else None, commit=False)
        _recorded(report, filename, "check")
        token = None
        if report.ok:
            store = _store()
            _tidy(store)
            token = secrets.token_urlsafe(24)
            write_private(store / f"{token}.bin", data)
            meta = {"kind": kind, "filename": filename, "la": la, "user_id": current_user.id}
            write_private(store / f"{token}.json", json.dumps(meta))
        return self.render("imports/preview.html", report=report, token=token, kind=kind, la=la)

    @expose("/confirm", methods=("POST",))
    def confirm(self):  # type: ignore[no-untyped-def]
        token = request.form.get("token", "")
        if not TOKEN_RE.match(token):
            abort(400)
        store = _store()
        meta_path, data_path = store / f"{token}.json", store / f"{token}.bin"
        try:
            meta = json.loads(meta_path.read_text())
            data = data_path.read_bytes()
        except (OSError, ValueError):
            return self.render(
                "imports/index.html",
                kinds=KINDS,
                docs=self._docs(),
                error="That upload has expired or was already imported; please upload it again.",
            ), 400
        if meta.get("user_id") != current_user.id:
            abort(403)
        report = _run(meta["kind"], data, meta["filename"], meta.get("la"), commit=True)
        _recorded(report, meta["filename"], "import")
        if report.committed:
            for path in (meta_path, data_path):
                path.unlink(missing_ok=True)
        return self.render("imports/result.html", report=report, kind=meta["kind"])


PAGE = (ImportView, "Imports", "Reference data", "imports")
