"""The policy's school facts, defined once: "designated school", "nearest suitable school" and
"distance to it" (A2, A3a, A3f, A5a, A6, A7b, A14, Appendix F tiers 3 and 5).

Eligibility (`services.eligibility_facts`) and the concessionary-seat register
(`services.seats.register_facts`) both ask this module, so a child is "at the designated or
nearest school" in the register exactly when the eligibility case says it is (RULES.md v2 "Facts
the panel gathers": Appendix F's "designated or nearest school" and "distance" are A3's facts).

How the facts are gathered (RULES.md v2):

* Candidates: open main sites of the child's stage and kind (special or mainstream), not
  independent (A2a), a satellite standing for its main site (A3f, A4f), a selective school only
  for a child who attends one, an age range covering the child; the school the child attends is
  always a candidate for its own pupil whatever GIAS's upper age says.
* Post-16 (A7b "their nearest or designated school with a sixth form provision, **or** their
  nearest or designated college"): schools with a sixth form and colleges are two rankings; the
  chosen school is ranked within its own.
* Like for like: never one school by its route and another by its straight line. The
  competitors of a chosen school with a measured route (computed, or an officer's hand
  measurement) are the schools whose straight line is shorter than that route (no route is
  shorter than its straight line, so no other can be nearer); when every one of them has a
  route too, routes decide; otherwise straight lines decide for all, the chosen school's too.
  The measured route still decides the distance test (the rules read it as `distance_m`).
  `services.measurement` measures exactly those competitors, so a network run turns a
  straight-line ranking into a route ranking.
* Unknown is not false: a home without a location, or a chosen school with neither a location
  nor a route, gives `None` for "nearest" and "nearer than the DTA school", with the missing
  thing named ("home location needed").

Set-based: the schools and DTAs are loaded once per batch (`SchoolContext.load`), and the
straight lines of a batch of homes against the candidate schools are one numpy matrix per kind.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import DesignatedTransportArea, DtaArea, RouteMeasurement, School
from models.enums import DtaCategory, EstablishmentType, MeasurementKind, Phase
from models.school import has_post16_provision
from rules.academic_year import RECEPTION_AGE, stage_of
from rules.vocab import Stage
from services.id_lists import in_ids

ID_CHUNK = 500
HOME_LOCATION_NEEDED = "home location needed"
SCHOOL_LOCATION_NEEDED = "school location needed"
ROUTES_NEEDED = "routes to the schools that may be nearer needed"

# Which mainstream phases teach a pupil of each stage (special schools are their own kind).
_MAINSTREAM_PHASES: dict[Stage, frozenset[Phase]] = {
    Stage.PRIMARY: frozenset({Phase.PRIMARY, Phase.ALL_THROUGH}),
    Stage.SECONDARY: frozenset({Phase.SECONDARY, Phase.ALL_THROUGH}),
    Stage.POST16: frozenset(
        {Phase.SECONDARY, Phase.ALL_THROUGH, Phase.SIXTH_FORM, Phase.FE_COLLEGE}
    ),
}

# A7b's two post-16 rankings, and the DTA category (Appendix G) each one's designated school has.
SIXTH_FORM_SET, COLLEGE_SET = "sixth_form", "college"
_DTA_OF_SET = {SIXTH_FORM_SET: DtaCategory.SIXTH_FORM, COLLEGE_SET: DtaCategory.FE_COLLEGE}

# GIAS "Religious character" values that mean the school has none.
_NO_CHARACTER = frozenset(
    {"", "none", "does not apply", "not applicable", "not recorded", "unknown", "not collected"}
)


def religious_character(value: str | None) -> str | None:
    """A6: the school's religious character as GIAS gives it, or None when it has none."""
    if value is None or value.strip().lower() in _NO_CHARACTER:
        return None
    return value.strip().lower()


def resident(recorded: bool, parish_in_county: bool | None) -> bool:
    """A2: living in the county. A parish marked outside the county means not resident,
    whatever the pupil record says (the parish screen says so); otherwise the record. The same
    for eligibility and for Appendix F's 1st tier ("living in Lincolnshire")."""
    return bool(recorded) and parish_in_county is not False


def is_college(phase: Phase, establishment: EstablishmentType) -> bool:
    """A7b "or their nearest or designated college": a further-education college."""
    return phase is Phase.FE_COLLEGE or establishment is EstablishmentType.FE_COLLEGE


def dta_categories(stage: Stage, selective: bool) -> frozenset[DtaCategory]:
    """Appendix G: the DTA categories that fit a pupil at this stage and kind of school, so a
    sixth-form or primary DTA never makes a school "designated" for a Year 9 pupil."""
    if stage is Stage.PRIMARY:
        return frozenset({DtaCategory.PRIMARY})
    if stage is Stage.SECONDARY:
        return frozenset({DtaCategory.GRAMMAR if selective else DtaCategory.SECONDARY_ALL_ABILITY})
    if stage is Stage.POST16:
        return frozenset({DtaCategory.SIXTH_FORM, DtaCategory.FE_COLLEGE})
    return frozenset()


@dataclass(slots=True)
class SchoolTable:
    """Every school, as parallel arrays for the vectorised straight-line comparisons."""

    index: dict[int, int]
    ids: np.ndarray
    phase: list[Phase]
    establishment: list[EstablishmentType]
    selective: list[bool]
    main_site: list[int | None]
    east: np.ndarray
    north: np.ndarray
    has_xy: np.ndarray
    low: list[int | None]
    high: list[int | None]
    sixth_form: list[Any]
    is_open: list[bool]
    character: list[str | None]
    _candidates: dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # Per kind of pupil: the competing schools' ids and grid references (route measuring asks
    # once per application).
    _competing: dict[tuple[Any, ...], tuple[np.ndarray, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> SchoolTable:
        rows = session.execute(
            select(
                School.id,
                School.phase,
                School.establishment_type,
                School.selective,
                School.main_site_id,
                School.easting,
                School.northing,
                School.statutory_low_age,
                School.statutory_high_age,
                School.sixth_form,
                School.is_open,
                School.religious_character,
            ).order_by(School.id)
        ).all()
        return cls(
            index={r.id: i for i, r in enumerate(rows)},
            ids=np.array([r.id for r in rows], dtype=np.int64),
            phase=[r.phase for r in rows],
            establishment=[r.establishment_type for r in rows],
            selective=[bool(r.selective) for r in rows],
            main_site=[r.main_site_id for r in rows],
            east=np.array([r.easting or 0 for r in rows], dtype=np.float64),
            north=np.array([r.northing or 0 for r in rows], dtype=np.float64),
            has_xy=np.array(
                [r.easting is not None and r.northing is not None for r in rows], dtype=bool
            ),
            low=[r.statutory_low_age for r in rows],
            high=[r.statutory_high_age for r in rows],
            sixth_form=[r.sixth_form for r in rows],
            is_open=[bool(r.is_open) for r in rows],
            character=[religious_character(r.religious_character) for r in rows],
        )

    def main_of(self, school_id: int) -> int:
        """A3f, A4f: transport goes to the main site; a satellite stands for its main site."""
        main = self.main_site[self.index[school_id]]
        return main if main is not None else school_id

    def xy(self, school_id: int) -> tuple[int, int] | None:
        i = self.index[school_id]
        if not self.has_xy[i]:
            return None
        return int(self.east[i]), int(self.north[i])

    def is_special(self, i: int) -> bool:
        return self.phase[i] is Phase.SPECIAL or self.establishment[i] is EstablishmentType.SPECIAL

    def post16_set(self, i: int) -> str:
        return COLLEGE_SET if is_college(self.phase[i], self.establishment[i]) else SIXTH_FORM_SET

    def fits(self, i: int, kind: tuple[Any, ...]) -> bool:
        """Whether school `i` is suitable for a kind of pupil, leaving out its location and age
        range (the school a child attends is a candidate for its own pupil whatever its upper
        age says)."""
        special, stage, _age, selective_ok, post16_set = kind
        if not self.is_open[i] or self.main_site[i] is not None:
            return False
        est, phase = self.establishment[i], self.phase[i]
        if est is EstablishmentType.INDEPENDENT or special != self.is_special(i):
            return False
        if not special and phase not in _MAINSTREAM_PHASES.get(stage, frozenset()):
            return False
        if self.selective[i] and not selective_ok:
            return False
        if stage is Stage.POST16:
            # A7b: a school "with a sixth form provision", or a college; ranked apart.
            if not has_post16_provision(phase, self.sixth_form[i]):
                return False
            if self.post16_set(i) != post16_set:
                return False
        return True

    def kind_of(self, main: int, year_group: int) -> tuple[Any, ...]:
        """The kind of pupil a child in this year group at this main site is: the key of the
        schools that compete for it (`candidates`), in the ranking and in route measuring."""
        i = self.index[main]
        stage = stage_of(year_group)
        return (
            self.is_special(i),
            stage,
            year_group + RECEPTION_AGE,
            self.selective[i],
            self.post16_set(i) if stage is Stage.POST16 else None,
        )

    def competitors(
        self, kind: tuple[Any, ...], home: tuple[float, float], within: float
    ) -> list[tuple[int, float]]:
        """The schools that could be nearer than `within` metres for a child of this kind at
        this home: suitable schools whose age range fits and whose straight line is no longer
        (no route is shorter than its straight line), as (school id, straight line)."""
        found = self._competing.get(kind)
        if found is None:
            cand, age_ok = self.candidates(kind)
            cand = cand[age_ok]
            found = self._competing[kind] = (self.ids[cand], self.east[cand], self.north[cand])
        ids, east, north = found
        d = np.hypot(east - home[0], north - home[1])
        near = d <= within
        return list(zip(ids[near].tolist(), d[near].tolist(), strict=True))

    def candidates(self, kind: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The suitable schools with a location, as (indexes, age range fits)."""
        found = self._candidates.get(kind)
        if found is not None:
            return found
        age = kind[2]
        chosen: list[int] = []
        age_ok: list[bool] = []
        for i in range(len(self.phase)):
            if not self.has_xy[i] or not self.fits(i, kind):
                continue
            low, high = self.low[i], self.high[i]
            chosen.append(i)
            age_ok.append(
                not ((low is not None and age < low) or (high is not None and age >= high))
            )
        found = (np.array(chosen, dtype=np.int64), np.array(age_ok, dtype=bool))
        self._candidates[kind] = found
        return found


@dataclass(slots=True)
class DtaIndex:
    """A14: the DTA schools (main sites) listing each parish and each postcode, by category."""

    by_area: dict[tuple[str, int, DtaCategory], frozenset[int]]

    @classmethod
    def load(
        cls,
        session: Session,
        schools: SchoolTable,
        homes: tuple[Iterable[int], Iterable[int]] | None = None,
    ) -> DtaIndex:
        """Every DTA's parishes and postcodes; or, given `homes` (parish ids, postcode ids),
        only the entries that list one of them: all `designated` is asked about for a few
        applications (an application's page read every DTA of the county, issue 18)."""
        found: dict[tuple[str, int, DtaCategory], set[int]] = defaultdict(set)
        query = select(
            DesignatedTransportArea.category,
            DesignatedTransportArea.school_id,
            DtaArea.parish_id,
            DtaArea.postcode_id,
        ).join(DtaArea, DtaArea.dta_id == DesignatedTransportArea.id)
        if homes is not None:
            parishes, postcodes = sorted(set(homes[0])), sorted(set(homes[1]))
            query = query.where(
                or_(DtaArea.parish_id.in_(parishes), DtaArea.postcode_id.in_(postcodes))
            )
        rows = session.execute(query)
        for category, school_id, parish_id, postcode_id in rows:
            main = schools.main_of(school_id)
            if parish_id is not None:
                found[("parish", parish_id, category)].add(main)
            if postcode_id is not None:
                found[("postcode", postcode_id, category)].add(main)
        return cls({key: frozenset(value) for key, value in found.items()})

    def designated(
        self, parish_id: int | None, postcode_id: int | None, categories: Iterable[DtaCategory]
    ) -> set[int]:
        """The home's DTA schools of these categories (the home is in a DTA when its parish
        or its postcode is listed)."""
        found: set[int] = set()
        get = self.by_area.get
        for category in categories:
            if parish_id is not None:
                found.update(get(("parish", parish_id, category), ()))
            if postcode_id is not None:
                found.update(get(("postcode", postcode_id, category), ()))
        return found


@dataclass(slots=True)
class SchoolContext:
    """What every question reads: the schools and the DTAs, loaded once per batch."""

    schools: SchoolTable
    dtas: DtaIndex

    @classmethod
    def load(
        cls, session: Session, homes: tuple[Iterable[int], Iterable[int]] | None = None
    ) -> SchoolContext:
        """`homes` (parish ids, postcode ids): the only homes the batch asks about, when it
        is a few applications (DtaIndex.load)."""
        schools = SchoolTable.load(session)
        return cls(schools, DtaIndex.load(session, schools, homes))


@dataclass(slots=True)
class SchoolQuestion:
    """One child's home and school, as both workflows ask about it."""

    home: tuple[int, int] | None
    school_id: int  # as recorded (a satellite is mapped to its main site)
    year_group: int
    parish_id: int | None
    postcode_id: int | None
    route_m: int | None = None  # the measured route to the chosen main site (A3b)
    routes: Mapping[int, int] = field(default_factory=dict)  # main site -> measured route
    rank_limit: int | None = None  # A5a's "nearest three", when the rank matters (low income)
    religion: bool = False  # A6: the family claims religion or belief
    tier5: bool = False  # Appendix F 5th tier: the distance to the designated or nearest school


@dataclass(slots=True)
class SchoolFacts:
    """The answers; `None` is unknown (A1c), with `missing` saying what would settle it."""

    school_id: int  # the main site
    stage: Stage
    straight_line_m: int | None
    is_dta_school: bool
    is_nearest_suitable: bool | None
    nearest_suitable_rank: int | None
    nearer_than_dta_school: bool | None
    religious_character: str | None
    nearest_of_religious_character: bool | None
    # Appendix F 5th tier: "living furthest from their designated or nearest school".
    designated_or_nearest_id: int | None
    designated_or_nearest_m: int | None
    missing: list[str] = field(default_factory=list)

    @property
    def attends_designated_or_nearest(self) -> bool:
        """Appendix F 3rd tier: only a known fact lifts an applicant a tier."""
        return self.is_dta_school or self.is_nearest_suitable is True


def straight_line_m(a: tuple[int, int] | None, b: tuple[int, int] | None) -> int | None:
    """Whole metres, rounded down: a lower bound on any route (RULES.md "Distances")."""
    if a is None or b is None:
        return None
    return math.isqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2)


def _compare(
    route_c: int | None,
    straight_c: int | None,
    ids: np.ndarray,
    straight: np.ndarray,
    routes: Mapping[int, int],
) -> tuple[int, int]:
    """(nearer, unknown) among the competitors, compared like for like (RULES.md v2: "Rank by
    measured routes where every competing candidate has one, else by straight lines for all").

    The competing candidates of a measured chosen school are those whose straight line is
    shorter than its route (no route is shorter than its straight line, so no other can be
    nearer). Ties go to the chosen school. Unknown only when the chosen school has a route but
    no location, so there is no straight line to compare it by."""
    if route_c is not None:
        got = [routes.get(sid) for sid in ids[straight < route_c].tolist()]
        if all(r is not None for r in got):
            return sum(1 for r in got if r is not None and r < route_c), 0
        if straight_c is None:
            return (
                sum(1 for r in got if r is not None and r < route_c),
                sum(1 for r in got if r is None),
            )
    if straight_c is None:
        return 0, int(ids.size)
    return int((straight < straight_c).sum()), 0


def _distance_to(
    sid: int, home: tuple[int, int], schools: SchoolTable, routes: Mapping[int, int]
) -> int | None:
    route = routes.get(sid)
    return route if route is not None else straight_line_m(home, schools.xy(sid))


def school_facts(ctx: SchoolContext, questions: Sequence[SchoolQuestion]) -> list[SchoolFacts]:
    """The school facts of every question, in order."""
    schools = ctx.schools
    out: list[SchoolFacts] = []
    by_kind: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for q in questions:
        stage = stage_of(q.year_group)
        main = schools.main_of(q.school_id)
        mi = schools.index[main]
        selective = schools.selective[mi]
        school_xy = schools.xy(main)
        straight = straight_line_m(q.home, school_xy)
        f = SchoolFacts(
            school_id=main,
            stage=stage,
            straight_line_m=straight,
            is_dta_school=False,
            is_nearest_suitable=None,
            nearest_suitable_rank=None,
            nearer_than_dta_school=None,
            religious_character=schools.character[mi],
            nearest_of_religious_character=None if schools.character[mi] else False,
            designated_or_nearest_id=None,
            designated_or_nearest_m=None,
        )
        out.append(f)
        post16_set = schools.post16_set(mi)
        categories = dta_categories(stage, selective)
        dta = ctx.dtas.designated(q.parish_id, q.postcode_id, categories)
        f.is_dta_school = main in dta
        if q.home is None:
            f.missing.append(HOME_LOCATION_NEEDED)
        chosen_d = q.route_m if q.route_m is not None else straight
        if q.home is not None and chosen_d is None:
            f.missing.append(SCHOOL_LOCATION_NEEDED)
        if f.is_dta_school:
            f.nearer_than_dta_school = False
            f.designated_or_nearest_id = main
            f.designated_or_nearest_m = chosen_d
        if q.home is None or chosen_d is None or stage is Stage.BELOW_SCHOOL_AGE:
            continue
        # A14: "the school/college named in the DTA or a nearer school or college", compared
        # within the chosen school's own post-16 set (A7b).
        if stage is Stage.POST16:
            dta &= ctx.dtas.designated(q.parish_id, q.postcode_id, {_DTA_OF_SET[post16_set]})
        if not f.is_dta_school:
            f.nearer_than_dta_school = _nearer_than(q, straight, dta - {main}, schools)
        by_kind[schools.kind_of(main, q.year_group)].append(len(out) - 1)
    for kind, positions in by_kind.items():
        _rank(kind, [(questions[p], out[p]) for p in positions], schools, ctx)
    return out


def _nearer_than(
    q: SchoolQuestion, straight_c: int | None, dta: set[int], schools: SchoolTable
) -> bool | None:
    """A14 "or a nearer school": nearer than every DTA school of the category, compared like
    for like as the ranking is; None when nothing like for like can be compared."""
    assert q.home is not None
    items = [(straight_line_m(q.home, schools.xy(sid)), q.routes.get(sid)) for sid in dta]
    items = [(line, route) for line, route in items if line is not None or route is not None]
    if not items:
        return False
    route_c = q.route_m
    if route_c is not None:
        competing = [(line, route) for line, route in items if line is None or line < route_c]
        if all(route is not None for _, route in competing):
            return all(route_c < route for _, route in competing)  # type: ignore[operator]
    lines = [line for line, _ in items if line is not None]
    if straight_c is None or not lines:
        return None
    return all(straight_c < line for line in lines)


def _rank(
    kind: tuple[Any, ...],
    items: list[tuple[SchoolQuestion, SchoolFacts]],
    schools: SchoolTable,
    ctx: SchoolContext,
) -> None:
    """A3a, A5a, A6: the chosen school's rank among the suitable schools of its kind.

    Vectorised: one straight-line matrix per chunk of homes; the common cases (nothing
    measured, or no competitor inside the measured route) are counted with numpy, and only
    homes with measured routes to competing schools are compared one by one."""
    cand, age_ok = schools.candidates(kind)
    cand_ids = schools.ids[cand] if cand.size else np.zeros(0, dtype=np.int64)
    ce, cn = schools.east[cand], schools.north[cand]
    chars = np.array([schools.character[i] or "" for i in cand.tolist()], dtype=object)
    fits: dict[int, bool] = {}
    for start in range(0, len(items), 4096):
        chunk = items[start : start + 4096]
        hx = np.array([q.home[0] for q, _ in chunk], dtype=np.float64)  # type: ignore[index]
        hy = np.array([q.home[1] for q, _ in chunk], dtype=np.float64)  # type: ignore[index]
        # Straight lines in whole metres rounded down, like straight_line_m.
        d = np.floor(np.hypot(hx[:, None] - ce[None, :], hy[:, None] - cn[None, :]))
        chosen = np.array([f.school_id for _, f in chunk], dtype=np.int64)
        compete = age_ok[None, :] & (cand_ids[None, :] != chosen[:, None])
        inf = np.inf
        straight_c = np.array(
            [inf if f.straight_line_m is None else f.straight_line_m for _, f in chunk]
        )
        route_c = np.array([inf if q.route_m is None else q.route_m for q, _ in chunk])
        by_line = ((d < straight_c[:, None]) & compete).sum(axis=1)
        inside_route = ((d < route_c[:, None]) & compete).any(axis=1)
        for row, (q, f) in enumerate(chunk):
            mi = schools.index[f.school_id]
            suitable = fits.get(mi)
            if suitable is None:
                suitable = fits[mi] = schools.fits(mi, kind)
            if not suitable:
                # Not a suitable school for this child (wrong phase, set or kind): no rank.
                f.is_nearest_suitable = False
                f.nearest_of_religious_character = False
            else:
                if q.route_m is not None and (q.routes or f.straight_line_m is None):
                    mask = compete[row]
                    nearer, unknown = _compare(
                        q.route_m, f.straight_line_m, cand_ids[mask], d[row][mask], q.routes
                    )
                elif q.route_m is not None and not inside_route[row]:
                    nearer, unknown = 0, 0  # no school's straight line is inside the route
                else:
                    nearer, unknown = int(by_line[row]), 0
                _set_rank(q, f, nearer, unknown)
                if q.religion and f.religious_character is not None:
                    mask = compete[row] & (chars == f.religious_character)
                    n_near, n_unknown = _compare(
                        q.route_m, f.straight_line_m, cand_ids[mask], d[row][mask], q.routes
                    )
                    f.nearest_of_religious_character = (
                        False if n_near else (None if n_unknown else True)
                    )
            if f.is_dta_school or not q.tier5:
                continue
            if f.is_nearest_suitable:
                f.designated_or_nearest_id = f.school_id
                f.designated_or_nearest_m = (
                    q.route_m if q.route_m is not None else f.straight_line_m
                )
            else:
                mask = compete[row]
                _designated_or_nearest(q, f, cand_ids[mask], d[row][mask], ctx)


def _set_rank(q: SchoolQuestion, f: SchoolFacts, nearer: int, unknown: int) -> None:
    """The rank when every competitor is settled; otherwise only what is known for sure."""
    if unknown == 0:
        f.nearest_suitable_rank = nearer + 1
        f.is_nearest_suitable = nearer == 0
        return
    if nearer == 0:
        f.missing.append(ROUTES_NEEDED)  # is_nearest_suitable stays None
        return
    f.is_nearest_suitable = False
    lowest, highest = nearer + 1, nearer + 1 + unknown
    limit = q.rank_limit
    if limit is None:
        return  # the rank does not matter (no A5 question): "not the nearest" is known
    if lowest > limit:
        f.nearest_suitable_rank = lowest  # not one of the nearest, whatever the routes
    elif highest <= limit:
        f.nearest_suitable_rank = highest  # one of the nearest, whatever the routes
    else:
        f.is_nearest_suitable = None  # A5 turns on routes not measured yet
        f.missing.append(ROUTES_NEEDED)


def _designated_or_nearest(
    q: SchoolQuestion, f: SchoolFacts, ids: np.ndarray, line: np.ndarray, ctx: SchoolContext
) -> None:
    """Appendix F 5th tier for a child not at its DTA or nearest school: the distance to the
    home's designated school where it has one, else to the nearest suitable school (a route
    where measured, else the straight line)."""
    assert q.home is not None
    schools = ctx.schools
    selective = schools.selective[schools.index[f.school_id]]
    options = [
        (sid, _distance_to(sid, q.home, schools, q.routes))
        for sid in ctx.dtas.designated(
            q.parish_id, q.postcode_id, dta_categories(f.stage, selective)
        )
    ]
    options = [o for o in options if o[1] is not None]
    if not options and ids.size:
        options = [
            (int(sid), q.routes.get(int(sid), int(d)))
            for sid, d in zip(ids.tolist(), line.tolist(), strict=True)
        ]
    if options:
        sid, metres = min(options, key=lambda o: (o[1], o[0]))
        f.designated_or_nearest_id, f.designated_or_nearest_m = sid, metres


def measured_routes(session: Session, application_ids: Iterable[int]) -> dict[int, dict[int, int]]:
    """The current route per application and school (main site) for the rankings (A3a, A5a):
    an officer's hand measurement where one is in force, else the computed route."""
    wanted = sorted(set(application_ids))
    out: dict[int, dict[int, int]] = defaultdict(dict)
    hand: set[tuple[int, int]] = set()
    rm = RouteMeasurement
    for start in range(0, len(wanted), ID_CHUNK):
        for app_id, school_id, kind, distance in session.execute(
            select(rm.application_id, rm.school_id, rm.kind, rm.distance_m).where(
                in_ids(rm.application_id, wanted[start : start + ID_CHUNK]),
                rm.superseded_at.is_(None),
            )
        ):
            key = (app_id, school_id)
            if kind is MeasurementKind.HAND:
                hand.add(key)
                out[app_id][school_id] = distance
            elif key not in hand:
                out[app_id][school_id] = distance
    return dict(out)
