"""Shortest routes from many homes to many schools' gates, as A4b measures them.

One search per school and mode, from all of the school's open gates at once (the nearest
gate wins: "the nearest accessible school gate"), over the reversed driving graph (so one-way
streets are followed home -> school) or the walking graph; every home's distance is then read
off the search. Homes and gates are joined to the network at the point they meet it, by
splitting the segment there (the part of a segment beyond that point is not walked twice).

Phase one searches every chosen school; its route gives each home its distance D. A candidate
school "could be nearer" when its straight line is at most D (a route is never shorter than
its straight line); its route is read off phase one's search of that school when that search
reached the home, else the school is searched once, as far as the farthest D it is compared
with. Each school is searched at most twice, and a school nobody chose only when it is some
home's candidate. Candidates' routes are measured but their geometry is not drawn (README).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .graph import DRIVE_BACKWARD, DRIVE_FORWARD, WALK, FloatArray, IntArray, NetworkData, csr
from .snap import Snapped, Snapper

NO_PREDECESSOR = -9999
# What scipy's searches give back as node numbers (int32 on graphs of this size).
Index = npt.NDArray[np.integer[Any]]
WALKING, DRIVING = "walk", "drive"
# How far a walking search looks, as a multiple of the walking distance: far enough that a
# walking route just over the walking distance is known exactly (see choose_method).
WALK_SEARCH_FACTOR = 2.0
# A driving search looks at least this far, and beyond the farthest chosen home by this
# factor of its straight line; a home it misses is searched again without a limit.
DRIVE_SEARCH_MIN_M = 10_000.0
DRIVE_SEARCH_FACTOR = 1.6


@dataclass(frozen=True)
class Gate:
    key: int | None  # SchoolGate id, None for the school's own location
    x: float
    y: float


@dataclass
class Job:
    """One (home, school) to measure; `walking_m` is the stage's walking distance (A2, A3)."""

    home: int
    school: int
    walking_m: int
    chosen: bool = True


@dataclass
class Result:
    job: Job
    method: str | None = None  # WALKING or DRIVING; None: no route
    distance_m: int | None = None
    walk_m: int | None = None
    gate: Gate | None = None
    access: tuple[float, float, float] | None = None  # x, y, snap distance
    geometry: list[tuple[int, int]] = field(default_factory=list)
    problem: str | None = None


def choose_method(walk: float, drive: float, walking_m: int) -> tuple[str, float] | None:
    """A4b: the walking route up to the walking distance; "over two or three miles" the
    shortest driving route. When the driving route is within the walking distance but the
    walking route is not, the distance is not one "over two or three miles", so the walking
    route stands (the statutory test at that distance is a walking one): README."""
    if walk <= walking_m:
        return WALKING, walk
    if math.isfinite(drive) and drive > walking_m:
        return DRIVING, drive
    if math.isfinite(walk):
        return WALKING, walk
    if math.isfinite(drive):
        return DRIVING, drive
    return None


class ModeGraph:
    """One mode's network: the snapper, and the routing graph with homes and gates joined in.

    The network's own graph is built once; each run merges in the arcs to and from its
    points instead of sorting every arc of the county again.
    """

    def __init__(self, data: NetworkData, mode: str) -> None:
        self.data, self.mode = data, mode
        if mode == WALKING:
            fw = bw = (data.flags & WALK) > 0
        else:
            fw, bw = (data.flags & DRIVE_FORWARD) > 0, (data.flags & DRIVE_BACKWARD) > 0
        self.forward, self.backward = fw, bw
        self.snapper = Snapper(data, fw | bw)
        tail = np.concatenate((data.u[fw], data.v[bw]))
        head = np.concatenate((data.v[fw], data.u[bw]))
        weight = np.concatenate((data.length[fw], data.length[bw]))
        # Searches run from the gates; a driving route runs home -> gate, so reverse it.
        if mode == DRIVING:
            tail, head = head, tail
        self._base = csr(data.nodes, tail, head, weight)
        self._base_tail = np.repeat(np.arange(data.nodes), np.diff(self._base.indptr))
        self.graph: csr_matrix | None = None

    def snap(self, x: FloatArray, y: FloatArray) -> Snapped:
        return self.snapper.snap(x, y)

    def build(self, points: Snapped) -> None:
        """The graph (reversed, for driving) with node data.nodes + i for point i."""
        d = self.data
        n = d.nodes
        fw, bw = self.forward, self.backward
        # Split each segment at the points on it: u - p1 - p2 ... - v.
        order = np.lexsort((points.t, points.edge))
        e, t = points.edge[order], points.t[order]
        node = n + order
        new_group = np.ones(e.size, dtype=bool)
        new_group[1:] = e[1:] != e[:-1]
        prev = np.where(new_group, d.u[e], np.roll(node, 1))
        prev_t = np.where(new_group, 0.0, np.roll(t, 1))
        last = np.ones(e.size, dtype=bool)
        last[:-1] = e[1:] != e[:-1]
        a_tail = np.concatenate((prev, node[last]))
        a_head = np.concatenate((node, d.v[e][last]))
        a_edge = np.concatenate((e, e[last]))
        a_len = np.maximum(np.concatenate((t - prev_t, 1.0 - t[last])) * d.length[a_edge], 0.001)
        afw = fw[a_edge]
        abw = bw[a_edge]
        new_tail = np.concatenate((a_tail[afw], a_head[abw]))
        new_head = np.concatenate((a_head[afw], a_tail[abw]))
        new_weight = np.concatenate((a_len[afw], a_len[abw]))
        if self.mode == DRIVING:
            new_tail, new_head = new_head, new_tail
        total = n + points.edge.size
        self.graph = _merged_graph(
            self._base, self._base_tail, new_tail, new_head, new_weight, total
        )
        self.xs = np.concatenate((d.x, points.x))
        self.ys = np.concatenate((d.y, points.y))

    def search(self, sources: Sequence[int], limit: float) -> tuple[FloatArray, Index, Index]:
        assert self.graph is not None
        dist, pred, src = dijkstra(
            self.graph,
            directed=True,
            indices=np.asarray(sources, dtype=np.int64),
            min_only=True,
            limit=limit,
            return_predecessors=True,
        )
        return dist, pred, src

    def paths(self, pred: Index, starts: IntArray) -> list[list[tuple[int, int]]]:
        """The routes from `starts` along `pred` to the search's source, as grid points,
        straight runs reduced to their ends. All walked at once, a step per hop, and all
        straightened at once."""
        # Only the routes not yet at the source take a step, so the arrays shrink as routes
        # end; the points are then put back in route order (each route's in walking order).
        cur: Index = starts
        which: Index = np.arange(cur.size)
        node_parts, route_parts = [cur], [which]
        while cur.size:
            nxt = pred[cur]
            going = nxt >= 0
            cur, which = nxt[going], which[going]
            node_parts.append(cur)
            route_parts.append(which)
        route_all = np.concatenate(route_parts).astype(np.int64)
        order = np.argsort(route_all, kind="stable")
        nodes, route = np.concatenate(node_parts)[order], route_all[order]
        return _straightened(
            np.rint(self.xs[nodes]).astype(np.int64),
            np.rint(self.ys[nodes]).astype(np.int64),
            route,
            starts.size,
        )


def _merged_graph(
    base: csr_matrix,
    base_tail: IntArray,
    new_tail: IntArray,
    new_head: IntArray,
    new_weight: FloatArray,
    total: int,
) -> csr_matrix:
    """The network's own graph (`graph.csr`: rows' columns in order, of parallel arcs the
    shortest) with the new arcs merged in, as `graph.csr` would make of them all.

    Every new arc touches a new node (numbered from data.nodes up), so it never parallels an
    old arc and sorts after the old arcs of its row."""
    order = np.lexsort((new_head, new_tail))
    at = np.searchsorted(base_tail, new_tail[order], side="right")
    head = np.insert(base.indices, at, new_head[order])
    weight = np.insert(base.data, at, new_weight[order])
    counts = np.bincount(base_tail, minlength=total) + np.bincount(new_tail, minlength=total)
    indptr = np.zeros(total + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return csr_matrix((weight, head, indptr), shape=(total, total))


def _straightened(
    x: IntArray, y: IntArray, route: IntArray, routes: int
) -> list[list[tuple[int, int]]]:
    """Per route (points in order, `route` saying whose): repeated points dropped, then every
    point in line with its neighbours (a straight run's inner points)."""
    keep = np.ones(x.size, dtype=bool)
    same = (x[1:] == x[:-1]) & (y[1:] == y[:-1]) & (route[1:] == route[:-1])
    keep[1:] = ~same
    x, y, route = x[keep], y[keep], route[keep]
    keep = np.ones(x.size, dtype=bool)
    if x.size > 2:
        inner = (route[:-2] == route[1:-1]) & (route[1:-1] == route[2:])
        cross = (x[1:-1] - x[:-2]) * (y[2:] - y[1:-1]) - (y[1:-1] - y[:-2]) * (x[2:] - x[1:-1])
        keep[1:-1] = ~inner | (cross != 0)
    x, y, route = x[keep], y[keep], route[keep]
    bounds = np.searchsorted(route, np.arange(routes + 1)).tolist()
    xs, ys = x.tolist(), y.tolist()
    return [list(zip(xs[a:b], ys[a:b], strict=True)) for a, b in pairwise(bounds)]


@dataclass
class _Reach:
    """What a school's phase-one searches found, per home.

    The driving search may have looked farther than `drive_limit` (to `searched_to`, for
    candidates' routes known to be needed): `driven` reads it as a search to `drive_limit`
    would have found it (scipy keeps exactly the nodes at most `limit` away)."""

    walk: FloatArray
    drive: FloatArray
    walk_src: Index
    drive_src: Index
    drive_limit: float
    walk_limit: float
    searched_to: float

    def driven(self, home: int) -> float:
        d = float(self.drive[home])
        return d if d <= self.drive_limit else math.inf


@dataclass
class _Run:
    """One run's joined-in points: homes first, then every school's gates."""

    walk_snap: Snapped
    drive_snap: Snapped
    home_node: IntArray
    gate_list: list[Gate]
    gate_base: int
    gate_nodes: dict[int, list[int]]

    def sources(self, school: int) -> list[int]:
        return [self.gate_base + i for i in self.gate_nodes[school]]


def search_limits(
    homes: FloatArray, gates: dict[int, list[Gate]], jobs: Sequence[Job]
) -> dict[int, tuple[float, float]]:
    """Per chosen school, how far its first searches look: (walking, driving) metres.

    Walking: `WALK_SEARCH_FACTOR` times the largest walking distance among its own pupils, so a
    walking route just over that distance is known exactly (`choose_method`). Driving: the
    farthest of its homes' straight lines times `DRIVE_SEARCH_FACTOR`, at least
    `DRIVE_SEARCH_MIN_M`; a home the search misses is searched again without a limit. The
    benchmark's bare searches use the same limits (bench/network.py), so the two are compared
    over the same ground."""
    by_school: dict[int, list[Job]] = defaultdict(list)
    for job in jobs:
        if gates.get(job.school):
            by_school[job.school].append(job)
    out: dict[int, tuple[float, float]] = {}
    for school, mine in by_school.items():
        own = homes[[j.home for j in mine]]
        g0 = np.array([[g.x, g.y] for g in gates[school]])
        far = float(
            np.max(np.min(np.hypot(own[:, None, 0] - g0[None, :, 0],
                                   own[:, None, 1] - g0[None, :, 1]), axis=1))
        )  # fmt: skip
        walk = WALK_SEARCH_FACTOR * max(j.walking_m for j in mine)
        out[school] = (walk, max(DRIVE_SEARCH_MIN_M, far * DRIVE_SEARCH_FACTOR))
    return out


class Measurer:
    """Measure jobs over one network. Build once (snapping indexes), then `run`.

    `searched` is what the last `run` searched: per (school, mode), the widest limit it
    searched that school with (the benchmark's bare searches repeat exactly those, once each).
    """

    def __init__(self, walk: ModeGraph, drive: ModeGraph) -> None:
        self.walk, self.drive = walk, drive
        self.searched: dict[tuple[int, str], float] = {}

    def prepare(self, homes: FloatArray, gates: dict[int, list[Gate]]) -> _Run:
        wsnap = self.walk.snap(homes[:, 0], homes[:, 1])
        dsnap = self.drive.snap(homes[:, 0], homes[:, 1])
        gate_list: list[Gate] = []
        gate_nodes: dict[int, list[int]] = {}
        for school in sorted(k for k, v in gates.items() if v):
            gate_nodes[school] = [len(gate_list) + i for i in range(len(gates[school]))]
            gate_list.extend(gates[school])
        gx = np.array([g.x for g in gate_list], dtype=np.float64)
        gy = np.array([g.y for g in gate_list], dtype=np.float64)
        for graph, hs in ((self.walk, wsnap), (self.drive, dsnap)):
            gs = graph.snap(gx, gy)
            graph.build(
                Snapped(
                    np.concatenate((hs.edge, gs.edge)),
                    np.concatenate((hs.t, gs.t)),
                    np.concatenate((hs.x, gs.x)),
                    np.concatenate((hs.y, gs.y)),
                    np.concatenate((hs.distance, gs.distance)),
                )
            )
        h = homes.shape[0]
        base = self.walk.data.nodes
        return _Run(
            walk_snap=wsnap,
            drive_snap=dsnap,
            home_node=base + np.arange(h, dtype=np.int64),
            gate_list=gate_list,
            gate_base=base + h,
            gate_nodes=gate_nodes,
        )

    def run(
        self,
        homes: FloatArray,
        gates: dict[int, list[Gate]],
        jobs: list[Job],
        candidates: Callable[[Job, float], list[tuple[int, float]]],
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Result]:
        """Results for the chosen jobs, then for every candidate school that could be nearer
        (`candidates(job, D)` gives (school, straight line) pairs with straight line <= D).

        The chosen schools are searched widest limit first. A home's route D is at most its
        own school's wider limit (walking or driving), and a candidate's route needs a second,
        wider search of a school only when D is beyond that school's driving limit; so, as
        long as the driving limits are the wider (DRIVE_SEARCH_MIN_M is more than twice any
        walking distance), when a school is searched every such D is known: the one driving
        search looks that far too, and a candidate's route is read off it as the second
        search would have found it. A D learnt later still gets its second search."""
        run = self.prepare(homes, gates)
        self.searched = {}
        results: dict[int, Result] = {id(j): Result(j) for j in jobs}
        by_school: dict[int, list[Job]] = defaultdict(list)
        for job in jobs:
            if gates.get(job.school):
                by_school[job.school].append(job)
        reach: dict[int, _Reach] = {}
        limits = search_limits(homes, gates, jobs)
        chosen = sorted(by_school, key=lambda school: (-max(limits[school]), school))
        found: dict[int, list[tuple[int, float]]] = {}  # id(job) -> its candidate schools
        wanted: dict[int, float] = defaultdict(float)  # school -> farthest D it is compared with
        total = 2 * len(chosen) + 1
        for done, school in enumerate(chosen, start=1):
            walk_limit, drive_limit = limits[school]
            farthest = wanted.get(school, 0.0) + 1.0
            reach[school] = self._search(
                run, school, drive_limit, by_school[school], results, walk_limit=walk_limit,
                search_to=max(drive_limit, farthest),
            )  # fmt: skip
            for job in by_school[school]:
                self._found(job, results[id(job)], gates, candidates, found, wanted)
            if progress:
                progress(done, total)
        # Chosen homes the limited driving search missed: searched again without a limit.
        missed: dict[int, list[Job]] = defaultdict(list)
        for job in jobs:
            r = reach.get(job.school)
            if r is not None and results[id(job)].method is None and math.isfinite(r.drive_limit):
                missed[job.school].append(job)
        for school, mine in missed.items():
            reach[school] = self._search(run, school, np.inf, mine, results, walk=reach[school])
            for job in mine:
                self._found(job, results[id(job)], gates, candidates, found, wanted)
        cand = self._candidates(run, jobs, results, reach, gates, found, progress, total)
        if progress:
            progress(total, total)
        return [results[id(j)] for j in jobs] + cand

    @staticmethod
    def _found(
        job: Job,
        res: Result,
        gates: dict[int, list[Gate]],
        candidates: Callable[[Job, float], list[tuple[int, float]]],
        found: dict[int, list[tuple[int, float]]],
        wanted: dict[int, float],
    ) -> None:
        """The job's candidate schools, once its route D is known; each is compared with D."""
        if res.distance_m is None:
            return
        distance = float(res.distance_m)
        mine = found[id(job)] = candidates(job, distance)
        for school, _straight in mine:
            if school != job.school and gates.get(school) and wanted[school] < distance:
                wanted[school] = distance

    def _candidates(
        self,
        run: _Run,
        jobs: list[Job],
        results: dict[int, Result],
        reach: dict[int, _Reach],
        gates: dict[int, list[Gate]],
        found: dict[int, list[tuple[int, float]]],
        progress: Callable[[int, int], None] | None,
        total: int,
    ) -> list[Result]:
        """Every school whose straight line is at most the chosen school's route D. Its route
        is read off the search already made of that school when it reached far enough; any
        other school is searched once, only as far as the farthest chosen route it is compared
        with (a school farther than that by road is not nearer, and is left unmeasured:
        README). When the school's first driving search already looked that far, the route is
        read off it, as that search would have found it."""
        out: list[Result] = []
        pending: dict[int, list[Job]] = defaultdict(list)
        needed: dict[int, float] = defaultdict(float)
        walks: dict[int, float] = defaultdict(float)
        for job in jobs:
            res = results[id(job)]
            if res.distance_m is None:
                continue
            for school, _straight in found[id(job)]:
                if school == job.school or not gates.get(school):
                    continue
                cres = Result(Job(job.home, school, job.walking_m, chosen=False))
                out.append(cres)
                r = reach.get(school)
                walk_needed = WALK_SEARCH_FACTOR * job.walking_m
                if r is not None and r.walk_limit < walk_needed:
                    r = None  # searched for younger pupils: too short a walk for this one
                picked = None
                if r is not None:
                    picked = choose_method(r.walk[job.home], r.driven(job.home), job.walking_m)
                if picked is not None and r is not None:
                    self._fill(run, cres, picked, r, job.home)
                elif r is not None and not math.isfinite(r.drive_limit):
                    cres.problem = "no route on the network from the home to this school"
                elif r is not None and res.distance_m <= r.drive_limit:
                    cres.problem = "farther by road than the chosen school"
                else:
                    pending[school].append(cres.job)
                    needed[school] = max(needed[school], float(res.distance_m))
                    walks[school] = max(walks[school], walk_needed)
        by_id = {id(c.job): c for c in out}
        base = total - len(pending) - 1
        for done, (school, mine) in enumerate(sorted(pending.items()), start=1):
            earlier = reach.get(school)
            if earlier is not None and earlier.walk_limit < walks[school]:
                earlier = None
            limit = needed[school] + 1.0
            if earlier is not None and earlier.searched_to >= limit:
                self._searched(school, DRIVING, limit)
                self._read(run, replace(earlier, drive_limit=limit), mine, by_id)
            else:
                self._search(run, school, limit, mine, by_id, geometry=False,
                             walk=earlier, walk_limit=walks[school])  # fmt: skip
            for job in mine:
                res = by_id[id(job)]
                if res.method is None:
                    res.problem = "farther by road than the chosen school"
            if progress:
                progress(min(total - 1, base + done), total)
        return out

    def _search(
        self,
        run: _Run,
        school: int,
        drive_limit: float,
        mine: list[Job],
        results: dict[int, Result],
        *,
        geometry: bool = True,
        walk: _Reach | None = None,
        walk_limit: float = 0.0,
        search_to: float | None = None,
    ) -> _Reach:
        """Search from the school's gates, walking and driving; fill in `mine`'s results.
        A search again (wider) gives `walk`, the earlier one: walking is not searched again
        when it looked far enough, so a walking route there has no geometry drawn. The
        driving search looks as far as `search_to` (default `drive_limit`); `mine` are
        measured as by a search to `drive_limit`."""
        srcs = run.sources(school)
        hn = run.home_node
        wp: Index | None = None
        if walk is None:
            self._searched(school, WALKING, walk_limit)
            wd, wp, ws = self.walk.search(srcs, walk_limit)
            walk_d, walk_src = wd[hn], ws[hn]
        else:
            walk_d, walk_src, walk_limit = walk.walk, walk.walk_src, walk.walk_limit
        self._searched(school, DRIVING, drive_limit)
        reach_to = drive_limit if search_to is None else search_to
        dd, dp, dsrc = self.drive.search(srcs, reach_to)
        r = _Reach(walk_d, dd[hn], walk_src, dsrc[hn], drive_limit, walk_limit, reach_to)
        paths = self._read(run, r, mine, results)
        if geometry:
            for graph, pred, mode in ((self.walk, wp, WALKING), (self.drive, dp, DRIVING)):
                if paths[mode] and pred is not None:
                    starts = np.array([hn[j.home] for j, _ in paths[mode]])
                    for (_, res), pts in zip(paths[mode], graph.paths(pred, starts), strict=True):
                        res.geometry = pts
        return r

    def _read(
        self, run: _Run, r: _Reach, mine: list[Job], results: dict[int, Result]
    ) -> dict[str, list[tuple[Job, Result]]]:
        """Fill in `mine`'s results from the reach; which were walked and which driven."""
        paths: dict[str, list[tuple[Job, Result]]] = {WALKING: [], DRIVING: []}
        for j in mine:
            res = results[id(j)]
            picked = choose_method(r.walk[j.home], r.driven(j.home), j.walking_m)
            if picked is None:
                if not math.isfinite(r.drive_limit):
                    res.problem = "no route on the network from the home to the school"
                continue  # else searched again without a limit
            self._fill(run, res, picked, r, j.home)
            paths[picked[0]].append((j, res))
        return paths

    def _searched(self, school: int, mode: str, limit: float) -> None:
        key = (school, mode)
        self.searched[key] = max(self.searched.get(key, 0.0), limit)

    @staticmethod
    def _fill(run: _Run, res: Result, picked: tuple[str, float], r: _Reach, home: int) -> None:
        method, distance = picked
        snapped, src = (
            (run.walk_snap, r.walk_src) if method == WALKING else (run.drive_snap, r.drive_src)
        )
        res.method = method
        walked = float(r.walk[home])
        res.distance_m = round(float(distance))
        res.walk_m = round(walked) if math.isfinite(walked) else None
        res.gate = run.gate_list[int(src[home]) - run.gate_base]
        res.access = (
            float(snapped.x[home]),
            float(snapped.y[home]),
            float(snapped.distance[home]),
        )
