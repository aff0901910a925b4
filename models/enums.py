"""Closed vocabularies stored as checked strings (portable across SQLite and PostgreSQL)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum as SAEnum

# The rules contract's vocabularies are the schema's too: one definition, stored as is.
from rules.vocab import CareBy as CareBy
from rules.vocab import Charge as Charge
from rules.vocab import MedicalWho as MedicalWho
from rules.vocab import Outcome as Outcome
from rules.vocab import Placement as Placement
from rules.vocab import Plan
from rules.vocab import Sessions as Sessions

PaymentPlan = Plan  # B1j: in full, three or six instalments


def enum_column(enum_cls: type[StrEnum], name: str) -> SAEnum:
    """A VARCHAR with a CHECK constraint: readable in SQL, no PostgreSQL ENUM types to migrate."""
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Phase(StrEnum):
    NURSERY = "nursery"
    PRIMARY = "primary"
    SECONDARY = "secondary"
    ALL_THROUGH = "all_through"
    SPECIAL = "special"
    SIXTH_FORM = "sixth_form"
    FE_COLLEGE = "fe_college"
    ALTERNATIVE_PROVISION = "alternative_provision"


class EstablishmentType(StrEnum):
    COMMUNITY = "community"
    VOLUNTARY_CONTROLLED = "voluntary_controlled"
    VOLUNTARY_AIDED = "voluntary_aided"
    FOUNDATION = "foundation"
    ACADEMY = "academy"
    FREE_SCHOOL = "free_school"
    SPECIAL = "special"
    INDEPENDENT = "independent"
    FE_COLLEGE = "fe_college"
    ALTERNATIVE_PROVISION = "alternative_provision"
    NURSERY = "nursery"
    OTHER = "other"


class SixthForm(StrEnum):
    """GIAS "OfficialSixthForm": whether a school has a sixth form (A7b), as GIAS records it."""

    HAS = "has_sixth_form"
    DOES_NOT_HAVE = "no_sixth_form"
    NOT_APPLICABLE = "not_applicable"
    NOT_RECORDED = "not_recorded"


class DtaCategory(StrEnum):
    """Appendix A / Appendix G: the kinds of Designated Transport Area."""

    PRIMARY = "primary"
    SECONDARY_ALL_ABILITY = "secondary_all_ability"
    GRAMMAR = "grammar"
    SIXTH_FORM = "sixth_form"
    FE_COLLEGE = "fe_college"


class DistanceMethod(StrEnum):
    """A3b: walking route up to the walking distance, driving route beyond it."""

    WALKING_ROUTE = "walking_route"
    DRIVING_ROUTE = "driving_route"


class MeasurementKind(StrEnum):
    """A4b: a route computed over the road network, or an officer's hand measurement."""

    COMPUTED = "computed"
    HAND = "hand"


class ApplicationStatus(StrEnum):
    RECEIVED = "received"
    DECIDED = "decided"
    WITHDRAWN = "withdrawn"


class ConcessionaryStatus(StrEnum):
    PENDING = "pending"
    ALLOCATED = "allocated"
    WAITING = "waiting"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    LAPSED = "lapsed"


class SeatStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    LAPSED = "lapsed"


class ContributionKind(StrEnum):
    CONCESSIONARY = "concessionary"  # A9, Appendix F
    POST16 = "post16"  # A7, A8


class WithdrawalKind(StrEnum):
    CONCESSIONARY_SEAT = "concessionary_seat"  # Appendix F
    ELIGIBILITY = "eligibility"  # A15, A12a


class AppealStage(StrEnum):
    REVIEW = "stage_one"  # Appendix C: review by a senior officer
    PANEL = "stage_two"  # Appendix C: independent panel


class AppealOutcome(StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"
    OVERTURNED = "overturned"
    WITHDRAWN = "withdrawn"


class VariationStatus(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REFUSED = "refused"


class SignOff(StrEnum):
    """An assistant's refusal, or award on an officer's judgement, waits for an officer
    (DOMAIN.md: officers sign off decisions); NULL on a decision that needs none."""

    AWAITING = "awaiting"
    SIGNED_OFF = "signed_off"
    SENT_BACK = "sent_back"


class Role(StrEnum):
    ASSISTANT = "assistant"
    OFFICER = "officer"
    SUPERVISOR = "supervisor"


class AuditAction(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    # Reads of personal data, exports and downloads (issue 16: UK GDPR accountability).
    READ = "read"
    EXPORT = "export"
    DOWNLOAD = "download"
    # A pupil anonymised, and the trail's personal values about them redacted (issue 16).
    ANONYMISE = "anonymise"
    REDACT = "redact"


class Channel(StrEnum):
    """How a family is written to (B1i: "in writing (letter or e-mail)")."""

    POST = "post"
    EMAIL = "email"


class CommunicationStatus(StrEnum):
    QUEUED = "queued"  # made, not yet sent or printed
    SENT = "sent"  # e-mail accepted by GOV.UK Notify
    PRINTED = "printed"  # in a print batch for the post room
    FAILED = "failed"
    CANCELLED = "cancelled"  # never sent: the decision it told of was superseded


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class LetterKind(StrEnum):
    """Every notice a family must receive in writing, with the clause that requires it."""

    DECISION_ELIGIBLE = "decision_eligible"  # B1i
    DECISION_NOT_ELIGIBLE = "decision_not_eligible"  # B1i, A1c, Appendix C
    EVIDENCE_REQUEST = "evidence_request"  # B1e, A11, A13: an officer's judgement is awaited
    SEAT_OFFER = "seat_offer"  # Appendix F
    SEAT_WAITING_LIST = "seat_waiting_list"  # Appendix F
    SEAT_REFUSED = "seat_refused"  # Appendix F
    SEAT_WITHDRAWAL = "seat_withdrawal"  # Appendix F
    ELIGIBILITY_WITHDRAWAL = "eligibility_withdrawal"  # A15, A12a
    APPEAL_ACKNOWLEDGEMENT = "appeal_acknowledgement"  # Appendix C
    APPEAL_STAGE_ONE_OUTCOME = "appeal_stage_one_outcome"  # Appendix C
    APPEAL_PANEL_DATE = "appeal_panel_date"  # Appendix C
    APPEAL_PANEL_OUTCOME = "appeal_panel_outcome"  # Appendix C: "within 5 working days"
    PAYMENT_REMINDER = "payment_reminder"  # B1j
