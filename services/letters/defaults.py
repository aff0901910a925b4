"""The built-in wording of each letter kind (version 0), used until a supervisor saves one.

Markup, shared by the PDF and the e-mail (GOV.UK Notify reads the same): a line starting
"# " is a heading, "* " a bullet, a blank line ends a paragraph. Every figure is a context
value (services/letters/context.py), never written here.
"""

from __future__ import annotations

from models.enums import LetterKind

_REVIEW = """
# Your right to ask for a review (Appendix C)
If you believe the decision is wrong against the policy or the law, or there are exceptional \
circumstances we should consider, you may ask for a review within \
{{ review.working_days }} working days of the date of this letter, that is by \
{{ review.last_date | long_date }}.

Ask in writing, on the review form (Appendix E of the policy), by e-mail to \
{{ council.email }} or by letter to {{ council.team }}, {{ council.address | join(", ") }}. \
Include {{ child.full_name }}'s name, your name and the TRA reference {{ application.reference }}.
"""

_SIGN_OFF = """
If you have any questions, ring {{ council.phone }} or e-mail {{ council.email }}, quoting \
{{ letter.reference }}.

Yours sincerely,

{{ council.team }}
{{ council.name }}
"""

DEFAULTS: dict[LetterKind, tuple[str, str]] = {
    LetterKind.DECISION_ELIGIBLE: (
        "Home to school transport for {{ child.full_name }}: eligible",
        """Dear {{ recipient.name }},

We have assessed your application {{ application.reference }} for home to school transport \
for {{ child.full_name }} to {{ school.name }} for {{ application.academic_year }}.

# Our decision
{{ child.full_name }} is eligible for transport to {{ school.name }}\
{% if decision.valid_until %} until {{ decision.valid_until | long_date }}{% endif %}.
{% for reason in decision.reasons %}
* {{ reason }}
{% endfor %}
{% if decision.charge == "contribution" and contribution %}
# Your contribution
The contribution is {{ contribution.amount | money }}, paid \
{% if contribution.instalments | length > 1 %}in {{ contribution.instalments | length }} \
instalments{% else %}in full{% endif %} (B1j):
{% for i in contribution.instalments %}
* {{ i.amount | money }} due by {{ i.due_on | long_date }}
{% endfor %}
{% elif decision.charge == "contribution" %}
# Your contribution
A contribution is payable for this transport (A7, A9); we will write to you with the amount \
and the payment plans.
{% else %}
The transport is free of charge.
{% endif %}
"""
        + _SIGN_OFF,
    ),
    LetterKind.DECISION_NOT_ELIGIBLE: (
        "Home to school transport for {{ child.full_name }}: not eligible",
        """Dear {{ recipient.name }},

We have assessed your application {{ application.reference }} for home to school transport \
for {{ child.full_name }} to {{ school.name }} for {{ application.academic_year }}.

# Our decision
{{ child.full_name }} is not eligible for transport to {{ school.name }}. The reasons, with \
the clauses of the council's School and College Transport Policy they come from, are:
{% for reason in decision.reasons %}
* {{ reason }}
{% endfor %}
{% if decision.clauses %}
Clauses applied: {{ decision.clauses | join(", ") }}.
{% endif %}
"""
        + _REVIEW
        + _SIGN_OFF,
    ),
    LetterKind.EVIDENCE_REQUEST: (
        "Home to school transport for {{ child.full_name }}: we need more information",
        """Dear {{ recipient.name }},

We are considering your application {{ application.reference }} for {{ child.full_name }} \
to {{ school.name }}. A transport eligibility officer must decide part of it, and needs \
evidence from you first:
{% for reason in decision.reasons %}
* {{ reason }}
{% endfor %}

Please send the evidence (for example a letter from a medical professional, B1e, A13) to \
{{ council.email }} or to {{ council.team }}, {{ council.address | join(", ") }}, quoting \
{{ application.reference }}.
"""
        + _SIGN_OFF,
    ),
    LetterKind.SEAT_OFFER: (
        "A concessionary seat for {{ child.full_name }}",
        """Dear {{ recipient.name }},

We can offer {{ child.full_name }} a concessionary seat on route {{ route.code }} to \
{{ school.name }} from {{ seat.start_date | long_date }} to {{ seat.end_date | long_date }} \
(Appendix F).

A concessionary seat is not a right to transport: it can be withdrawn at short notice \
({{ parameters.concessionary_withdrawal_notice_days }} working days) if the seat is needed \
for an entitled child, and it lapses at the end of the academic year (Appendix F).
{% if contribution %}
The charge is {{ contribution.amount | money }}:
{% for i in contribution.instalments %}
* {{ i.amount | money }} due by {{ i.due_on | long_date }}
{% endfor %}
{% endif %}
"""
        + _SIGN_OFF,
    ),
    LetterKind.SEAT_WAITING_LIST: (
        "Concessionary seat for {{ child.full_name }}: waiting list",
        """Dear {{ recipient.name }},

There is no spare seat on route {{ route.code }} for {{ child.full_name }} at present. \
{{ child.first_name }} is number {{ seat_application.waitlist_position }} on the waiting \
list, which is kept in the order of the priorities in Appendix F. We will write again if a \
seat becomes free.
"""
        + _SIGN_OFF,
    ),
    LetterKind.SEAT_REFUSED: (
        "Concessionary seat for {{ child.full_name }}: refused",
        """Dear {{ recipient.name }},

We cannot offer {{ child.full_name }} a concessionary seat on route {{ route.code }} \
(Appendix F): {{ seat_application.refusal_reason }}.
"""
        + _SIGN_OFF,
    ),
    LetterKind.SEAT_WITHDRAWAL: (
        "Concessionary seat for {{ child.full_name }}: notice of withdrawal",
        """Dear {{ recipient.name }},

We are giving notice that {{ child.full_name }}'s concessionary seat on route \
{{ route.code }} is withdrawn ({{ withdrawal.clause }}): {{ withdrawal.reason }}.

* Notice given on {{ withdrawal.notice_on | long_date }}
* Last day of travel: the seat ends on {{ withdrawal.effective_on | long_date }}
{% if withdrawal.refund_amount %}* Refund due: {{ withdrawal.refund_amount | money }}
{% endif %}
"""
        + _SIGN_OFF,
    ),
    LetterKind.ELIGIBILITY_WITHDRAWAL: (
        "Home to school transport for {{ child.full_name }}: notice of withdrawal",
        """Dear {{ recipient.name }},

We are giving notice that transport for {{ child.full_name }} to {{ school.name }} is \
withdrawn under {{ withdrawal.clause }}: {{ withdrawal.reason }}.

* Notice given on {{ withdrawal.notice_on | long_date }}
* Transport ends on {{ withdrawal.effective_on | long_date }}
{% if withdrawal.refund_amount %}* Refund due: {{ withdrawal.refund_amount | money }}
{% endif %}
"""
        + _REVIEW
        + _SIGN_OFF,
    ),
    LetterKind.APPEAL_ACKNOWLEDGEMENT: (
        "Your appeal for {{ child.full_name }} has been received",
        """Dear {{ recipient.name }},

We received your {{ appeal.stage_words }} appeal about {{ child.full_name }}'s transport to \
{{ school.name }} (TRA reference {{ application.reference }}) on \
{{ appeal.received_on | long_date }}.
{% if appeal.stage == "stage_one" %}
A senior officer who did not make the original decision will review it, and we will tell \
you the outcome in writing by {{ appeal.decision_due | long_date }} (Appendix C).
{% else %}
An independent panel will consider it; the panel will meet between \
{{ appeal.panel_not_before | long_date }} and {{ appeal.decision_due | long_date }}, and \
you will hear its decision in writing within {{ parameters.panel_outcome_working_days }} \
working days of the meeting (Appendix C).
{% endif %}
"""
        + _SIGN_OFF,
    ),
    LetterKind.APPEAL_STAGE_ONE_OUTCOME: (
        "Your appeal for {{ child.full_name }}: the review's decision",
        """Dear {{ recipient.name }},

A senior officer has reviewed the decision on {{ child.full_name }}'s transport \
(TRA reference {{ application.reference }}). The appeal is {{ appeal.outcome_words }}.
{% if appeal.outcome_notes %}
{{ appeal.outcome_notes }}
{% endif %}
{% if appeal.outcome == "upheld" %}
You may make a further and final appeal to an independent panel within \
{{ review.working_days }} working days of this letter, that is by \
{{ review.last_date | long_date }}, in writing to {{ council.team }}, \
{{ council.address | join(", ") }} or {{ council.email }} (Appendix C).
{% endif %}
"""
        + _SIGN_OFF,
    ),
    LetterKind.APPEAL_PANEL_DATE: (
        "Your appeal for {{ child.full_name }}: the panel's date",
        """Dear {{ recipient.name }},

The independent panel will consider your appeal (TRA reference {{ application.reference }}) \
on {{ appeal.panel_date | long_date }}. You will hear its decision in writing within \
{{ parameters.panel_outcome_working_days }} working days of the meeting (Appendix C).
"""
        + _SIGN_OFF,
    ),
    LetterKind.APPEAL_PANEL_OUTCOME: (
        "Your appeal for {{ child.full_name }}: the panel's decision",
        """Dear {{ recipient.name }},

The independent panel has considered your appeal about {{ child.full_name }}'s transport \
(TRA reference {{ application.reference }}). The appeal is {{ appeal.outcome_words }}. This \
is the council's final decision (Appendix C).
{% if appeal.outcome_notes %}
{{ appeal.outcome_notes }}
{% endif %}
"""
        + _SIGN_OFF,
    ),
    LetterKind.PAYMENT_REMINDER: (
        "Transport contribution for {{ child.full_name }}: payment overdue",
        """Dear {{ recipient.name }},

Instalment {{ instalment.number }} of the transport contribution for {{ child.full_name }}, \
{{ instalment.amount | money }}, was due on {{ instalment.due_on | long_date }} and \
{{ instalment.outstanding | money }} is still unpaid (B1j). Please pay it now; if you cannot, \
ring {{ council.phone }} to talk about it.
"""
        + _SIGN_OFF,
    ),
}
