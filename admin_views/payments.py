"""Payments received against instalments (B1j).

A payment names its instalment (found by typing the pupil's name or reference); the rule it
must meet is services.contributions.check_payment's (B1j), shown here as a form error on the
field it names, and nothing is saved.
"""

from __future__ import annotations

from typing import Any

from flask_admin.model.ajax import DEFAULT_PAGE_SIZE, AjaxModelLoader
from flask_login import current_user
from sqlalchemy import func, or_, select

from models import Contribution, Instalment, Payment, Pupil, db
from services import contributions as money
from services import years
from services.errors import ServiceError

from .base import ASSISTANTS, SUPERVISORS, AppModelView, refuse_on_field
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
                    money.unpaid_clause(),
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

    def validate_form(self, form: Any) -> bool:
        """The payment rule is the service's (services.contributions.check_payment); here its
        refusal only becomes an error on the field it names."""
        valid = super().validate_form(form)
        if not valid or not hasattr(form, "amount"):
            return bool(valid)
        instalment = form.instalment.data
        try:
            money.check_payment(
                db.session,
                instalment.id if instalment is not None else None,
                form.amount.data,
                received_on=form.received_on.data,
                today=years.today(),
            )
        except ServiceError as error:
            refuse_on_field(form, error)
            return False
        return True

    def on_model_change(self, form: Any, model: Payment, is_created: bool) -> None:
        # validate_form checked the payment (and locked its instalment) in this transaction.
        assert model.instalment is not None  # validate_form refused a payment without one
        model.contribution_id = model.instalment.contribution_id
        model.recorded_by_id = current_user.id


VIEW = (PaymentView, Payment, "Payments", "Money")
