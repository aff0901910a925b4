"""Deleting what is still in use is refused with a message; a bulk delete is all or nothing.

Every screen inherits this through AppModelView, so no screen can orphan rows or half-delete a
selection (Flask-Admin's own bulk delete commits row by row and binds ids as text, which
PostgreSQL refuses to compare with an integer key).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from flask import flash
from flask_admin.actions import action
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from wtforms.validators import ValidationError

from models import Base, db

# What a person calls the tables that may hold on to a record.
TABLE_NAMES = {
    "school": "satellite sites",
    "route_school": "routes",
    "dta": "Designated Transport Areas",
    "dta_area": "DTA areas",
    "transport_application": "transport applications",
    "concessionary_application": "concessionary seat applications",
    "term_date_variation": "term-date variation requests",
    "postcode": "postcodes",
    "pupil": "pupils",
    "contribution": "contributions",
    "low_income_evidence": "low-income evidence",
    "appeal": "appeals",
    "withdrawal": "withdrawals",
}


def references_to(model: type[Any], rows: Sequence[Any]) -> list[tuple[str, int]]:
    """Rows in other tables whose RESTRICT foreign keys point at these rows (one query per FK).

    Found from the schema, so a table another engineer adds later is covered too. Rows that
    cascade with the record (a DTA's areas, a pupil's evidence) are not obstacles. A key may
    point at a column other than the id (casework names its academic year by label).
    """
    target = model.__table__
    mapper = sa_inspect(model)
    ids = [row.id for row in rows]
    found: list[tuple[str, int]] = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is not target or (fk.ondelete or "").upper() in {
                "CASCADE",
                "SET NULL",
            }:
                continue
            attribute = mapper.get_property_by_column(fk.column).key
            values = [getattr(row, attribute) for row in rows]
            condition: ColumnElement[bool] = fk.parent.in_(values)
            if table is target:  # a satellite being deleted with its main site is no obstacle
                condition = and_(condition, ~table.c.id.in_(ids))
            count = db.session.scalar(select(func.count()).select_from(table).where(condition))
            if count:
                found.append((TABLE_NAMES.get(table.name, table.name.replace("_", " ")), count))
    return found


class GuardedDeleteMixin:
    """Refuse to delete what is still used elsewhere; bulk deletes are all or nothing.

    The database's ON DELETE RESTRICT keys are the guarantee; the check first turns a refusal
    into a message that says what to do, and stops the ORM quietly clearing a child's pointer
    (a satellite's main site, a postcode's parish) instead of refusing.
    """

    def _guarded_delete(self, models: Iterable[Any]) -> int | None:
        view: Any = self
        rows = list(models)
        if not rows:
            return 0
        used = references_to(view.model, rows)
        if used:
            what = ", ".join(f"{n} {name}" for name, n in used)
            subject = "this record" if len(rows) == 1 else "these records"
            flash(
                f"Not deleted: {subject} {'is' if len(rows) == 1 else 'are'} still used by {what}. "
                "Remove or reassign those first (or mark a school closed instead). "
                "Nothing was deleted.",
                "error",
            )
            return None
        try:
            for row in rows:
                view.on_model_delete(row)
                db.session.delete(row)
            db.session.commit()
        except IntegrityError as exc:
            db.session.rollback()
            flash(integrity_message(exc) + " Nothing was deleted.", "error")
            return None
        except ValidationError as exc:
            db.session.rollback()
            flash(f"Not deleted: {exc} Nothing was deleted.", "error")
            return None
        for row in rows:
            view.after_model_delete(row)
        return len(rows)

    def delete_model(self, model: Any) -> bool:
        return self._guarded_delete([model]) == 1

    @action("delete", "Delete", "Delete the selected records? Records still in use are kept.")
    def action_delete(self, ids: Sequence[str]) -> None:
        view: Any = self
        # Flask-Admin's get_query_for_ids binds the ids as text, which PostgreSQL refuses to
        # compare with an integer key; the ids are whole numbers, so say so.
        try:
            keys = [int(i) for i in ids]
        except ValueError:
            flash("Those records could not be found. Nothing was deleted.", "error")
            return
        rows = db.session.scalars(select(view.model).where(view.model.id.in_(keys))).all()
        deleted = self._guarded_delete(rows)
        if deleted:
            flash(f"{deleted} record(s) deleted.", "success")


def integrity_message(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    if "foreign key" in text or "violates foreign key" in text:
        return (
            "This record is still used elsewhere (for example by routes, areas or applications), "
            "so it cannot be deleted or changed that way. Remove or reassign those first."
        )
    if "unique" in text or "duplicate key" in text:
        return "Another record already has this value; each must be unique. Nothing was saved."
    if "check" in text:
        return (
            "A value is outside what is allowed (for example a negative number). Nothing was saved."
        )
    return (
        "The change could not be saved because it conflicts with other records. Nothing was saved."
    )
