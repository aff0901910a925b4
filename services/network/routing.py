"""Shortest routes from many homes to many schools' gates, as A4b measures them.

One search per school and mode, from all of the school's open gates at once (the nearest
gate wins: "the nearest accessible school gate"), over the reversed driving graph (so one-way
streets are followed home -> school) or the walking graph; every home's distance is then read
off the search. Homes and gates are joined to the network at the point they meet it, by
splitting the segment there (the part of a segment beyond that point is not walked twice).

Phase one searches every school that is chosen or a candidate; the chosen school's route gives
each home its distance D. A candidate school "could be nearer" when its straight line is at
most D (a route is never shorter than the straight line); its route is read from phase one
and, when it is nearer or the search stopped short of the home, searched again in phase two,
limited to the farthest distance still needed, to draw its route.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .graph import DRIVE_BACKWARD, DRIVE_FORWARD, WALK, FloatArray, IntArray, NetworkData, csr
from .snap import Snapped, Snapper

NO_PREDECESSOR = -9999
WALKING, DRIVING = "walk", "drive"
# How far a walking search looks, as a multiple of the walking distance: far enough that a
# walking route just over the walking distance is known exactly (see choose_method).
WALK_SEARCH_FACTOR = 2.0
# A driving search looks at least this far, and beyond the farthest chosen home by this
# factor of its straight line; a home it misses is searched again without a limit.
DRIVE_SEARCH_MIN_M = 25_000.0
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
class Route:
    distance: float
    nodes: IntArray  # extended node numbers, home first


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
    if np.isfinite(drive) and drive > walking_m:
        return DRIVING, drive
    if np.isfinite(walk):
        return WALKING, walk
    if np.isfinite(drive):
        return DRIVING, drive
    return None


class ModeGraph:
    """One mode's network: the snapper, and the routing graph with homes and gates joined in."""

    def __init__(self, data: NetworkData, mode: str) -> None:
        self.data, self.mode = data, mode
        usable = (data.flags & (WALK if mode == WALKING else DRIVE_FORWARD | DRIVE_BACKWARD)) > 0
        self.snapper = Snapper(data, usable)
        self.graph: csr_matrix | None = None

    def snap(self, x: FloatArray, y: FloatArray) -> Snapped:
        return self.snapper.snap(x, y)

    def build(self, points: Snapped) -> None:
        """The graph (reversed, for driving) with node data.nodes + i for point i."""
        d = self.data
        n = d.nodes
        if self.mode == WALKING:
            m = (d.flags & WALK) > 0
            fw, bw = m, m
        else:
            fw, bw = (d.flags & DRIVE_FORWARD) > 0, (d.flags & DRIVE_BACKWARD) > 0
        tails = [d.u[fw], d.v[bw]]
        heads = [d.v[fw], d.u[bw]]
        weights = [d.length[fw], d.length[bw]]
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
        a_len = np.maximum(
            np.concatenate((t - prev_t, 1.0 - t[last])) * d.length[a_edge], 0.001
        )
        afw = fw[a_edge]
        abw = bw[a_edge]
        tails += [a_tail[afw], a_head[abw]]
        heads += [a_head[afw], a_tail[abw]]
        weights += [a_len[afw], a_len[abw]]
        tail, head = np.concatenate(tails), np.concatenate(heads)
        weight = np.concatenate(weights)
        total = n + points.edge.size
        # Searches run from the gates; a driving route runs home -> gate, so reverse it.
        if self.mode == DRIVING:
            tail, head = head, tail
        self.graph = csr(total, tail, head, weight)
        self.xs = np.concatenate((d.x, points.x))
        self.ys = np.concatenate((d.y, points.y))

    def search(
        self, sources: Sequence[int], limit: float
    ) -> tuple[FloatArray, IntArray, IntArray]:
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

    def paths(self, pred: IntArray, starts: IntArray) -> list[list[tuple[int, int]]]:
        """The routes from `starts` along `pred` to the search's source, as grid points,
        straight runs reduced to their ends. All walked at once, a step per hop."""
        hops: list[IntArray] = []
        cur = starts.astype(np.int64)
        while True:
            hops.append(cur)
            nxt = np.where(cur >= 0, pred[np.maximum(cur, 0)], NO_PREDECESSOR)
            if not (nxt >= 0).any():
                break
            cur = np.where(nxt >= 0, nxt, -1)
        table = np.stack(hops, axis=1)
        out = []
        for row in table:
            nodes = row[row >= 0]
            pts = np.column_stack((np.rint(self.xs[nodes]), np.rint(self.ys[nodes])))
            out.append(_straighten(pts.astype(np.int64)))
        return out


def _straighten(pts: IntArray) -> list[tuple[int, int]]:
    if len(pts) > 1:
        keep = np.ones(len(pts), dtype=bool)
        keep[1:] = (pts[1:] != pts[:-1]).any(axis=1)
        pts = pts[keep]
    if len(pts) > 2:
        a, b, c = pts[:-2], pts[1:-1], pts[2:]
        cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - b[:, 1]) - (b[:, 1] - a[:, 1]) * (
            c[:, 0] - b[:, 0]
        )
        keep = np.ones(len(pts), dtype=bool)
        keep[1:-1] = cross != 0
        pts = pts[keep]
    return [(int(p[0]), int(p[1])) for p in pts]


@dataclass
class _Reach:
    """What a school's phase-one searches found, per home."""

    walk: FloatArray
    drive: FloatArray
    walk_src: IntArray
    drive_src: IntArray
    drive_limit: float


class Measurer:
    """Measure jobs over one network. Build once (snapping, graphs), then `run`."""

    def __init__(self, walk: ModeGraph, drive: ModeGraph) -> None:
        self.walk, self.drive = walk, drive

    def run(
        self,
        homes: FloatArray,
        gates: dict[int, list[Gate]],
        jobs: list[Job],
        candidates: Callable[[Job, float], list[tuple[int, float]]],
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Result]:
        """Results for the chosen jobs, then for every candidate school that could be nearer
        (`candidates(job, D)` gives (school, straight line) pairs with straight line <= D)."""
        h = homes.shape[0]
        wsnap = self.walk.snap(homes[:, 0], homes[:, 1])
        dsnap = self.drive.snap(homes[:, 0], homes[:, 1])
        schools = sorted({j.school for j in jobs if gates.get(j.school)})
        gate_list: list[Gate] = []
        gate_nodes: dict[int, list[int]] = {}
        for s in sorted(k for k, v in gates.items() if v):
            gate_nodes[s] = [len(gate_list) + i for i in range(len(gates[s]))]
            gate_list.extend(gates[s])
        gx = np.array([g.x for g in gate_list], dtype=np.float64)
        gy = np.array([g.y for g in gate_list], dtype=np.float64)
        graphs = {}
        for mode, graph, hs in ((WALKING, self.walk, wsnap), (DRIVING, self.drive, dsnap)):
            gs = graph.snap(gx, gy)
            both = Snapped(*(np.concatenate((a, b)) for a, b in zip(
                (hs.edge, hs.t, hs.x, hs.y, hs.distance),
                (gs.edge, gs.t, gs.x, gs.y, gs.distance), strict=True)))
            graph.build(both)
            graphs[mode] = graph
        base = self.walk.data.nodes
        home_node = base + np.arange(h)
        gate_base = base + h

        def sources(s: int) -> list[int]:
            return [gate_base + i for i in gate_nodes[s]]

        by_school: dict[int, list[Job]] = defaultdict(list)
        for job in jobs:
            by_school[job.school].append(job)
        walk_limit = WALK_SEARCH_FACTOR * max((j.walking_m for j in jobs), default=0)
        results: dict[int, Result] = {id(j): Result(j) for j in jobs}
        reach: dict[int, _Reach] = {}
        steps = len(schools) * 2
        done = 0
        for s in schools:
            mine = [j for j in by_school[s] if j.chosen]
            own = homes[[j.home for j in mine]] if mine else np.zeros((0, 2))
            far = 0.0
            if mine:
                g0 = np.array([[g.x, g.y] for g in gates[s]])
                far = float(np.max(np.min(np.hypot(
                    own[:, None, 0] - g0[None, :, 0], own[:, None, 1] - g0[None, :, 1]), axis=1)))
            limit = max(DRIVE_SEARCH_MIN_M, far * DRIVE_SEARCH_FACTOR)
            r = self._search(s, sources(s), walk_limit, limit, home_node, mine, results, gates,
                             gate_list, gate_base, wsnap, dsnap)
            reach[s] = r
            done += 1
            if progress:
                progress(done, steps)
        # Chosen homes the limited driving search missed: search again without a limit.
        missed = defaultdict(list)
        for job in jobs:
            res = results[id(job)]
            if job.chosen and res.method is None and gates.get(job.school):
                if not np.isfinite(reach[job.school].drive[job.home]):
                    missed[job.school].append(job)
        for s, mine in missed.items():
            reach[s] = self._search(s, sources(s), walk_limit, np.inf, home_node, mine, results,
                                    gates, gate_list, gate_base, wsnap, dsnap)
        # Candidates: straight line no more than the chosen school's distance.
        extra: dict[int, list[tuple[Job, float]]] = defaultdict(list)
        cand_results: list[Result] = []
        for job in jobs:
            res = results[id(job)]
            if not job.chosen or res.distance_m is None:
                continue
            for school, _straight in candidates(job, float(res.distance_m)):
                if school == job.school or not gates.get(school):
                    continue
                cj = Job(job.home, school, job.walking_m, chosen=False)
                cres = Result(cj)
                cand_results.append(cres)
                if school not in reach:
                    extra[school].append((cj, np.inf))
                    continue
                r = reach[school]
                picked = choose_method(r.walk[job.home], r.drive[job.home], job.walking_m)
                if picked is None and r.drive_limit == np.inf:
                    cres.problem = "no route on the network from the home to this school"
                    continue
                if picked is None or picked[1] <= res.distance_m:
                    # Unknown (beyond the search), or nearer: search again for its route.
                    extra[school].append((cj, res.distance_m if picked else np.inf))
                    continue
                self._fill(cres, picked, r, job.home, gate_list, gate_base, wsnap, dsnap, None)
        by_id = {id(c.job): c for c in cand_results}
        for s, pairs in extra.items():
            need = max(limit for _, limit in pairs)
            self._search(s, sources(s), walk_limit, need * 1.0001 + 1, home_node,
                         [j for j, _ in pairs], by_id, gates, gate_list, gate_base, wsnap, dsnap,
                         rerun_unlimited=True)
        done = steps
        if progress:
            progress(done, steps)
        return [results[id(j)] for j in jobs] + cand_results

    def _search(self, s, srcs, walk_limit, drive_limit, home_node, mine, results, gates,
                gate_list, gate_base, wsnap, dsnap, rerun_unlimited=False) -> _Reach:  # noqa: ANN001
        wd, wp, ws = self.walk.search(srcs, walk_limit)
        dd, dp, dsrc = self.drive.search(srcs, drive_limit)
        r = _Reach(wd[home_node], dd[home_node], ws[home_node], dsrc[home_node], drive_limit)
        if rerun_unlimited:
            unknown = [j for j in mine if choose_method(r.walk[j.home], r.drive[j.home],
                                                        j.walking_m) is None]
            if unknown and drive_limit != np.inf:
                dd, dp, dsrc = self.drive.search(srcs, np.inf)
                r = _Reach(wd[home_node], dd[home_node], ws[home_node], dsrc[home_node], np.inf)
        walk_jobs, drive_jobs = [], []
        for j in mine:
            res = results[id(j)]
            picked = choose_method(r.walk[j.home], r.drive[j.home], j.walking_m)
            if picked is None:
                if np.isfinite(r.drive_limit):
                    continue  # searched again without a limit by the caller
                res.problem = "no route on the network from the home to the school"
                continue
            self._fill(res, picked, r, j.home, gate_list, gate_base, wsnap, dsnap, None)
            (walk_jobs if picked[0] == WALKING else drive_jobs).append((j, res))
        for graph, pred, pairs in ((self.walk, wp, walk_jobs), (self.drive, dp, drive_jobs)):
            if pairs:
                starts = np.array([home_node[j.home] for j, _ in pairs])
                for (_, res), pts in zip(pairs, graph.paths(pred, starts), strict=True):
                    res.geometry = pts
        return r

    @staticmethod
    def _fill(res, picked, r, home, gate_list, gate_base, wsnap, dsnap, _x) -> None:  # noqa: ANN001
        method, distance = picked
        snapped, src = (wsnap, r.walk_src) if method == WALKING else (dsnap, r.drive_src)
        res.method = method
        res.distance_m = int(np.rint(distance))
        res.walk_m = int(np.rint(r.walk[home])) if np.isfinite(r.walk[home]) else None
        res.gate = gate_list[int(src[home]) - gate_base]
        res.access = (float(snapped.x[home]), float(snapped.y[home]),
                      float(snapped.distance[home]))
