"""Issue 17's benchmark: route measurement over a county-sized road network.

The network is the demo county's lattice (demo/network.py) made fine enough for at least
1,000,000 segments over the county box, written as .osm.pbf and read by the same loader a
council's extract goes through. Measured: loading it (`load_network`), measuring every
application of the year with its candidate schools (`services.measurement.measure_applications`,
end to end: reading, snapping, searching, writing), and beside it the bare searches: one
scipy `dijkstra` per school from its gates over the reversed driving graph with the same
distance limit, and nothing else.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.measures import Figure


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_network(workdir: Path, spacing: int) -> Path:
    """80 km x 120 km at 135 m (bench/county.py): 593 x 889 nodes, 1,052,872 segments."""
    from demo.network import write_lattice

    return write_lattice(workdir / f"county-{spacing}m.osm.pbf", spacing)


def load(app: Any, path: Path) -> Figure:
    from models import db
    from services.road_networks import load_network

    with app.app_context():
        start, cpu = time.perf_counter(), time.process_time()
        network, _new = load_network(db.session, path)
        db.session.commit()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        return Figure(
            wall,
            "s",
            f"{network.walk_edges:,} walking, {network.drive_edges:,} driving segments, "
            f"{network.nodes:,} nodes, file {path.stat().st_size / 1e6:.1f} MB; "
            f"peak memory {_peak_mb():.0f} MB",
            cpu=cpu,
        )


def measure(app: Any, year: str, user_id: int) -> Figure:
    from models import TransportApplication
    from services.measurement import measure_applications

    with app.app_context():
        start, cpu = time.perf_counter(), time.process_time()
        summary = measure_applications(
            where=TransportApplication.academic_year == year, via="bench", user_id=user_id
        )
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        start = time.perf_counter()
        again = measure_applications(
            where=TransportApplication.academic_year == year, via="bench", user_id=user_id
        )
        rerun = time.perf_counter() - start
        return Figure(
            wall,
            "s",
            f"{summary.applications:,} applications, {summary.written:,} measurements written "
            f"(chosen + candidates), {len(summary.problems):,} not measurable; re-run wrote "
            f"{again.written} in {rerun:.1f} s; peak memory {_peak_mb():.0f} MB",
            cpu=cpu,
        )


def bare_searches(app: Any) -> Figure:
    """One dijkstra per school from its gates (here: its location) on the reversed driving
    graph, with the measurement's minimum driving limit: the floor of any measurement."""
    from scipy.sparse.csgraph import dijkstra
    from sqlalchemy import select

    from models import School, TransportApplication, db
    from services.network.routing import DRIVE_SEARCH_MIN_M
    from services.road_networks import current_network, measurer_for

    with app.app_context():
        network = current_network(db.session)
        assert network is not None
        graph = measurer_for(db.session, network).drive
        ids = sorted(set(db.session.scalars(select(TransportApplication.school_id))))
        rows = db.session.execute(
            select(School.easting, School.northing).where(School.id.in_(ids))
        ).all()
        xy = np.array([(r[0], r[1]) for r in rows], dtype=np.float64)
        snapped = graph.snap(xy[:, 0], xy[:, 1])
        graph.build(snapped)
        base = graph.data.nodes
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(len(rows)):
            dijkstra(
                graph.graph,
                directed=True,
                indices=[base + i],
                min_only=True,
                limit=DRIVE_SEARCH_MIN_M,
            )
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        return Figure(wall, "s", f"{len(rows)} schools, limit {DRIVE_SEARCH_MIN_M:.0f} m", cpu=cpu)
