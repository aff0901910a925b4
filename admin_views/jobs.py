"""Background jobs: the list, one job's progress bar and report, starting and retrying jobs.

A job is started from the screen that needs it (the letters screens, the seat applications and
transport applications lists post here with a `next` page to come back to) or from this list.
The progress bar is a <progress> element refreshed by admin_views/static/jobs.js (the CSP
forbids inline scripts) from the JSON `progress` endpoint. Staff only; starting each kind
needs that kind's roles (services/jobs), checked here on the server.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_admin import expose
from markupsafe import Markup, escape

from models import Job, JobStatus, db
from services.jobs import KINDS, JobRefused, enqueue, is_stale, retry
from services.letters.kinds import FAMILIES

from .base import STAFF, AppModelView, user_has, year_labels


def progress_bar(job: Job) -> Markup:
    """The job's bar with its words, polled by jobs.js while the job is not finished."""
    live = job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    url = url_for("job.progress", job_id=job.id)
    maximum = job.total or 1
    value = job.done if job.total else (1 if job.status is JobStatus.DONE else 0)
    words = _words(job)
    return Markup(
        f'<span class="job-progress" data-job-url="{escape(url)}" data-live="{int(live)}">'
        f'<progress id="job-progress-{job.id}" max="{maximum}" value="{value}" '
        f'aria-label="Progress of job {job.id}">{job.percent}%</progress> '
        f'<span class="job-progress-words" aria-live="polite">{escape(words)}</span></span>'
    )


def _words(job: Job) -> str:
    count = f"{job.done:,} of {job.total:,}" if job.total else ""
    if job.status is JobStatus.RUNNING and is_stale(job):
        return f"stopped reporting ({job.stage or 'running'}); retry it"
    parts = [job.status.value, job.stage or "", count]
    return ", ".join(p for p in parts if p)


def _progress_formatter(view: Any, context: Any, model: Job, name: str) -> Markup:
    return progress_bar(model)


def _kind_formatter(view: Any, context: Any, model: Job, name: str) -> str:
    kind = KINDS.get(model.kind)
    return kind.label if kind else model.kind


def _parameters_formatter(view: Any, context: Any, model: Job, name: str) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted((model.parameters or {}).items()) if v)


def _safe_next(value: str | None) -> str | None:
    """Only a path on this site (never another host) to come back to."""
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return None


def job_start_form(kind: str, label: str | None = None) -> Markup:
    """A Jinja global: the form that starts a `kind` job from any screen (empty for a user
    who may not start it), coming back to this page if it cannot start."""
    job_kind = KINDS.get(kind)
    years = year_labels()
    if job_kind is None or not years or not user_has(job_kind.roles):
        return Markup("")
    return Markup(
        render_template(
            "admin/jobs/_start.html",
            job_kind=kind,
            job_years=years,
            job_next=request.path,
            job_label=label or f"{job_kind.label} in the background",
            letter_families=list(FAMILIES),
        )
    )


class JobView(AppModelView):
    read_roles = STAFF
    write_roles = ()
    allow_create = False
    allow_edit = False
    allow_delete = False
    can_export = False
    list_template = "admin/jobs/list.html"
    details_template = "admin/jobs/details.html"

    column_list = ("id", "kind", "parameters", "started_by", "progress", "created_at")
    column_details_list = (
        "id",
        "kind",
        "parameters",
        "started_by",
        "status",
        "stage",
        "done",
        "total",
        "attempts",
        "result",
        "error",
        "created_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
    )
    column_formatters = {
        "progress": _progress_formatter,
        "kind": _kind_formatter,
        "parameters": _parameters_formatter,
    }
    column_formatters_detail = {"kind": _kind_formatter, "parameters": _parameters_formatter}
    column_labels = {
        "id": "Job",
        "started_by": "Started by",
        "created_at": "Started",
        "heartbeat_at": "Last report",
    }
    column_filters = ("kind", "status", "started_by", "created_at")
    column_default_sort = ("id", True)
    column_sortable_list = ("id", "kind", "started_by", "created_at")

    def render(self, template: str, **kwargs: Any) -> Any:
        kwargs.setdefault(
            "job_kinds", [(k, v.label) for k, v in KINDS.items() if user_has(v.roles)]
        )
        kwargs.setdefault("job_years", year_labels())
        kwargs.setdefault("letter_families", list(FAMILIES))
        kwargs.setdefault("progress_bar", progress_bar)
        kwargs.setdefault("is_stale", is_stale)
        return super().render(template, **kwargs)

    @expose("/progress/<int:job_id>")
    def progress(self, job_id: int) -> Any:
        """The bar's figures as JSON (no personal data: counts and the report in words)."""
        job = db.session.get(Job, job_id)
        if job is None:
            abort(404)
        return jsonify(
            status=job.status.value,
            done=job.done,
            total=job.total,
            percent=job.percent,
            words=_words(job),
            finished=job.status in (JobStatus.DONE, JobStatus.FAILED),
            result=job.result or "",
            error=job.error or "",
        )

    @expose("/start/", methods=("POST",))
    def start(self) -> Any:
        """Queue a job of the kind asked for, then show its progress (or go back to `next`)."""
        name = request.form.get("kind", "")
        kind = KINDS.get(name)
        if kind is None:
            abort(400)
        if not user_has(kind.roles):
            abort(403)
        parameters = {
            key: request.form[key]
            for key in ("year", "letters", "on")
            if request.form.get(key, "").strip()
        }
        if "letters" in parameters:
            parameters["kind"] = parameters.pop("letters")
        back = _safe_next(request.form.get("next"))
        try:
            job = enqueue(name, parameters)
        except JobRefused as error:
            db.session.rollback()
            flash(f"The job was not started: {error}.", "error")
            return redirect(back or url_for(".index_view"))
        flash(f"Job {job.id} started: {kind.label}, {job.parameters.get('year')}.", "success")
        return redirect(url_for(".details_view", id=job.id))

    @expose("/retry/<int:job_id>", methods=("POST",))
    def retry_job(self, job_id: int) -> Any:
        job = db.session.get(Job, job_id)
        if job is None:
            abort(404)
        kind = KINDS.get(job.kind)
        if kind is None or not user_has(kind.roles):
            abort(403)
        try:
            retry(job_id)
        except JobRefused as error:
            flash(f"Job {job_id} was not retried: {error}.", "error")
        else:
            flash(f"Job {job_id} queued again; it resumes where it stopped.", "success")
        return redirect(url_for(".details_view", id=job_id))


VIEW = (JobView, Job, "Background jobs", "Administration")
