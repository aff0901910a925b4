"""The base every screen inherits: role checks on the server, clear messages, no N+1 lists.

Access is decided here, per request, from the signed-in user's roles; hiding a link is never
the control. Reading, writing, deleting, exporting and each bulk action have their own roles.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from flask import Response, abort, flash, g, has_request_context, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_admin.babel import gettext
from flask_admin.contrib.sqla import ModelView, tools
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.model.fields import AjaxSelectField, AjaxSelectMultipleField
from flask_admin.model.template import BaseListRowAction
from flask_admin.tools import rec_getattr
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup, escape
from sqlalchemy import BigInteger, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import iter_multi_items
from werkzeug.utils import secure_filename
from wtforms.validators import ValidationError

from models import db
from models.enums import AuditAction, Role
from services import spreadsheets
from services.audit import record_access
from services.errors import ServiceError
from services.redaction import PERSONAL_FIELDS

from .concurrency import OptimisticLockMixin
from .dates import london_minute, long_date
from .enum_support import EnumValueFilterConverter, EnumValueModelConverter, _label
from .guarded_delete import GuardedDeleteMixin, integrity_message
from .search import SubquerySearchMixin

# Statuses and outcomes are shown as tags (GOV.UK "tag"): the words carry the meaning, the
# colour only repeats it (WCAG 1.4.1).
STATUS_COLUMNS = frozenset({"status", "outcome"})
TAG_COLOURS = {
    "green": {"decided", "allocated", "active", "eligible", "upheld", "accepted", "sent", "done",
              "printed"},
    "red": {"refused", "not_eligible", "failed", "overturned"},
    "yellow": {"received", "pending", "waiting", "refer", "measure", "requested", "queued",
               "running"},
    "grey": {"withdrawn", "lapsed", "cancelled"},
}  # fmt: skip


def status_tag(value: Any) -> Markup:
    """A status in words as a tag, coloured by what it means."""
    code = str(getattr(value, "value", value))
    colour = next((c for c, codes in TAG_COLOURS.items() if code in codes), None)
    css = "status-tag" + (f" status-tag--{colour}" if colour else "")
    return Markup(f'<strong class="{css}">{escape(_label(value))}</strong>')


def _words(_view: Any, value: Any, name: str) -> Any:
    if name in STATUS_COLUMNS:
        return status_tag(value)
    return _label(value)


def _yes_no(_view: Any, value: bool, _name: str) -> str:
    return "Yes" if value else "No"


# Lists and details: dates as "7 Oct 2024", times to the minute in England, Yes/No, choices in
# words (issue 15). datetime before date: a datetime is a date too. Exports keep ISO dates.
SHOWN = {
    type(None): lambda _v, _value, _n: "",
    bool: _yes_no,
    datetime: lambda _v, value, _n: london_minute(value),
    date: lambda _v, value, _n: long_date(value),
    enum.Enum: _words,
    list: lambda _v, values, _n: ", ".join(str(v) for v in values),
}
EXPORTED = {
    type(None): lambda _v, _value, _n: "",
    bool: _yes_no,
    enum.Enum: lambda _v, value, _n: _label(value),
}


def pounds(value: Decimal | None) -> str:
    """Money on screen, to the penny: "£1,234.50". Exports keep the Decimal, a number."""
    return "" if value is None else f"£{value:,.2f}"


# Column names as the team says them, where a label is not given (issue 15).
FIELD_WORDS = {
    "last_name": "surname",
    "first_name": "first name",
    "urn": "URN",
    "postcode": "postcode",
    "reference": "reference",
    "code": "code",
}


# Words inside code names that read better spelt out or as the team writes them.
WORD_WORDS = {
    "post16": "post-16",
    "send": "SEND",
    "ehcp": "EHCP",
    "am": "AM",
    "pm": "PM",
    "min": "minimum",
    "max": "maximum",
    "la": "LA",
    "dta": "DTA",
    "urn": "URN",
    "tra": "TRA",
}
# Tables as the team names them (the audit trail names the table a change was made in).
TABLE_WORDS = {
    "concessionary_application": "Seat application",
    "concessionary_seat": "Seat",
    "user_account": "Staff account",
    "user_role": "Staff role",
    "dta": "DTA",
    "dta_area": "DTA area",
    "eligibility_decision": "Decision",
}
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_CODE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[a-z]+")


def name_in_words(name: str) -> str:
    """A field or table name from the code in words: "distance_m" -> "Distance (metres)",
    "contribution_id" -> "Contribution", "concessionary_seat" -> "Seat" (issue 15)."""
    if name in TABLE_WORDS:
        return TABLE_WORDS[name]
    said = FIELD_WORDS.get(name)
    if said is None:
        said = name.removesuffix("_id")
        for suffix, unit in (("_m", " (metres)"), ("_at", "")):
            if said.endswith(suffix) and len(said) > len(suffix):
                said = said.removesuffix(suffix) + unit
                break
        said = " ".join(WORD_WORDS.get(word, word) for word in said.split("_"))
    return said[:1].upper() + said[1:]


def value_in_words(value: Any) -> str:
    """A stored value as a person reads it: Yes/No, dates in UK form, times to the minute in
    England, codes in words ("not_eligible" -> "Not eligible"), nothing as "Not recorded"."""
    if value is None or value == "":
        return "Not recorded"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return london_minute(value)
    if isinstance(value, date):
        return long_date(value)
    if isinstance(value, enum.Enum):
        return _label(value)
    if isinstance(value, list | tuple):
        return ", ".join(value_in_words(v) for v in value) or "None"
    if isinstance(value, str):
        if _ISO_MOMENT.match(value):
            try:
                return london_minute(datetime.fromisoformat(value))
            except ValueError:
                return value
        if _ISO_DAY.fullmatch(value):
            try:
                return long_date(date.fromisoformat(value))
            except ValueError:
                return value
        if _CODE.fullmatch(value):
            return _label(value)
    return str(value)


def summary_list(mapping: dict[str, Any]) -> Markup:
    """A GOV.UK-style summary list (key, value rows) of a stored mapping, nested ones nested;
    keys starting "_" are the panel's own bookkeeping and left out."""
    rows = []
    for key, value in sorted(mapping.items()):
        if key.startswith("_"):
            continue
        shown = summary_list(value) if isinstance(value, dict) else escape(value_in_words(value))
        rows.append(
            Markup('<div class="summary-list__row"><dt class="summary-list__key">')
            + escape(name_in_words(key))
            + Markup('</dt><dd class="summary-list__value">')
            + shown
            + Markup("</dd></div>")
        )
    return Markup('<dl class="summary-list">') + Markup("").join(rows) + Markup("</dl>")


def _label_of_model(name: str) -> str:
    """ "ConcessionaryApplication" -> "seat application"; others split into lower-case words."""
    spoken = {"ConcessionaryApplication": "seat application", "TransportApplication":
              "application", "DesignatedTransportArea": "DTA"}  # fmt: skip
    if name in spoken:
        return spoken[name]
    return "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()


STAFF = (Role.ASSISTANT, Role.OFFICER, Role.SUPERVISOR)
ASSISTANTS = (Role.ASSISTANT,)  # User.has_role lets officers and supervisors through too
OFFICERS = (Role.OFFICER,)
SUPERVISORS = (Role.SUPERVISOR,)

# Bounds on what a request may ask for (issue 16: huge numbers gave 500s).
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 1_000
INTEGER_LIMIT = 2**31 - 1  # PostgreSQL's INTEGER


class FieldErrors(ValidationError):
    """Several refusals found on saving, one message per field, all shown at once."""

    def __init__(self, messages: dict[str, str]) -> None:
        super().__init__("; ".join(messages.values()))
        self.messages = dict(messages)


def in_label_words(message: str, labels: dict[str, str]) -> str:
    """A message naming fields by their code names, in the fields' label words instead:
    "secondary_walking_distance_m: must not be less than primary_walking_distance_m" ->
    "Secondary walking distance (metres) must not be less than primary walking distance
    (metres)"."""
    head, sep, rest = message.partition(": ")
    if sep and head in labels:
        message = f"{labels[head]} {rest}"
    for name in sorted(labels, key=len, reverse=True):
        said = labels[name]
        message = re.sub(
            rf"\b{re.escape(name)}\b",
            said if message.startswith(name) else said[:1].lower() + said[1:],
            message,
        )
    return message


class PennyPlaces:
    """No more decimal places than the column keeps: money to the penny or refused (a half
    penny would otherwise be rounded silently by the database)."""

    def __init__(self, places: int, money: bool) -> None:
        self.places = places
        self.money = money

    def __call__(self, _form: Any, field: Any) -> None:
        value = field.data
        if not isinstance(value, Decimal) or not value.is_finite():
            return
        if value != value.quantize(Decimal(1).scaleb(-self.places)):
            if self.money:
                raise ValidationError(
                    "Enter an amount in pounds and pence, to the penny (for example 456.00); "
                    "a fraction of a penny cannot be charged or paid."
                )
            raise ValidationError(f"Enter a number with at most {self.places} decimal places.")


def bound_numbers(form_class: Any, model: Any) -> None:
    """Every number field refuses values its column cannot hold, as a form error, not a 500.

    Integer columns: PostgreSQL's INTEGER range; Numeric(p, s) columns: below 10**(p-s). A
    field that already has a NumberRange (a policy bound) keeps it.
    """
    from sqlalchemy import Numeric
    from wtforms.fields import DecimalField, FloatField, IntegerField
    from wtforms.fields.core import UnboundField
    from wtforms.validators import NumberRange

    columns = model.__table__.columns
    for name, unbound in list(vars(form_class).items()):
        if not isinstance(unbound, UnboundField) or not issubclass(
            unbound.field_class, IntegerField | DecimalField | FloatField
        ):
            continue
        validators = list(unbound.kwargs.get("validators") or [])
        column = columns.get(name)
        kind = getattr(column, "type", None)
        if isinstance(kind, Numeric) and kind.scale is not None:
            money = kind.scale == 2 and kind.precision == 10  # models.base.MONEY
            validators.append(PennyPlaces(kind.scale, money))
            unbound.kwargs["validators"] = validators
        if any(isinstance(v, NumberRange) for v in validators):
            continue
        if isinstance(kind, Numeric) and kind.precision is not None:
            top = Decimal(10) ** (kind.precision - (kind.scale or 0)) - Decimal(1)
            validators.append(NumberRange(min=-top, max=top))
        else:
            validators.append(NumberRange(min=-INTEGER_LIMIT, max=INTEGER_LIMIT))
        unbound.kwargs["validators"] = validators


WRITE_ENDPOINTS = {"create_view", "edit_view", "delete_view", "ajax_update"}

# The tables that hold a case's personal data: a details or edit page of one of their records,
# and a list page of them, is a read recorded in the audit trail (issue 16, UK GDPR Art. 5(2)).
# Every export of every list is recorded whatever its table. Those with personal fields are
# services/redaction.py's (the one list of what is personal); the others are about a named
# child (their evidence of low income, seats, money) without naming them.
PERSONAL_TABLES = frozenset(PERSONAL_FIELDS) | frozenset(
    {
        # The trail itself holds old and new personal values: reading it is a read too.
        "audit_log",
        "low_income_evidence",
        "concessionary_application",
        "concessionary_seat",
        "contribution",
        "instalment",
        "refund",
    }
)
READ_ENDPOINTS = {"details_view", "edit_view"}


def refuse_on_field(form: Any, error: ServiceError) -> None:
    """A service's refusal shown against the field it names (FieldError), else the form's.

    The only thing a Flask-Admin hook does with a business check: the check itself lives in
    the service, where the import and the commands call it too (issue 12).
    """
    name = getattr(error, "field", None)
    field = getattr(form, name, None) if name else None
    if field is None:
        raise ValidationError(str(error)) from None
    if not isinstance(field.errors, list):
        field.errors = list(field.errors)
    field.errors.append(str(error))


def user_has(roles: Iterable[Role]) -> bool:
    """No roles named means nobody (not even a supervisor): an empty tuple closes a door.

    Answered once per request for each set of roles and signed-in account: a page's menu
    asks for every screen (about forty), and the roles cannot change under a request."""
    wanted = tuple(roles)
    if not wanted:
        return False
    if not has_request_context():
        return bool(current_user.is_authenticated and current_user.has_role(*wanted))
    # Flask-Login keeps the request's user in g once loaded (login_user and logout_user
    # replace it there); current_user's proxy is the slow way to the same object.
    user = g.get("_login_user")
    if user is None:
        user = current_user._get_current_object()
    answers: dict[tuple[Any, ...], bool] = g.setdefault("user_has", {})
    key = (id(user), wanted)
    found = answers.get(key)
    if found is None:
        found = bool(user.is_authenticated and user.has_role(*wanted))
        answers[key] = found
    return found


class KeyCheckedLoader(QueryAjaxModelLoader):
    """A look-up field's loader that finds nothing for a key its record could not have.

    The field posts the chosen record's id; text typed in its place ("abc", or a number past
    the column's range) reached ``session.get`` as it was, which PostgreSQL refused with a
    500. Now it finds nothing, and the form says so on the field (`AppModelView.validate_form`).
    """

    def get_one(self, pk: Any) -> Any:
        column = inspect(self.model).primary_key[0]
        if column.type.python_type is int:
            limit = 2**63 if isinstance(column.type, BigInteger) else 2**31
            try:
                pk = int(str(pk).strip())
            except ValueError:
                return None
            if not -limit <= pk < limit:
                return None
        return super().get_one(pk)


class SecuredIndexView(AdminIndexView):
    @expose("/")
    def index(self):  # type: ignore[no-untyped-def]
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.path))
        return self.render("admin/home.html")


# The characters werkzeug leaves unquoted in a query string it builds (werkzeug.urls._urlencode).
_QUERY_SAFE = "!$'()*,/:;?@"
_ROW_ID = "0rowid0"  # stands for a row's id in a link built once per page; urlencoding keeps it


class RecordLink(BaseListRowAction):
    """A list row's link to its record page or edit form, as Flask-Admin draws it (an icon link
    named by its title), but with the address built once per page and the row's id put in.

    Flask-Admin builds each row's links through url_for with the list's return address: about
    a third of a 50-row list's rendering (bench/pages_cpu.py, issue 18).
    """

    def __init__(self, endpoint: str, icon_class: str, title: str) -> None:
        super().__init__(title=title)
        self.endpoint = endpoint
        self._tail = f'" title="{escape(title)}"><span class="{escape(icon_class)}"></span></a>'

    def render(self, context: Any, row_id: Any, row: Any) -> Markup:
        key = (id(self), context.get("return_url"))
        built: dict[Any, tuple[str, str]] = g.setdefault("row_link_addresses", {})
        parts = built.get(key)
        if parts is None:
            address = str(escape(context.resolve("get_url")(self.endpoint, id=_ROW_ID, url=key[1])))
            head, _, rest = address.partition(_ROW_ID)
            parts = built[key] = (f'<a class="icon" href="{head}', rest + self._tail)
        shown = str(row_id)
        if not (shown.isascii() and shown.isdigit()):  # digits need no quoting; all else is
            shown = quote(shown, safe="")
        return Markup(f"{parts[0]}{shown}{parts[1]}")


class AppModelView(GuardedDeleteMixin, SubquerySearchMixin, OptimisticLockMixin, ModelView):
    """A Flask-Admin ModelView with per-role access enforced for every endpoint.

    Every edit form carries the record's version; a save from a stale form is refused and
    says what changed meanwhile (OptimisticLockMixin, admin_views/concurrency.py, issue 18).
    """

    model_form_converter = EnumValueModelConverter
    column_type_formatters = SHOWN
    column_type_formatters_detail = SHOWN
    column_type_formatters_export = EXPORTED
    filter_converter = EnumValueFilterConverter()

    read_roles: tuple[Role, ...] = STAFF
    write_roles: tuple[Role, ...] = ASSISTANTS
    delete_roles: tuple[Role, ...] | None = None  # defaults to write_roles
    export_roles: tuple[Role, ...] | None = None  # defaults to read_roles
    action_roles: dict[str, tuple[Role, ...]] = {}

    page_size = 50
    can_set_page_size = True
    can_view_details = True
    can_export = True
    export_types = ["csv", "xlsx"]
    export_max_rows = 100_000
    details_modal = False
    details_template = "admin/details.html"  # a summary list (issue 15)
    list_template = "admin/panel_list.html"  # the table without its blank space (issue 18)
    create_modal = False
    edit_modal = False

    model: Any  # the mapped class this view lists
    _auto_joins: Any  # set by Flask-Admin, emptied below

    def __init__(self, model: type, *args: object, **kwargs: object) -> None:
        super().__init__(model, db, *args, **kwargs)
        # Related rows are joined to the page's rows only (see get_list), not by Flask-Admin
        # to every row an OFFSET skips.
        joins: tuple[Any, ...] = tuple(self._auto_joins)
        self._page_loads = tuple(getattr(model, j) if isinstance(j, str) else j for j in joins)
        self._auto_joins = ()

    def _create_ajax_loader(self, name: str, options: dict[str, Any]) -> QueryAjaxModelLoader:
        made = super()._create_ajax_loader(name, options)
        return KeyCheckedLoader(made.name, made.session, made.model, **options)

    def validate_form(self, form: Any) -> bool:
        """A look-up field given a value that names no record is an error on that field.

        Flask-Admin refuses it only where the field is required; an optional one (an
        application's route) was saved empty, the typed text silently dropped.
        """
        valid = bool(super().validate_form(form))
        for field in form:
            if not isinstance(field, AjaxSelectField) or isinstance(field, AjaxSelectMultipleField):
                continue
            raw = (field.raw_data or [""])[0]
            if raw not in ("", "__None") and field.data is None and not field.errors:
                field.errors = [*field.errors, f"Not a valid choice: pick a {field.label.text}"
                                " from the list"]  # fmt: skip
                valid = False
        return valid

    def get_list(  # type: ignore[override]
        self,
        page: int | None,
        sort_column: Any,
        sort_desc: bool,
        search: str | None,
        filters: Any,
        execute: bool = True,
        page_size: int | None = None,
    ) -> tuple[int | None, Any]:
        """Find the page's ids first, then load those rows with their relations joined.

        Joined into the paging query itself, the relations were joined for every row an
        OFFSET skips: a middle page of 25,000 applications took 180 ms (bench/RESULTS.md).
        Two statements a page, however large the page.
        """
        count, query = super().get_list(
            page, sort_column, sort_desc, search, filters, execute=False, page_size=page_size
        )
        if not execute:
            return count, query.options(*(joinedload(j) for j in self._page_loads))
        if not self._page_loads:
            found = query.all()
            self._record_list_read(count, [getattr(row, "id", None) for row in found])
            return count, found
        ids = [row[0] for row in query.with_entities(self.model.id).all()]
        self._record_list_read(count, ids)
        if not ids:
            return count, []
        rows = (
            self.get_query()
            .options(*self._page_options())
            .filter(self.model.id.in_(ids))
            .all()
        )
        by_id = {row.id: row for row in rows}
        return count, [by_id[i] for i in ids if i in by_id]

    # The columns a list page's cells read of a joined relation, where it has others the
    # page need not carry (an eligibility decision's facts and reasons: most of a decision
    # row's bytes, decoded as JSON for every row of the page). Relations not named here are
    # loaded whole; exports load everything.
    page_load_columns: dict[str, tuple[str, ...]] = {}

    def _page_options(self) -> list[Any]:
        options = []
        for relation in self._page_loads:
            load = joinedload(relation)
            columns = self.page_load_columns.get(getattr(relation, "key", ""))
            if columns:
                target = relation.property.mapper.class_
                load = load.load_only(*(getattr(target, c) for c in columns))
            options.append(load)
        return options

    # The many-to-one relations a record page shows, loaded with the record in its one
    # statement instead of one statement each when the page first reads them (issue 18).
    details_loads: tuple[str, ...] = ()

    def get_one(self, id: Any) -> Any:
        if (
            self.details_loads
            and has_request_context()
            and request.endpoint == f"{self.endpoint}.details_view"
        ):
            options = [joinedload(getattr(self.model, name)) for name in self.details_loads]
            return db.session.get(self.model, tools.iterdecode(id), options=options)
        return super().get_one(id)

    def _get_list_url(self, view_args: Any) -> str:
        """The list's address with these arguments, as Flask-Admin's `_get_list_url` makes it
        (`url_for(".index_view", **arguments)`: the arguments in the same order, None left
        out, encoded as werkzeug encodes a query), the address itself built once per request:
        a list page asks for about twenty (a sort link per column, the pager, page sizes) and
        url_for was a tenth of an empty page's rendering (issue 18)."""
        arguments: dict[str, Any] = {
            "page": view_args.page or None,
            "sort": view_args.sort,
            "desc": 1 if view_args.sort_desc else None,
            "search": view_args.search,
        }
        arguments.update(view_args.extra_args)
        arguments["page_size"] = self.get_safe_page_size(view_args.page_size)
        arguments.update(self._get_filters(view_args.filters))
        built: dict[str, str] = g.setdefault("list_addresses", {})
        address = built.get(self.endpoint)
        if address is None:
            address = built[self.endpoint] = self.get_url(".index_view")
        items = [(k, v) for k, v in iter_multi_items(arguments) if v is not None]
        if not items:
            return address
        return f"{address}?{urlencode(items, safe=_QUERY_SAFE)}"

    def _record_list_read(self, count: int | None, ids: list[Any]) -> None:
        """A list page of personal data: one trail row with the page's ids and the filters."""
        if not (self.audits_reads and has_request_context()):
            return
        if request.endpoint != f"{self.endpoint}.index_view":
            return
        filters = self.access_filters()
        if count is not None:
            filters["matching"] = count
        record_access(
            AuditAction.READ,
            self.model.__tablename__,
            what=f"{self.endpoint} list",
            record_ids=[i for i in ids if i is not None],
            rows=len(ids),
            filters=filters,
        )

    # Flask-Admin reads these flags to draw buttons and to guard its own endpoints; making
    # them depend on the user keeps the screens and the server in agreement.
    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return self.allow_create and user_has(self.write_roles)

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self.allow_edit and user_has(self.write_roles)

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return self.allow_delete and user_has(self.delete_roles or self.write_roles)

    allow_create = True
    allow_edit = True
    allow_delete = True

    def is_accessible(self) -> bool:
        return user_has(self.read_roles)

    def get_list_row_actions(self) -> list[BaseListRowAction]:
        """Each row links to its record page and its edit form; deleting is done from the
        record page, with its confirmation (admin/details.html). A delete form on every row
        (a CSRF token, hidden fields and an inline confirmation each) was most of a list
        page's HTML and its rendering time (issue 18)."""
        actions: list[BaseListRowAction] = []
        if self.can_view_details:
            actions.append(RecordLink(".details_view", "fa fa-eye", gettext("View Record")))
        if self.can_edit:
            actions.append(RecordLink(".edit_view", "fa fa-pencil", gettext("Edit Record")))
        return actions + list(self.column_extra_row_actions or [])

    def inaccessible_callback(self, name: str, **kwargs: object):  # type: ignore[no-untyped-def]
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)

    def _handle_view(self, name: str, **kwargs: object):  # type: ignore[no-untyped-def]
        denied = super()._handle_view(name, **kwargs)
        if denied is not None:
            return denied
        if name == "create_view" and not self.can_create:
            abort(403)
        if name in {"edit_view", "ajax_update"} and not self.can_edit:
            abort(403)
        if name == "delete_view" and not self.can_delete:
            abort(403)
        if name == "export" and not user_has(self.export_roles or self.read_roles):
            abort(403)
        if (
            name == "action_view"
            and request.method == "POST"
            and not self.is_action_allowed(request.form.get("action", ""))
        ):
            abort(403)
        if name in READ_ENDPOINTS and request.method == "GET" and self.audits_reads:
            record = request.args.get("id", "")[:60]
            record_access(
                AuditAction.READ,
                self.model.__tablename__,
                what=f"{self.endpoint} {name.removesuffix('_view')}",
                record_ids=[record] if record else [],
            )
        return None

    # --- reads and exports in the audit trail (issue 16) -----------------------------------

    @property
    def audits_reads(self) -> bool:
        """Pages of this view show a case's personal data (PERSONAL_TABLES)."""
        return self.model.__tablename__ in PERSONAL_TABLES

    def access_filters(self) -> dict[str, Any]:
        """The list's search, filters and sort as words, for a trail row about a read."""
        args = request.args
        found: dict[str, Any] = {}
        if args.get("search"):
            found["search"] = args["search"][:200]
        chosen = []
        for arg, value in args.items():
            if not arg.startswith("flt") or "_" not in arg:
                continue
            entry = (self._filter_args or {}).get(arg[3:].split("_", 1)[1])
            if entry is not None:
                flt = entry[1]
                chosen.append([str(flt.name), str(flt.operation()), value[:200]])
        if chosen:
            found["filters"] = chosen
        for key in ("sort", "desc", "page", "page_size"):
            if args.get(key):
                found[key] = args[key][:20]
        return found

    def _export_data(self):  # type: ignore[no-untyped-def]
        """Every export (CSV or XLSX) is one trail row: the list's filters and its row count."""
        count, data = super()._export_data()
        export_type = (request.view_args or {}).get("export_type", "")
        record_access(
            AuditAction.EXPORT,
            self.model.__tablename__,
            what=f"{self.endpoint} export {export_type}".strip(),
            rows=len(data),
            filters=self.access_filters(),
        )
        return count, data

    def roles_for_action(self, name: str) -> tuple[Role, ...]:
        """An action not named in action_roles needs write_roles: it changes data too."""
        if name in self.action_roles:
            return self.action_roles[name]
        return self.write_roles

    def is_action_allowed(self, name: str) -> bool:
        if name == "delete":
            return self.can_delete
        return user_has(self.roles_for_action(name)) and super().is_action_allowed(name)

    def typed_ids(self, ids: Iterable[str]) -> list[object]:
        """Row ids arrive as strings; PostgreSQL will not compare integer = varchar.

        Flask-Admin 2.2's own bulk delete binds them as strings and fails on PostgreSQL, so
        the delete action below converts them first; custom actions can call this too.
        Values that are not valid ids are dropped (they cannot name a row).
        """
        columns = list(self.model.__table__.primary_key.columns)  # type: ignore[attr-defined]
        if len(columns) != 1:
            return list(ids)
        try:
            kind = columns[0].type.python_type
        except NotImplementedError:
            return list(ids)
        typed: list[object] = []
        for value in ids:
            try:
                typed.append(kind(value))
            except (TypeError, ValueError):
                continue
        return typed

    def _get_list_extra_args(self):  # type: ignore[no-untyped-def]
        """A page number or size past any real list is the first page (issue 16: a 500)."""
        args = super()._get_list_extra_args()
        if not 0 <= (args.page or 0) <= MAX_PAGE:
            args.page = 0
        if not 0 <= (args.page_size or 0) <= MAX_PAGE_SIZE:
            args.page_size = 0
        if args.sort is not None and not 0 <= args.sort < 1000:
            args.sort = None
        return args

    def scaffold_form(self):  # type: ignore[no-untyped-def]
        form_class = super().scaffold_form()
        bound_numbers(form_class, self.model)
        return form_class

    def _field_words(self, name: str) -> str:
        """A column's label, else its name in words ("last_name" -> "last name"), in lower
        case for use mid-sentence unless it starts with an abbreviation ("TRA number")."""
        said = str((self.column_labels or {}).get(name) or FIELD_WORDS.get(name, name))
        said = said.replace("_", " ")
        return said if said[:2].isupper() else said[:1].lower() + said[1:]

    def search_placeholder(self) -> str | None:
        """The search box names what it searches in words, once each (issue 15: it read
        "reference, reference, last_name"): "Search by reference, pupil's surname, ..."."""
        if not self.column_searchable_list:
            return None
        words: list[str] = []
        for searchable in self.column_searchable_list:
            key = getattr(searchable, "key", None) or str(searchable).rsplit(".", 1)[-1]
            table = getattr(getattr(searchable, "class_", None), "__name__", None)
            said = (
                self._field_words(key).lower()
                if table in (None, self.model.__name__)
                else (f"{_label_of_model(table)}'s {FIELD_WORDS.get(key, key).replace('_', ' ')}")
            )
            if said not in words:
                words.append(said)
        return "Search by " + ", ".join(words)

    def _process_ajax_references(self):  # type: ignore[no-untyped-def]
        """Every look-up box says what to type (never Flask-Admin's "Please select model")."""
        loaders = super()._process_ajax_references()
        for name, loader in loaders.items():
            if "placeholder" not in loader.options:
                words = self._field_words(name)
                loader.options = {**loader.options, "placeholder": f"Type to find the {words}"}
        return loaders

    def _export_csv(self, return_url: str):  # type: ignore[no-untyped-def]
        """CSV through the panel's one writer, built whole while the request's session is open.

        Flask-Admin streams its CSV after the view returns, when the rows' session is gone: a
        column shown through a relation (a seat's route, on contributions and withdrawals)
        then failed mid-file with DetachedInstanceError (issue 15)."""
        _count, data = self._export_data()
        columns = [str(title) for _name, title in self._export_columns]
        rows = [
            [self.get_export_value(row, name) for name, _title in self._export_columns]
            for row in data
        ]
        filename = secure_filename(self.get_export_name(export_type="csv"))
        return Response(
            spreadsheets.csv_bytes(columns, rows),
            headers={"Content-Disposition": f"attachment;filename={filename}"},
            mimetype="text/csv",
        )

    def get_export_value(self, model: Any, name: str) -> Any:
        """Export cells never run as formulas (services/spreadsheets.py; CSV and XLSX alike)."""
        return spreadsheets.neutralise(super().get_export_value(model, name))

    def _export_tablib(self, export_type: str, return_url: str):  # type: ignore[no-untyped-def]
        """XLSX through the panel's one writer, so text cells are typed as text."""
        if export_type != "xlsx":
            return super()._export_tablib(export_type, return_url)
        _count, data = self._export_data()
        columns = [str(title) for _name, title in self._export_columns]
        rows = (
            [self.get_export_value(row, name) for name, _title in self._export_columns]
            for row in data
        )
        filename = secure_filename(self.get_export_name(export_type="xlsx"))
        return Response(
            spreadsheets.xlsx_bytes(columns, rows, self.name or "export"),
            headers={"Content-Disposition": f"attachment;filename={filename}"},
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

    def _money_column(self, name: str) -> bool:
        from sqlalchemy import Numeric

        column = self.model.__table__.columns.get(name)  # type: ignore[attr-defined]
        kind = getattr(column, "type", None)
        return isinstance(kind, Numeric) and kind.precision == 10 and kind.scale == 2

    @pass_context
    def get_list_value(self, context: Any, model: Any, name: str) -> Any:
        """Money columns on screen in pounds to the penny ("£456.00"); exports keep numbers."""
        return self._in_pounds(name, super().get_list_value(context, model, name))

    def _in_pounds(self, name: str, value: Any) -> Any:
        """A money column's value as the list shows it; a column's own formatter decides."""
        if isinstance(value, Decimal) and name not in (self.column_formatters or {}):
            return pounds(value) if self._money_column(name) else value
        return value

    @pass_context
    def list_rows(
        self, context: Any, data: Any, list_columns: Any, row_actions: Any, actions: Any
    ) -> Markup:
        """A list page's rows, as admin/panel_list.html's loop wrote them, cell for cell.

        Each cell is the value get_list_value gives (the column's formatter, else the
        attribute; the column's choices; the first type formatter that fits; pounds for
        money), escaped as the template escapes it. Written here rather than by a Jinja loop
        calling get_list_value, Flask-Admin's formatters and each row action per cell: that
        loop was about half of a 50-row list's CPU (bench/pages_cpu.py, issue 18). A view
        that overrides how a cell's value is found keeps the generic path, cell by cell.
        """
        if not data:
            message = escape(self.get_empty_list_message())
            return Markup(
                f'\n<tr><td colspan="999"><div class="text-center">{message}</div></td></tr>'
            )
        view = type(self)
        generic = (
            view.get_list_value is not AppModelView.get_list_value
            or view._get_list_value is not ModelView._get_list_value
            or view._get_field_value is not ModelView._get_field_value
        )
        formatters = self.column_formatters or {}
        choices = self._column_choices_map
        by_type: dict[type, Any] = {}
        type_formatters = self.column_type_formatters

        def type_formatter(kind: type) -> Any:
            found = by_type.get(kind, by_type)
            if found is by_type:
                found = next((f for t, f in type_formatters.items() if issubclass(kind, t)), None)
                by_type[kind] = found
            return found

        def cell(row: Any, name: str) -> Any:
            if generic:
                return self.get_list_value(context, row, name)
            column_fmt = formatters.get(name)
            if column_fmt is not None:
                value = column_fmt(self, context, row, name)
            elif "." in name:
                value = rec_getattr(row, name)
            else:
                value = getattr(row, name, None)
            choices_map = choices.get(name)
            if choices_map:
                value = choices_map.get(value) or value
            else:
                type_fmt = type_formatter(type(value))
                if type_fmt is not None:
                    try:
                        value = type_fmt(self, value, name)
                    except TypeError:  # Flask-Admin's own path warns and retries
                        return self.get_list_value(context, row, name)
            return self._in_pounds(name, value)

        columns = [(name, f'<td class="col-{escape(name)}">') for name, _title in list_columns]
        checkbox = escape(gettext("Select record"))
        buttons = bool(self.column_display_actions)
        out: list[str] = []
        for row in data:
            pk = self.get_pk_value(row)
            out.append("\n<tr>")
            if actions:
                out.append(
                    f'<td><input type="checkbox" name="rowid" class="action-checkbox" '
                    f'value="{escape(pk)}" title="{checkbox}"></td>'
                )
            if buttons:
                out.append('<td class="list-buttons-column">')
                out.extend(str(escape(a.render(context, pk, row))) for a in row_actions)
                out.append("</td>")
            for name, opening in columns:
                out.append(opening)
                out.append(escape(cell(row, name)))
                out.append("</td>")
            out.append("</tr>")
        return Markup("".join(out))

    @pass_context
    def get_detail_value(self, context: Any, model: Any, name: str) -> Any:
        value = super().get_detail_value(context, model, name)
        if isinstance(value, Decimal) and self._money_column(name):
            return pounds(value)
        return value

    def _prettify_name(self, name: str) -> str:
        """Column headings, where no label is given, in words: "distance_m" -> "Distance
        (metres)", "route_id" -> "Route" (Flask-Admin's would be "Distance M")."""
        return name_in_words(name)

    def prettify_name(self, name: str) -> str:
        """The same words for form labels (Flask-Admin's form converter asks for this)."""
        return name_in_words(name)

    def create_model(self, form: Any) -> Any:
        g.admin_form = form
        return super().create_model(form)

    def update_model(self, form: Any, model: Any) -> Any:
        g.admin_form = form
        return super().update_model(form, model)

    def field_labels(self, form: Any) -> dict[str, str]:
        """Each field's name and its label as the form shows it."""
        return {name: str(field.label.text) for name, field in form._fields.items()}

    def handle_view_exception(self, exc: Exception) -> bool:
        """A refused delete or a clash with a unique key is a message, never a 500; a refusal
        on saving goes to the fields it names and the form's error summary (issue 15), not a
        banner naming a column."""
        from rules.errors import RulesError
        from services.errors import ServiceError

        form = g.pop("admin_form", None)
        if isinstance(exc, ValidationError | ServiceError | RulesError) and form is not None:
            db.session.rollback()
            labels = self.field_labels(form)
            for name, text in getattr(exc, "messages", {}).items():
                said = in_label_words(text, labels)
                if name in form._fields:
                    form._fields[name].errors = [*form._fields[name].errors, said]
                else:
                    form.form_errors.append(said)
            if getattr(exc, "messages", None):
                return True
            named = getattr(exc, "fields", None) or (getattr(exc, "field", "") or "",)
            message = (
                str(exc) if isinstance(exc, RulesError) else str(exc.args[0] if exc.args else exc)
            )
            message = in_label_words(message, labels)
            fields = [form._fields[n] for n in named if n in form._fields]
            for field in fields:
                field.errors = [*field.errors, message]
            if not fields:
                form.form_errors.append(message)
            return True
        if isinstance(exc, IntegrityError):
            db.session.rollback()
            flash(integrity_message(exc), "error")
            return True
        return super().handle_view_exception(exc)


def year_labels() -> list[str]:
    """Every academic year's label, newest first, read once per request: a list page's year
    pickers (the whole-year run, two background-job forms) asked for it three times."""
    from sqlalchemy import select

    from models import AcademicYear

    cached: list[str] | None = g.get("year_labels") if has_request_context() else None
    if cached is None:
        query = select(AcademicYear.label).order_by(AcademicYear.starts.desc())
        cached = list(db.session.scalars(query))
        if has_request_context():
            g.year_labels = cached
    return list(cached)


def year_options() -> list[tuple[str, str]]:
    """Every academic year, newest first, for a year picker."""
    return [(label, label) for label in year_labels()]


def current_year() -> str | None:
    """The year a picker starts on: the one containing today (issue 15), not the newest."""
    from services import years

    return years.current_year_label(db.session, years.today())


class AcademicYearChoiceMixin:
    """Offer the academic-year label columns (foreign keys to academic_year.label) as a list.

    A typed label would only fail at the database; a choice of existing years cannot be wrong.
    """

    year_fields: tuple[str, ...] = ("academic_year",)

    def scaffold_form(self):  # type: ignore[no-untyped-def]
        from wtforms import SelectField

        form_class = super().scaffold_form()  # type: ignore[misc]
        for name in self.year_fields:
            setattr(form_class, name, SelectField("Academic year", choices=[]))
        return form_class

    def _with_year_choices(self, form):  # type: ignore[no-untyped-def]
        options = year_options()
        default = current_year()
        for name in self.year_fields:
            field = getattr(form, name, None)
            if field is not None:
                field.choices = options
                if not field.data:
                    field.data = default
        return form

    def create_form(self, obj=None):  # type: ignore[no-untyped-def]
        return self._with_year_choices(super().create_form(obj))  # type: ignore[misc]

    def edit_form(self, obj=None):  # type: ignore[no-untyped-def]
        return self._with_year_choices(super().edit_form(obj))  # type: ignore[misc]
