"""Safe bulk work: a bulk action first shows what it will do, and does it only when confirmed.

An action handler calls `ask(...)` first: without the confirmation field it returns a page that
says how many records the action touches and what will come of them (for an assessment, the
outcomes a trial run inside a rolled-back savepoint produces), with a button that posts the same
selection back with the confirmation. The browser's own "are you sure?" box said neither.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from flask import request, url_for

CONFIRM_FIELD = "confirmed"


def is_confirmed() -> bool:
    return request.form.get(CONFIRM_FIELD) == "1"


def ask(
    view: Any,
    action: str,
    ids: Sequence[str],
    *,
    title: str,
    lines: Iterable[str],
    button: str,
) -> Any | None:
    """The confirmation page, or None when the user has already confirmed."""
    if is_confirmed():
        return None
    return_url = request.form.get("url") or url_for(".index_view")
    if not return_url.startswith("/") or return_url.startswith("//"):
        return_url = url_for(".index_view")
    return view.render(
        "admin/confirm_action.html",
        post_to=url_for(".action_view"),
        fields={"action": action},
        id_field="rowid",
        noun="selected record",
        ids=list(ids),
        title=title,
        lines=list(lines),
        button=button,
        return_url=return_url,
        confirm_field=CONFIRM_FIELD,
    )


def counted(values: Iterable[Any], noun: str) -> list[str]:
    """ "3 pending", "2 waiting": how the selection stands now, largest first."""
    tally = Counter(str(getattr(v, "value", v)).replace("_", " ") for v in values)
    return [f"{n} {noun} {what}" for what, n in tally.most_common()]


def assessment_preview(ids: list[int], user_id: int | None) -> list[str]:
    """What assessing `ids` would decide, in words (`services.assessment.preview_assessment`:
    the same code as the real run, rolled back)."""
    from services.assessment import preview_assessment

    try:
        summary = preview_assessment(ids, user_id=user_id)
    except Exception as error:  # the real run reports the same problem in words
        return [f"The trial run could not finish: {error}"]
    lines = [
        f"{summary.assessed} new decisions, {summary.unchanged} unchanged "
        f"(same facts and figures as their current decision)."
    ]
    lines += [
        f"{n} {outcome.replace('_', ' ')}" for outcome, n in sorted(summary.by_outcome.items())
    ]
    if summary.awaiting_sign_off:
        lines.append(
            f"{summary.awaiting_sign_off} will await an officer's sign-off before their letters "
            "go (refusals, and decisions resting on an officer's judgement)."
        )
    if summary.superseded:
        lines.append(f"{summary.superseded} earlier decisions superseded (kept in the history).")
    if summary.skipped:
        lines.append(f"{len(summary.skipped)} cannot be assessed (the result page says why).")
    return lines
