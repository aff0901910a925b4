"""The relational schema, one concept per module; import from here."""

from .appeal import Appeal
from .area import Parish, Postcode
from .audit import AuditLog
from .base import Base, db
from .calendar import AcademicYear, Closure, Term
from .case_assignment import CaseAssignment
from .case_document import CaseDocument, CaseDocumentDownload
from .case_note import CaseNote
from .communication import Communication
from .concessionary import ConcessionaryApplication, ConcessionarySeat
from .contact import Contact
from .contribution import Contribution, Instalment, Payment, Refund
from .dta import DesignatedTransportArea, DtaArea
from .eligibility_decision import EligibilityDecision
from .home_access_point import HomeAccessPoint
from .import_run import ImportRun
from .job import Job, JobStatus
from .letter_download import LetterDownload
from .letter_template import LetterTemplate
from .pupil import LowIncomeEvidence, Pupil
from .retention import AuditRedaction, RetentionSetting
from .road_network import RoadNetwork
from .route import Route, RouteSchool
from .route_measurement import RouteMeasurement
from .school import School
from .school_gate import SchoolGate
from .settings import ContributionSetting, PolicyParameterSet
from .submitted_form import SubmittedForm
from .term_variation import TermDateVariation
from .transport_application import TransportApplication
from .user import User, UserRole
from .withdrawal import Withdrawal

__all__ = [
    "AcademicYear",
    "Appeal",
    "AuditLog",
    "AuditRedaction",
    "Base",
    "CaseAssignment",
    "CaseDocument",
    "CaseDocumentDownload",
    "CaseNote",
    "Closure",
    "ConcessionaryApplication",
    "ConcessionarySeat",
    "Contribution",
    "Communication",
    "Contact",
    "ContributionSetting",
    "DesignatedTransportArea",
    "DtaArea",
    "EligibilityDecision",
    "HomeAccessPoint",
    "ImportRun",
    "Instalment",
    "Job",
    "JobStatus",
    "LetterDownload",
    "LetterTemplate",
    "LowIncomeEvidence",
    "Parish",
    "Payment",
    "PolicyParameterSet",
    "Postcode",
    "Pupil",
    "Refund",
    "RetentionSetting",
    "RoadNetwork",
    "Route",
    "RouteMeasurement",
    "RouteSchool",
    "School",
    "SchoolGate",
    "SubmittedForm",
    "Term",
    "TermDateVariation",
    "TransportApplication",
    "User",
    "UserRole",
    "Withdrawal",
    "db",
]
