"""Eligibility for home-to-school and college transport (policy Section A; RULES.md).

Facts in, decision out: `assess` reads a `Case` (what the panel knows about one application)
and returns a `Decision` naming the clauses it relied on and explaining itself in words a
parent can read, because a refusal must be explained in writing (A1c).

How a case is decided:

* Pre-checks, before any basis: an independent school (A2a), a child below school age (A3),
  a home outside the county (A2; post-16: A7b), and a child in another council's care who has
  an EHCP, whose transport turns on that council's purchase order alone (A22).
* Then every basis in the order A3, A7, A8, A5, A6, A12, A4, A13, A21, A11 is evaluated to one
  of: holds, fails, pending (an officer's determination is awaited), unknown (a distance that
  would settle it has not been measured). For another council's child A5, A6 and A11 do not
  award (A22: free only to the DTA school or a nearer school); A22's recharge is tried only
  when none holds.
* The first basis that holds decides; `clauses` lists every one that holds, in that order.
* With none holding: `refer` when something is pending, else `measure` when something is
  unknown, else `not_eligible` with the stage's own clause (A3, A7, or A8 with an EHCP). Refer
  wins over measure because RULES.md lists it first, and because an officer who picks up the
  case can order the measurement, while a measurement cannot settle an officer's judgement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

from rules.academic_year import (
    AcademicYear,
    describe_year_group,
    end_of_stage,
    parse_academic_year,
    stage_of,
    year_group,
)
from rules.academic_year import age_on as _age_on
from rules.errors import RulesError
from rules.parameters import PolicyParameters, parameters_for
from rules.vocab import CareBy, Charge, MedicalWho, Outcome, Placement, SchoolType, Stage

__all__ = [
    "Care",
    "Case",
    "Decision",
    "ExceptionalCircumstances",
    "OFFICER_JUDGEMENT_BASES",
    "Medical",
    "Post16",
    "assess",
    "rests_on_officer_judgement",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Medical:
    """A13: a medical condition of the child, or of the parent who would take them (B1e)."""

    who: MedicalWho
    accepted: bool | None  # the officer's determination; None while it is pending
    until: date | None = None  # A13 "Temporary medical condition": the termination date


@dataclass(frozen=True, slots=True, kw_only=True)
class Care:
    """A21 (this council's care) or A22 (another council's care)."""

    by: CareBy
    placement: Placement
    purchase_order: str | None = None  # A22: the home council agrees to meet the cost


@dataclass(frozen=True, slots=True, kw_only=True)
class ExceptionalCircumstances:
    """A11: circumstances put forward by the family, judged by an officer."""

    accepted: bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Post16:
    """The course facts a post-16 decision turns on (A7b, A7h, A16, A8)."""

    full_time_hours: Decimal
    higher_education: bool = False
    apprenticeship: bool = False
    repeat_or_non_progression: bool = False
    programme_started_before_19: bool = False
    post19_need_determined: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """The facts of one application for one academic year (RULES.md "The assess contract")."""

    academic_year: str
    date_of_birth: date
    lives_in_county: bool
    year_group: int | None = None  # overrides the year group from the date of birth
    school_type: SchoolType = SchoolType.MAINTAINED
    distance_m: int | None = None  # shortest available route, measured as A3b says
    straight_line_m: int | None = None  # a lower bound on any route
    is_dta_school: bool = False
    is_nearest_suitable: bool | None = False  # None: unknown (A1c), e.g. no home location
    nearer_than_dta_school: bool | None = False
    nearest_suitable_rank: int | None = None
    low_income: bool = False
    religion_or_belief: bool = False
    route_unsuitable: bool = False
    ehcp: bool = False
    exceptional_transport_need: bool = False
    medical: Medical | None = None
    care: Care | None = None
    care_leaver: bool = False  # A21 "in or leaving care": a post-16 care leaver pays nothing
    school_named_in_ehcp: bool = False  # A2a: named in the EHCP, not fee-paying for the family
    exceptional_circumstances: ExceptionalCircumstances | None = None
    post16: Post16 | None = None


@dataclass(slots=True)
class Decision:
    """What `assess` decided and why (RULES.md "Output").

    Not frozen, unlike the facts: a frozen dataclass pays an ``object.__setattr__`` call per
    field on construction, and `assess` builds one of these on every call of a bulk run.
    """

    outcome: Outcome
    basis: str | None
    clauses: list[str]
    charge: Charge | None
    valid_until: date | None
    review_date: date | None
    reasons: list[str] = field(default_factory=list)


# What one basis comes to for a case.
_HOLDS, _FAILS, _PENDING, _UNKNOWN = range(4)

# The bases whose award lasts as long as an A3 award (to the end of Year 6 or Year 11, A15).
_STAGE_LONG = frozenset({"A3", "A12", "A4"})
# The awards that carry a review date (A13c reviewed at least annually; A21 reviewed with the
# social worker).
_REVIEWED = frozenset({"A13", "A21"})


class _Facts:
    """What every basis reads, worked out once per case."""

    __slots__ = (
        "case",
        "p",
        "year",
        "group",
        "stage",
        "age",
        "walking",
        "stage_word",
        "nearest",
        "school_counts",
        "in_council_care",
        "in_other_la_care",
    )

    def __init__(self, case: Case, p: PolicyParameters, year: AcademicYear) -> None:
        self.case = case
        self.p = p
        self.year = year
        group = case.year_group
        if group is None:
            group = year_group(case.date_of_birth, year)
        self.group = group
        self.stage = stage = stage_of(group)
        # A7b, A8e, A15: post-16 ages are taken on 1 September of the academic year.
        self.age = _age_on(case.date_of_birth, year.start)
        self.walking = p.walking_distance_m(stage)
        self.stage_word = "primary" if stage is Stage.PRIMARY else "secondary"
        # A missing rank counts as 1 for the nearest suitable school (RULES.md), and rank 1
        # is by definition the nearest suitable school.
        rank = case.nearest_suitable_rank
        self.nearest: bool | None = bool(
            case.is_nearest_suitable or rank == 1 or (case.ehcp and case.school_named_in_ehcp)
        )
        if not self.nearest and case.is_nearest_suitable is None and rank is None:
            self.nearest = None  # A1c: unknown, never "not the nearest"
        # A2, A14: the DTA school, the nearest suitable school, or a school nearer than the
        # DTA school; unknown when one of those is unknown and none is known to hold.
        self.school_counts: bool | None = bool(
            self.nearest or case.is_dta_school or case.nearer_than_dta_school
        )
        if not self.school_counts and (self.nearest is None or case.nearer_than_dta_school is None):
            self.school_counts = None
        care = case.care
        self.in_council_care = care is not None and care.by == CareBy.COUNCIL
        self.in_other_la_care = care is not None and care.by == CareBy.OTHER_LA

    @property
    def pupil(self) -> str:
        """``Year 6 pupil``: only reasons need it, so it is not worked out for every case."""
        noun = "student" if self.stage is Stage.POST16 else "pupil"
        return f"{describe_year_group(self.group)} {noun}"


def assess(case: Case, params: PolicyParameters | None = None) -> Decision:
    """Decide one case with the figures in force for its academic year.

    `params` is the panel's stored row for the case's year; without it the dated defaults
    apply. Passing another year's figures is refused: it would rewrite that year's rules.
    """
    if params is None:
        year, params = _year_and_defaults(case.academic_year)
    elif params.academic_year != case.academic_year:
        raise RulesError(
            "academic_year",
            f"parameters for {params.academic_year} given for a {case.academic_year} case",
        )
    else:
        year = parse_academic_year(case.academic_year)
    f = _Facts(case, params, year)
    if f.stage is Stage.POST16 and case.post16 is None:
        raise RulesError(
            "post16", f"required for a post-16 learner ({describe_year_group(f.group)})"
        )

    refused = _pre_check(f)
    if refused is not None:
        return refused

    evaluated: list[tuple[str, int, list[str]]] = []
    for clause, evaluate in _BASES:
        result = evaluate(f)
        if result is not None:
            if clause in _NOT_FOR_OTHER_LA and f.in_other_la_care:
                result = _a22_excludes(clause)
            evaluated.append((clause, result[0], result[1]))
    held = [item for item in evaluated if item[1] == _HOLDS]
    if not held:
        recharge = _a22_recharge(f)
        if recharge is not None:
            evaluated.append(("A22", recharge[0], recharge[1]))
            if recharge[0] == _HOLDS:
                held.append(evaluated[-1])
    if held:
        return _award(f, held)

    statuses = {item[1] for item in evaluated}
    if _PENDING in statuses:
        outcome = Outcome.REFER
    elif _UNKNOWN in statuses:
        outcome = Outcome.MEASURE
    else:
        basis = _stage_clause(f)
        return _refusal(basis, [reason for item in evaluated for reason in item[2]])
    first = _PENDING if outcome is Outcome.REFER else _UNKNOWN
    reasons = [r for item in evaluated if item[1] == first for r in item[2]]
    reasons += [r for item in evaluated if item[1] != first for r in item[2]]
    return Decision(outcome, None, [], None, None, None, reasons)


@lru_cache(maxsize=64)
def _year_and_defaults(label: str) -> tuple[AcademicYear, PolicyParameters]:
    return parse_academic_year(label), parameters_for(label)


def _pre_check(f: _Facts) -> Decision | None:
    """The refusals (and A22's EHCP rule) settled before any basis is tried."""
    case = f.case
    if case.school_type == SchoolType.INDEPENDENT and not (case.ehcp and case.school_named_in_ehcp):
        return _refusal(
            "A2", ["The policy does not apply to independent fee-paying schools (A2a)."]
        )
    if f.stage is Stage.BELOW_SCHOOL_AGE:
        return _refusal(
            "A3",
            [
                f"The child is not of school age in {f.year.label}: transport starts from the "
                "Reception year, the September after the fourth birthday (A3)."
            ],
        )
    if not case.lives_in_county:
        if f.stage is Stage.POST16:
            return _refusal(
                "A7", ["Post-16 transport is for students who live in the county (A7b)."]
            )
        return _refusal("A2", ["Transport is provided only from a home in the county (A2)."])
    if f.stage is Stage.POST16:
        # A7h, A15: courses and ages the policy does not cover are refused whatever else
        # holds; A13, A21 and A11 do not reach them.
        failures = _post16_tests(f)
        if failures:
            return _refusal(_stage_clause(f), failures)
    care = case.care
    if care is not None and care.by == CareBy.OTHER_LA and case.ehcp:
        # A22: "only entitled to school transport if the home Local Authority agrees to meet
        # the transport costs and a purchase order number has been supplied".
        status, reasons = _purchase_order(
            care,
            "A child in another council's care who has an EHCP is entitled to transport only "
            "when that council agrees to meet the cost and supplies a purchase order number (A22).",
        )
        if status == _HOLDS:
            return _award(f, [("A22", status, reasons)])
        return _refusal("A22", reasons)
    return None


def _refusal(basis: str, reasons: list[str]) -> Decision:
    return Decision(Outcome.NOT_ELIGIBLE, basis, [basis], None, None, None, reasons)


def _stage_clause(f: _Facts) -> str:
    """The clause a refusal rests on when no basis holds (RULES.md)."""
    if f.stage is not Stage.POST16:
        return "A3"
    return "A8" if f.case.ehcp else "A7"


def _award(f: _Facts, held: list[tuple[str, int, list[str]]]) -> Decision:
    basis = held[0][0]
    charge, charge_reason = _charge(f, basis)
    valid_until = _valid_until(f, basis)
    review_date = valid_until if basis in _REVIEWED else None
    reasons = [reason for item in held for reason in item[2]]
    if charge_reason:
        reasons.append(charge_reason)
    reasons.append(
        f"The eligibility runs until {_long_date(valid_until)}"
        + (
            f" and must be reviewed by then ({basis})."
            if review_date
            else f"{_until_why(f, basis)}."
        )
    )
    return Decision(
        Outcome.ELIGIBLE,
        basis,
        [item[0] for item in held],
        charge,
        valid_until,
        review_date,
        reasons,
    )


def _charge(f: _Facts, basis: str) -> tuple[Charge, str]:
    if basis == "A22":
        return Charge.HOME_LA, ""
    if f.stage is not Stage.POST16 or basis == "A21":
        return Charge.FREE, ""
    if f.in_council_care or f.case.care_leaver:
        return Charge.FREE, "No contribution is charged: post-16 students in care do not pay (A21)."
    if basis == "A8":
        post16 = f.case.post16
        assert post16 is not None
        # A8e: a programme begun before the 19th birthday (1 September is the notional start)
        # pays a contribution. Anyone under 19 on this 1 September began it before 19.
        if post16.programme_started_before_19 or f.age < f.p.post16_max_age:
            return (
                Charge.CONTRIBUTION,
                "A student contribution is payable before travel (A8e, B1j).",
            )
        return (
            Charge.FREE,
            "No contribution is charged: the programme began after the 19th birthday and the "
            "council has determined transport necessary (A8f).",
        )
    # A7c; A11a and A13 give "subsidised" transport at the post-16 stage.
    return (
        Charge.CONTRIBUTION,
        f"A student contribution is payable before travel ({basis}, A7c, B1j).",
    )


def _valid_until(f: _Facts, basis: str) -> date:
    if basis in _STAGE_LONG:
        return end_of_stage(f.year, f.group)
    if basis == "A8":
        # A8h: "an initial transport eligibility will normally be given for 2 years".
        return f.year.end.replace(year=f.year.end.year + 1)
    if basis == "A13":
        medical = f.case.medical
        # A13 "Temporary medical condition": a termination date is set; A13c: reviewed at least
        # annually, so never beyond the end of this academic year.
        if medical is not None and medical.until is not None and medical.until < f.year.end:
            return medical.until
    return f.year.end


def _until_why(f: _Facts, basis: str) -> str:
    if basis in _STAGE_LONG:
        last = "Year 6" if f.stage is Stage.PRIMARY else "Year 11"
        return f", the end of the school year in which the pupil is in {last} (A15)"
    return f", the end of the {f.year.label} academic year; a new application is needed each year"


_MONTHS = (
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _long_date(day: date) -> str:
    """``31 August 2025``, without strftime, which is slow and follows the process locale."""
    return f"{day.day} {_MONTHS[day.month]} {day.year}"


# --- distances ---------------------------------------------------------------------------------
#
# `distance_m` is the route A3b measures. Without it `straight_line_m` is a lower bound: a
# straight line already over a "more than" limit passes it, already over an "at most" limit
# fails it; anything else is left unknown for a measurement (RULES.md "Distances").


def _over(case: Case, limit: int, label: str) -> tuple[bool | None, str]:
    """ "More than `limit`" with the phrase that explains it (unknown: a whole sentence)."""
    d = case.distance_m
    if d is not None:
        if d > limit:
            return True, f"{d} m from home, more than the {limit} m {label}"
        return False, f"{d} m from home, not more than the {limit} m {label}"
    s = case.straight_line_m
    if s is not None and s > limit:
        return True, f"at least {s} m from home (straight line), more than the {limit} m {label}"
    return None, _unmeasured(s, f"more than the {limit} m {label}")


def _within(case: Case, limit: int, label: str) -> tuple[bool | None, str]:
    """ "At most `limit`", the complement of `_over` on a measured route."""
    d = case.distance_m
    if d is not None:
        if d <= limit:
            return True, f"{d} m from home, within the {limit} m {label}"
        return False, f"{d} m from home, beyond the {limit} m {label}"
    s = case.straight_line_m
    if s is not None and s > limit:
        return False, f"at least {s} m from home (straight line), beyond the {limit} m {label}"
    return None, _unmeasured(s, f"within the {limit} m {label}")


def _band(case: Case, lower: int, upper: int) -> tuple[bool | None, str]:
    """A5, A6: more than `lower` and at most `upper` ("between two and six miles")."""
    above, above_why = _over(case, lower, "lower limit")
    below, below_why = _within(case, upper, "upper limit")
    if above is False:
        return False, above_why
    if below is False:
        return False, below_why
    if above and below:
        return (
            True,
            f"{case.distance_m} m from home, more than {lower} m and no more than {upper} m",
        )
    return None, below_why if above else above_why


def _unmeasured(straight_line: int | None, question: str) -> str:
    if straight_line is None:
        return (
            f"The route from home has not been measured; it decides whether the school is "
            f"{question}"
        )
    return (
        f"The straight line from home is {straight_line} m, which does not settle whether the "
        f"route is {question}: the route must be measured"
    )


def _distance_reason(subject: str, result: bool | None, why: str, clause: str) -> str:
    if result is None:
        return f"{why} ({clause})."
    return f"{subject} {why} ({clause})."


def _school(f: _Facts) -> str:
    case = f.case
    if f.nearest:
        return "the nearest suitable school"
    if case.is_dta_school:
        return "the designated transport area (DTA) school"
    if case.nearer_than_dta_school:
        return "a school nearer than the designated transport area (DTA) school"
    return (
        "a school that is not the DTA school, the nearest suitable school or nearer than the "
        "DTA school"
    )


def _school_unknown(clause: str) -> str:
    """A1c: a school test that cannot be worked out is neither passed nor failed."""
    return (
        "Whether this is the nearest suitable school, or nearer than the DTA school, cannot be "
        "worked out until the home (and the school) have a location; the distance must be "
        f"measured first ({clause}, A1c)."
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


_Result = tuple[int, list[str]] | None


# --- the bases, in the order they are tried ----------------------------------------------------


def _a3(f: _Facts) -> _Result:
    """A3: primary and secondary, school counts, more than the stage's walking distance."""
    if f.stage is Stage.POST16:
        return None
    if f.school_counts is False:
        return _FAILS, [
            "Free transport is provided only to the designated transport area (DTA) school for "
            "the home, the nearest suitable school, or a school nearer than the DTA school, and "
            "this school is none of these (A3, A14)."
        ]
    result, why = _over(f.case, f.walking, f"{f.stage_word} walking distance")
    if f.school_counts is None and result is not False:
        return _UNKNOWN, [_school_unknown("A3")]
    subject = f"{f.pupil} attending {_school(f)}" if result else "The school is"
    return _status(result), [_distance_reason(subject, result, why, "A3")]


def _post16_tests(f: _Facts) -> list[str]:
    """A7h, A15: the age and course tests that bind every basis for a post-16 learner."""
    clause = "A8" if f.case.ehcp else "A7"
    return _post16_age(f) + _post16_course(f, clause)


def _post16_age(f: _Facts) -> list[str]:
    """A7b, A15 (16-18 on 1 September); A8a with an EHCP (to 25, past 19 where determined)."""
    p = f.p
    post16 = f.case.post16
    assert post16 is not None
    on = f"on 1 September {f.year.start_year}"
    if not f.case.ehcp:
        if p.post16_min_age <= f.age < p.post16_max_age:
            return []
        return [
            f"The student is {f.age} {on}; post-16 transport is for students at least "
            f"{p.post16_min_age} and under {p.post16_max_age} on that date (A7b, A15)."
        ]
    if f.age < p.post16_min_age:
        return [
            f"The student is {f.age} {on}; post-16 transport starts at {p.post16_min_age} "
            "(A8, A7b)."
        ]
    if f.age >= p.send_max_age:
        return [
            f"The student is {f.age} {on}; support for learners with SEND runs until they reach "
            f"{p.send_max_age} (A8a)."
        ]
    if f.age >= p.post16_max_age and not post16.post19_need_determined:
        return [
            f"The student is {f.age} {on}; transport beyond {p.post16_max_age} is provided only "
            "where the council has determined it necessary for the learner (A8a)."
        ]
    return []


def _post16_course(f: _Facts, clause: str) -> list[str]:
    """The course tests A7 and A8 share: full time, not higher education or apprenticeship."""
    post16 = f.case.post16
    assert post16 is not None
    failures = []
    if post16.full_time_hours < f.p.full_time_min_hours:
        failures.append(
            f"The course is {post16.full_time_hours} hours a week; transport needs a full-time "
            f"course of at least {f.p.full_time_min_hours} hours of taught study (A7b, {clause})."
        )
    cite = "A7h" if clause == "A7" else f"A7h, {clause}"
    if post16.higher_education:
        failures.append(f"The policy does not apply to higher education courses ({cite}).")
    if post16.apprenticeship:
        failures.append(f"The policy does not apply to apprenticeships ({cite}).")
    return failures


def _post16_school(f: _Facts, clause: str) -> list[str]:
    """A7, A8 with A14: the school or college must count."""
    failures = []
    if f.school_counts is False:
        failures.append(
            "Post-16 transport is provided only to the designated transport area (DTA) school or "
            "college, the nearest suitable one, or one nearer than the DTA school or college, and "
            f"this is none of these ({clause}, A14)."
        )
    return failures


def _a7(f: _Facts) -> _Result:
    """A7: post-16 without an EHCP; age 16-18 on 1 September, full-time, progression, > 3 miles."""
    if f.stage is not Stage.POST16 or f.case.ehcp:
        return None
    failures = _post16_school(f, "A7")  # age and course: _pre_check (A7h, A15)
    post16 = f.case.post16
    assert post16 is not None
    if post16.repeat_or_non_progression:
        failures.append(
            "Transport is not provided for a repeat year or a course that is not a progression "
            "from courses already taken (A7l, A16)."
        )
    return _with_distance(f, failures, "A7", f"{f.pupil} on a full-time course at {_school(f)}")


def _a8(f: _Facts) -> _Result:
    """A8: post-16 with an EHCP; as A7 to 25, past 19 only where determined necessary.

    A16 does not apply to students with SEND whose longer study facilitates progression, so
    `repeat_or_non_progression` does not refuse an A8 case.
    """
    if f.stage is not Stage.POST16 or not f.case.ehcp:
        return None
    failures = _post16_school(f, "A8")  # age and course: _pre_check (A7h, A15, A8a)
    return _with_distance(f, failures, "A8", f"{f.pupil} with an EHCP attending {_school(f)}")


def _with_distance(f: _Facts, failures: list[str], clause: str, subject: str) -> _Result:
    """A7a, A8b: more than 3 miles, once every other test has passed."""
    if failures:
        return _FAILS, failures
    result, why = _over(f.case, f.walking, "post-16 distance criterion")
    if f.school_counts is None and result is not False:
        return _UNKNOWN, [_school_unknown(clause)]
    return _status(result), [
        _distance_reason(subject if result else "The school is", result, why, clause)
    ]


def _a5(f: _Facts) -> _Result:
    """A5: secondary, low income, one of the three nearest suitable schools, 2-6 miles."""
    case = f.case
    if not case.low_income:
        return None
    if f.stage is not Stage.SECONDARY:
        return _FAILS, [
            "The extra help for families with a low income applies at the secondary stage "
            "(Years 7 to 11) only (A5, A6)."
        ]
    rank = case.nearest_suitable_rank
    if rank is None and f.nearest:
        rank = 1
    if rank is None and f.nearest is None:
        result, _why = _band(case, f.p.primary_walking_distance_m, f.p.low_income_upper_m)
        return (_FAILS, []) if result is False else (_UNKNOWN, [_school_unknown("A5")])
    limit = f.p.low_income_rank_limit
    if rank is None or rank > limit:
        where = "is not" if rank is None else f"is the {_ordinal(rank)} nearest suitable school,"
        return _FAILS, [
            f"The school {where} not one of the {limit} nearest suitable schools to the home, so "
            "free transport on low-income grounds does not apply (A5a)."
        ]
    result, why = _band(case, f.p.primary_walking_distance_m, f.p.low_income_upper_m)
    subject = (
        f"{f.pupil} from a low-income family attending the {_ordinal(rank)} nearest suitable "
        "school,"
        if result
        else "The school is"
    )
    return _status(result), [_distance_reason(subject, result, why, "A5")]


def _a6(f: _Facts) -> _Result:
    """A6: secondary, low income, nearest school preferred on religion or belief, 2-15 miles."""
    case = f.case
    if not case.religion_or_belief or f.stage is not Stage.SECONDARY:
        return None  # A5 has explained the stage to a low-income family
    if not case.low_income:
        return _FAILS, [
            "Transport to a school preferred on grounds of religion or belief is for families "
            "with a low income (A6)."
        ]
    result, why = _band(case, f.p.primary_walking_distance_m, f.p.religion_or_belief_upper_m)
    subject = (
        f"{f.pupil} from a low-income family attending the nearest school preferred on grounds "
        "of religion or belief,"
        if result
        else "The school is"
    )
    return _status(result), [_distance_reason(subject, result, why, "A6")]


def _a12(f: _Facts) -> _Result:
    """A12: within walking distance on a route assessed unsuitable; never post-16 (App. D)."""
    case = f.case
    if not case.route_unsuitable:
        return None
    if f.stage is Stage.POST16:
        return _FAILS, [
            "Walking routes are not assessed at the post-16 stage: transport is not provided "
            "within 3 miles even where a route is unsuitable (A7j, Appendix D)."
        ]
    if f.school_counts is None:
        return _UNKNOWN, [_school_unknown("A12")]
    if not f.school_counts:
        return _FAILS, [
            "An unsuitable walking route is considered only to the DTA school, the nearest "
            "suitable school or a school nearer than the DTA school (A12, A14)."
        ]
    result, why = _within(case, f.walking, f"{f.stage_word} walking distance")
    if result:
        return _HOLDS, [
            f"{f.pupil} attending {_school(f)} {why}, on a walking route assessed as unsuitable "
            "(A12, Appendix D)."
        ]
    if result is None:
        return _UNKNOWN, [f"{why} (A12)."]
    return _FAILS, []  # beyond walking distance: A3 decides on distance alone


def _a4(f: _Facts) -> _Result:
    """A4c: an EHCP with an exceptional transport need determined by the council."""
    case = f.case
    if not case.exceptional_transport_need or f.stage is Stage.POST16:
        return None
    if not case.ehcp:
        return _FAILS, [
            "An exceptional transport need is determined as part of an EHCP; without one, "
            "medical evidence is considered instead (A4c, A4d, A13)."
        ]
    if f.nearest is None:
        return _UNKNOWN, [_school_unknown("A4c")]
    if not f.nearest:
        return _FAILS, [
            "Transport for an exceptional transport need is provided only to the nearest "
            "suitable school that meets the child's needs (A4c)."
        ]
    return _HOLDS, [
        f"{f.pupil} with an EHCP and an exceptional transport need determined by the council, "
        "attending the nearest suitable school (A4c)."
    ]


def _a13(f: _Facts) -> _Result:
    """A13: medical grounds of the child or parent, to the nearest or DTA school only."""
    case = f.case
    medical = case.medical
    if medical is None:
        return None
    whose = "the child's" if medical.who == MedicalWho.CHILD else "a parent's"
    if f.nearest is None and not case.is_dta_school:
        return _UNKNOWN, [_school_unknown("A13")]
    if not (f.nearest or case.is_dta_school):
        return _FAILS, [
            "Transport for medical reasons is considered only to the nearest or designated "
            "transport area school (A13)."
        ]
    if medical.until is not None and medical.until < f.year.start:
        return _FAILS, [
            f"The temporary medical condition ended on {_long_date(medical.until)}, before the "
            f"{f.year.label} academic year (A13)."
        ]
    if medical.accepted is None:
        return _PENDING, [
            f"Medical grounds ({whose} condition) await a transport eligibility officer's "
            "decision on the evidence (A13)."
        ]
    if not medical.accepted:
        return _FAILS, [
            f"The medical evidence of {whose} condition was considered and not accepted by the "
            "transport eligibility officer (A13)."
        ]
    if medical.who == MedicalWho.CHILD:
        text = (
            "The child's medical condition, accepted by the transport eligibility officer, "
            f"prevents them walking to {_school(f)} (A13)."
        )
    else:
        text = (
            "A parent's medical condition, accepted by the transport eligibility officer, "
            "prevents them getting the child to school (A13 Medical condition of parent, B1e)."
        )
    return _HOLDS, [text]


def _a21(f: _Facts) -> _Result:
    """A21: in this council's care; temporary placement, or permanent beyond walking distance."""
    care = f.case.care
    if care is None or care.by != CareBy.COUNCIL:
        return None
    if care.placement == Placement.TEMPORARY:
        return _HOLDS, [
            "In the council's care in a temporary placement: transport to the current school, "
            "whatever the distance, for continuity of education (A21)."
        ]
    result, why = _over(f.case, f.walking, f"{f.stage_word} walking distance")
    if result:
        return _HOLDS, [
            "In the council's care in a permanent placement, attending the school Social Care "
            f"assessed as suitable, {why} (A21)."
        ]
    if result is None:
        return _UNKNOWN, [f"{why} (A21)."]
    return _PENDING, [
        f"In the council's care in a permanent placement, with the school {why}: the social "
        "worker must provide evidence that the child cannot walk to school, accompanied as "
        "necessary (A21)."
    ]


def _a11(f: _Facts) -> _Result:
    """A11: exceptional circumstances, decided by the officer."""
    circumstances = f.case.exceptional_circumstances
    if circumstances is None:
        return None
    if circumstances.accepted is None:
        return _PENDING, [
            "The exceptional circumstances put forward await a transport eligibility officer's "
            "decision (A11d)."
        ]
    if not circumstances.accepted:
        return _FAILS, [
            "The exceptional circumstances put forward were considered and not accepted by the "
            "transport eligibility officer (A11d)."
        ]
    return _HOLDS, [
        "Exceptional circumstances accepted by the transport eligibility officer (A11d)."
    ]


# A22: "entitled to free school transport provision only if they are attending their designated
# transport area school or a nearer school subject to the distance criteria". The school-choice
# bases that reach beyond the DTA or a nearer school (A5 three nearest, A6 religion or belief)
# and A11's discretion do not award another council's child; its transport to any other school
# is that council's to buy (the recharge below).
_NOT_FOR_OTHER_LA = frozenset({"A5", "A6", "A11"})


def _a22_excludes(clause: str) -> tuple[int, list[str]]:
    """A basis A22 does not extend to another council's child: it fails, never pends."""
    return _FAILS, [
        f"A child in another council's care has free transport only to the designated transport "
        f"area (DTA) school or a nearer school, on the distance criteria; {clause} does not "
        "apply (A22)."
    ]


def _a22_recharge(f: _Facts) -> _Result:
    """A22: another council's child, to any other school, at that council's cost."""
    care = f.case.care
    if care is None or care.by != CareBy.OTHER_LA:
        return None
    return _purchase_order(
        care,
        "A child in another council's care has transport to this school only when that council "
        "agrees to meet the cost and supplies a purchase order number (A22).",
    )


def _purchase_order(care: Care, refusal: str) -> tuple[int, list[str]]:
    order = care.purchase_order
    if order is not None and order.strip():
        return _HOLDS, [
            f"In another council's care: transport is arranged at that council's cost under "
            f"purchase order {order.strip()} (A22)."
        ]
    return _FAILS, [refusal]


def _status(result: bool | None) -> int:
    return _HOLDS if result else _UNKNOWN if result is None else _FAILS


_BASES = (
    ("A3", _a3),
    ("A7", _a7),
    ("A8", _a8),
    ("A5", _a5),
    ("A6", _a6),
    ("A12", _a12),
    ("A4", _a4),
    ("A13", _a13),
    ("A21", _a21),
    ("A11", _a11),
)

# The bases awarded only on a determination a transport eligibility officer records (DOMAIN.md
# "decides what needs judgement"): an unsuitable walking route (A12, Appendix D), an exceptional
# transport need with an EHCP (A4c), medical grounds (A13, B1e), exceptional circumstances
# (A11d). An award on one of them rests on that officer's judgement.
OFFICER_JUDGEMENT_BASES = frozenset({"A12", "A4", "A13", "A11"})


def rests_on_officer_judgement(outcome: Outcome, basis: str | None) -> bool:
    """An award decided by one of `OFFICER_JUDGEMENT_BASES`."""
    return outcome == Outcome.ELIGIBLE and basis in OFFICER_JUDGEMENT_BASES
