"""A downgrade that would drop stored values says so and stops, unless told to go on (issue 18).

Before issue 18, downgrading past 0006 or 0004 dropped every school's sixth-form value and
every year's appeal and decision deadlines without a word. A guarded downgrade first counts
the rows whose values its upgrade could not rebuild; if there are any it raises
``DataLossRefused`` (an Alembic CommandError: the command prints one "FAILED:" line, exit 1)
naming them, and nothing of that revision is changed. To go on anyway:

    alembic -x allow_data_loss=true downgrade <revision>
    ALLOW_DATA_LOSS=1 alembic downgrade <revision>

or, from Python, ``config.attributes["allow_data_loss"] = True``. With no such rows (an empty
database, or values the upgrade would fill in again) the downgrade proceeds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from alembic import context
from alembic.util import CommandError
from sqlalchemy import text

TRUE = frozenset({"1", "true", "yes", "on"})
SHOWN_KEYS = 10


class DataLossRefused(CommandError):
    """The downgrade would drop values nothing could restore; nothing of it was done."""


def data_loss_allowed() -> bool:
    x_args = context.get_x_argument(as_dictionary=True)
    flag = x_args.get("allow_data_loss") or os.environ.get("ALLOW_DATA_LOSS", "")
    if str(flag).strip().lower() in TRUE:
        return True
    return bool(context.config.attributes.get("allow_data_loss"))


def refuse_data_loss(revision: str, what: str, key_sql: str) -> None:
    """Stop the downgrade of `revision` if `key_sql` (SELECT <key> ...) finds any rows.

    `what` says, in words, what those rows would lose ("the sixth-form value of").
    """
    if data_loss_allowed():
        return
    keys: Sequence[object] = [row[0] for row in context.get_bind().execute(text(key_sql))]
    if not keys:
        return
    shown = ", ".join(str(k) for k in keys[:SHOWN_KEYS])
    more = f" and {len(keys) - SHOWN_KEYS} more" if len(keys) > SHOWN_KEYS else ""
    raise DataLossRefused(
        f"Downgrading past revision {revision} would drop {what} {len(keys)} row(s) ({shown}"
        f"{more}), which its upgrade cannot rebuild; the downgrade stopped before {revision} "
        "changed anything. To drop them anyway: alembic -x allow_data_loss=true downgrade "
        "<revision> (or ALLOW_DATA_LOSS=1)."
    )
