"""The "Awaiting sign-off" queue and the sign-off buttons (issue 14; services/sign_off.py).

Officers and supervisors sign off an assistant's refusals and awards on an officer's judgement,
or send them back to be assessed again: one by one from the application, or in bulk from the
queue, where the page first says what will happen and asks to confirm (safe bulk work).
Assistants see the queue (their decisions waiting) but cannot act: refused here with 403, and
again by the service.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import EligibilityDecision, TransportApplication, db
from models.enums import ApplicationStatus, AuditAction
from services import queues, sign_off
from services.audit import record_access

from . import confirm
from .assignment import return_to
from .base import OFFICERS, user_has

QUEUE_LIMIT = 500
ACTIONS = {
    "sign_off": ("signed off", "Sign off"),
    "send_back": ("sent back to be assessed again", "Send back"),
}


def _awaiting_rows(limit: int) -> tuple[int, list[EligibilityDecision]]:
    """The queue's count (the home page's own) and its first `limit` decisions, oldest first."""
    ed, ta = EligibilityDecision, TransportApplication
    live = (sign_off.awaiting_sign_off(), ta.status != ApplicationStatus.WITHDRAWN)
    total = queues.awaiting_sign_off_count(db.session)
    rows = db.session.scalars(
        select(ed)
        .join(ta, ta.id == ed.application_id)
        .where(*live)
        .options(
            joinedload(ed.application).joinedload(ta.pupil),
            joinedload(ed.application).joinedload(ta.school),
            joinedload(ed.decided_by),
        )
        .order_by(ed.decided_at, ed.id)
        .limit(limit)
    ).all()
    return total, list(rows)


class SignOffMixin:
    """Mixed into the transport applications view: its endpoint names the pages."""

    @expose("/sign-off/", methods=("GET",))
    def sign_off_queue(self) -> Any:
        total, rows = _awaiting_rows(QUEUE_LIMIT)
        # The queue names pupils: a read of personal data, one trail row (issue 16).
        record_access(
            AuditAction.READ,
            TransportApplication.__tablename__,
            what="transport_application queue sign-off",
            record_ids=[row.application_id for row in rows],
            rows=len(rows),
            filters={"queue": "sign-off", "matching": total},
        )
        return self.render(  # type: ignore[attr-defined]
            "admin/transport_applications/sign_off.html",
            rows=rows,
            total=total,
            limit=QUEUE_LIMIT,
            can_sign_off=user_has(OFFICERS),
        )

    @expose("/sign-off/", methods=("POST",))
    def sign_off_action(self) -> Any:
        """Sign off or send back the decisions named; from the queue, after a confirmation."""
        if not user_has(OFFICERS):
            abort(403)
        what = request.form.get("do", "")
        if what not in ACTIONS:
            abort(400)
        back = return_to(url_for(".sign_off_queue"))
        try:
            ids = [int(i) for i in request.form.getlist("decision_id")]
        except ValueError:
            flash("Those decisions could not be found; nothing was changed.", "error")
            return redirect(back)
        if not ids:
            flash("Choose at least one decision; nothing was changed.", "error")
            return redirect(back)
        if not confirm.is_confirmed():
            return self._confirm_page(what, ids, back)
        try:
            if what == "sign_off":
                summary = sign_off.sign_off(db.session, ids, current_user.id)
            else:
                note = request.form.get("note", "")[:2000]
                summary = sign_off.send_back(db.session, ids, current_user.id, note)
        except sign_off.SignOffError as error:
            flash(str(error), "error")
            return redirect(back)
        flash(summary.as_text(ACTIONS[what][0]), "success")
        return redirect(back)

    def _confirm_page(self, what: str, ids: list[int], back: str) -> Any:
        """What signing off (or sending back) these decisions will do, before it is done."""
        rows = db.session.scalars(
            select(EligibilityDecision)
            .where(EligibilityDecision.id.in_(ids), sign_off.awaiting_sign_off())
            .options(joinedload(EligibilityDecision.application))
        ).all()
        outcomes = Counter(str(d.outcome.value).replace("_", " ") for d in rows)
        lines = [f"{n} {outcome}" for outcome, n in outcomes.most_common()]
        if len(rows) < len(ids):
            lines.append(
                f"{len(ids) - len(rows)} no longer await sign-off and will be left as they are."
            )
        if what == "sign_off":
            lines.append(
                "Their letters to the families become due and go with the next letters run; "
                "an eligibility a refusal replaces is withdrawn with notice from today "
                "(A12a, A15)."
            )
        else:
            lines.append(
                "Each decision is kept in the history, marked sent back; no letter goes for it, "
                "and its application waits to be assessed again (B2)."
            )
        button = ACTIONS[what][1]
        return self.render(  # type: ignore[attr-defined]
            "admin/confirm_action.html",
            post_to=url_for(".sign_off_action"),
            fields={"do": what, "note": request.form.get("note", "")},
            id_field="decision_id",
            noun="chosen decision",
            ids=ids,
            title=f"{button}: what it will do",
            lines=lines,
            button=f"{button} {len(ids)} decision{'' if len(ids) == 1 else 's'}",
            return_url=back,
            confirm_field=confirm.CONFIRM_FIELD,
        )
