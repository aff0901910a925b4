"""Payments received against instalments (B1j).

A payment names its instalment (found by typing the pupil's name or reference), must be more
than £0.00 and no more than is still outstanding on that instalment; anything else is a form
error and nothing is saved.
"""

from __future__ import annotations

from typing import Any

from flask_admin.model.ajax import DEFAULT_PAGE_SIZE, AjaxModelLoader
from flask_login import current_user
from sqlalchemy import func, or_, select
from wtforms.validators import ValidationError

from models import Contribution, Instalment, Payment, Pupil, db
from services import contributions as money

from .base import ASSISTANTS, SUPERVISORS, AppModelView
from .money_names import NAME_COLUMNS, MoneyNamesMixin, name_columns, name_export_columns


class InstalmentLoader(AjaxModelLoader):
    """Unpaid instalments whose pupil's surname or reference matches what was typed."""

    def format(self, model: Instalment | None) -> tuple[Any, str] | None:
        if model is None:
            return None
        pupil = model.contribution.pupil
        return (
            model.id,
            f"{pupil.name} ({pupil.reference}) {model.contribution.academic_year}: {model}",
        )

    def get_one(self, pk: Any) -> Instalment | None:
        try:
            return db.session.get(Instalment, int(pk))
        except (TypeError, ValueError):
            return None

    def get_list(
        self, query: str, offset: int = 0, limit: int = DEFAULT_PAGE_SIZE
    ) -> list[Instalment]:
        term = f"%{query.strip()}%"
        return list(
            db.session.scalars(
                select(Instalment)
                .join(Contribution, Contribution.id == Instalment.contribution_id)
                .join(Pupil, Pupil.id == Contribution.pupil_id)
                .where(
                    or_(Pupil.last_name.ilike(term), Pupil.reference.ilike(term)),
                    Instalment.amount > money.paid_on_instalment(),
                )
                .order_by(func.lower(Pupil.last_name), Instalment.due_on, Instalment.id)
                .offset(offset)
                .limit(limit)
            )
        )


class PaymentView(MoneyNamesMixin, AppModelView):
    write_roles = ASSISTANTS
    delete_roles = SUPERVISORS
    allow_edit = False  # money received is corrected by a supervisor, not edited away

    column_list = (
        "child",
        "application_ref",
        "contribution",
        "instalment",
        "received_on",
        "amount",
        "method",
        "reference",
    )
    column_labels = NAME_COLUMNS
    column_searchable_list = (Payment.reference, Payment.method)
    column_formatters = name_columns()
    column_formatters_export = name_export_columns()
    column_select_related_list = (Payment.contribution, Payment.instalment)
    column_filters = (Payment.received_on, Payment.method)
    column_sortable_list = ("received_on", "amount")
    column_default_sort = ("received_on", True)
    form_columns = ("instalment", "received_on", "amount", "method", "reference")
    form_args = {
        "instalment": {"label": "Instalment (type the pupil's surname or reference)"},
        "method": {"description": "For example card, bank transfer, cheque"},
    }
    form_ajax_refs = {
        "instalment": InstalmentLoader("instalment", {"minimum_input_length": 2}),
    }

    def on_model_change(self, form: Any, model: Payment, is_created: bool) -> None:
        """Validate against the instalment's outstanding amount, under its row lock."""
        if model.instalment is None:
            raise ValidationError("Choose the instalment the payment is for.")
        if model.amount is None or model.amount <= 0:
            raise ValidationError("A payment must be more than £0.00.")
        with db.session.no_autoflush:
            stmt = select(Instalment).where(Instalment.id == model.instalment.id)
            if db.session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update()
            instalment = db.session.scalar(stmt)
            paid = db.session.scalar(
                select(func.coalesce(func.sum(Payment.amount), 0)).where(
                    Payment.instalment_id == instalment.id, Payment.id.is_not(None)
                )
            )
        outstanding = instalment.amount - paid
        if model.amount > outstanding:
            raise ValidationError(
                f"£{model.amount} is more than the £{outstanding:.2f} still outstanding on "
                f"instalment {instalment.number}; nothing was recorded."
            )
        model.contribution_id = instalment.contribution_id
        model.recorded_by_id = current_user.id


VIEW = (PaymentView, Payment, "Payments", "Money")
