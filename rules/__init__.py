"""The rules of the School and College Transport Policy 2024/25, as pure functions.

Facts in, decision out: nothing here reads a database, a clock or a web request, so the same
facts always give the same answer, and the admin panel, the command line (``python -m rules``)
and the tests all ask exactly the same question. Clause numbers (A3, Appendix F, ...) are the
policy's and appear in every decision.
"""

from rules.academic_year import (
    AcademicYear,
    academic_year_of,
    age_on,
    end_of_stage,
    parse_academic_year,
    stage_of,
    year_group,
)
from rules.assess import Care, Case, Decision, ExceptionalCircumstances, Medical, Post16, assess
from rules.calendar import (
    AppealDeadlines,
    DecisionTarget,
    add_working_days,
    appeal_deadlines,
    decision_target,
    england_bank_holidays,
    is_working_day,
    operational_days,
    panel_outcome_by,
    stage_one_decision_by,
    stage_two_panel_window,
)
from rules.contribution import (
    Contribution,
    ContributionError,
    Instalment,
    Settlement,
    contribution,
    refund,
)
from rules.errors import RulesError
from rules.parameters import DATED_DEFAULTS, PolicyParameters, parameters_for
from rules.register import (
    Allocation,
    AllocationRequest,
    Applicant,
    Refusal,
    Withdrawal,
    WithdrawalRequest,
    allocate,
    priority_key,
    register,
    withdraw,
)
from rules.vocab import (
    CareBy,
    Charge,
    MedicalWho,
    Outcome,
    Placement,
    Plan,
    SchoolType,
    Sessions,
    Stage,
)

__all__ = [
    "DATED_DEFAULTS",
    "AcademicYear",
    "Allocation",
    "AllocationRequest",
    "AppealDeadlines",
    "Applicant",
    "Care",
    "CareBy",
    "Case",
    "Charge",
    "Contribution",
    "ContributionError",
    "Decision",
    "DecisionTarget",
    "ExceptionalCircumstances",
    "Instalment",
    "Medical",
    "MedicalWho",
    "Outcome",
    "Placement",
    "Plan",
    "PolicyParameters",
    "Post16",
    "Refusal",
    "RulesError",
    "SchoolType",
    "Sessions",
    "Settlement",
    "Stage",
    "Withdrawal",
    "WithdrawalRequest",
    "academic_year_of",
    "add_working_days",
    "age_on",
    "allocate",
    "appeal_deadlines",
    "assess",
    "contribution",
    "decision_target",
    "end_of_stage",
    "england_bank_holidays",
    "is_working_day",
    "operational_days",
    "panel_outcome_by",
    "parameters_for",
    "parse_academic_year",
    "priority_key",
    "refund",
    "register",
    "stage_of",
    "stage_one_decision_by",
    "stage_two_panel_window",
    "withdraw",
    "year_group",
]
