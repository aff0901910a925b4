"""Who holds an application: an officer takes a case, a supervisor assigns it to anyone.

Checked here on the server for each request, whatever the page showed: an officer may take an
application or give back one they hold; only a supervisor may give one to someone else or take
one from them (issue 14).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user

from models import CaseAssignment, TransportApplication, User, db
from services import casework

from . import confirm
from .base import OFFICERS, SUPERVISORS, user_has


def return_to(default: str) -> str:
    """Where the user came from (the `url` Flask-Admin's own forms pass), if it is this site's."""
    target = request.form.get("url") or request.args.get("url") or ""
    return target if target.startswith("/") and not target.startswith("//") else default


class AssignmentMixin:
    @expose("/assign/<int:application_id>", methods=("POST",))
    def assign_view(self, application_id: int) -> Any:
        application = db.session.get(TransportApplication, application_id)
        if application is None:
            abort(404)
        back = return_to(url_for(".details_view", id=application_id))
        held = db.session.get(CaseAssignment, _assignment_id(application_id))
        what = request.form.get("what", "")
        if what == "take":
            if not user_has(OFFICERS):
                abort(403)
            if held is not None and held.user_id != current_user.id and not user_has(SUPERVISORS):
                flash(
                    f"{application.reference} is held by {held.user.full_name}; ask a supervisor "
                    "to reassign it.",
                    "error",
                )
                return redirect(back)
            casework.assign(db.session, [application_id], current_user.id, current_user.id)
            message = f"You now hold {application.reference}."
        elif what == "release":
            if held is None:
                return redirect(back)
            if not (
                user_has(SUPERVISORS) or (user_has(OFFICERS) and held.user_id == current_user.id)
            ):
                abort(403)
            casework.assign(db.session, [application_id], None, current_user.id)
            message = f"{application.reference} is no longer assigned."
        elif what == "assign":
            if not user_has(SUPERVISORS):
                abort(403)
            user = db.session.get(User, casework.as_int(request.form.get("user_id")) or 0)
            if user is None or not user.active:
                flash("Choose who should hold the application.", "error")
                return redirect(back)
            casework.assign(db.session, [application_id], user.id, current_user.id)
            message = f"{application.reference} assigned to {user.full_name}."
        else:
            abort(400)
        db.session.commit()
        flash(message, "success")
        return redirect(back)

    @action("take", "Take these cases", None)
    def action_take(self, ids: list[str]) -> Any:
        """Officers: hold the chosen applications (ones another person holds are left)."""
        wanted = list(
            db.session.scalars(
                db.select(TransportApplication.id).where(
                    TransportApplication.id.in_([int(i) for i in ids if str(i).isdigit()])
                )
            )
        )
        held_by_others = set(
            db.session.scalars(
                db.select(CaseAssignment.application_id).where(
                    CaseAssignment.application_id.in_(wanted),
                    CaseAssignment.user_id != current_user.id,
                )
            )
        )
        mine = [i for i in wanted if i not in held_by_others or user_has(SUPERVISORS)]
        page = confirm.ask(
            self,
            "take",
            ids,
            title="Take these cases",
            lines=[
                f"{len(mine)} applications will be assigned to you.",
                *(
                    [f"{len(held_by_others)} held by someone else stay with them."]
                    if len(mine) < len(wanted)
                    else [f"{len(held_by_others)} of them move to you from someone else."]
                    if held_by_others
                    else []
                ),
            ],
            button=f"Take {len(mine)} applications",
        )
        if page is not None:
            return page
        changed = casework.assign(db.session, mine, current_user.id, current_user.id)
        db.session.commit()
        text = f"You now hold {changed} more application(s)."
        if held_by_others and not user_has(SUPERVISORS):
            text += f" {len(held_by_others)} held by someone else were left with them."
        flash(text, "success")


def _assignment_id(application_id: int) -> int:
    found = db.session.scalar(
        db.select(CaseAssignment.id).where(CaseAssignment.application_id == application_id)
    )
    return found or 0
