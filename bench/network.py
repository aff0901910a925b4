"""Issue 17's benchmark: route measurement over a county-sized road network.

The network is the demo county's lattice (demo/network.py) made fine enough for at least
1,000,000 segments over the county box, written as .osm.pbf and read by the same loader a
council's extract goes through. Measured: loading it (`load_network`), measuring every
application of the year with its candidate schools (`services.measurement.measure_applications`,
end to end: reading, snapping, searching, writing), and beside it the bare searches: per
school the measurement searches from (chosen or candidate) one scipy `dijkstra` from its
gates on each graph (walking, reversed driving), and nothing else: whole searches (issue 17's
floor), and searches only as far as the measurement's widest limit for the school (a stricter
floor of our own).
"""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Any

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
        start, rerun_cpu = time.perf_counter(), time.process_time()
        again = measure_applications(
            where=TransportApplication.academic_year == year, via="bench", user_id=user_id
        )
        rerun, rerun_cpu = time.perf_counter() - start, time.process_time() - rerun_cpu
        return Figure(
            wall,
            "s",
            f"cpu {cpu:.2f} s; {summary.applications:,} applications, "
            f"{summary.written:,} measurements written "
            f"(chosen + candidates), {len(summary.problems):,} not measurable; re-run wrote "
            f"{again.written} in {rerun:.1f} s (cpu {rerun_cpu:.1f} s); "
            f"peak memory {_peak_mb():.0f} MB",
            cpu=cpu,
        )


def bare_searches(app: Any, year: str, *, unlimited: bool = False) -> Figure:
    """The floor of any measurement: one bare scipy `dijkstra` per school the measurement
    searches from (the chosen schools and any candidate school it had to search) and mode
    (walking graph, reversed driving graph), from the school's gates; no predecessors, nothing
    read off or written. The searches are found by making the measurement's own searches first
    (`measurement_searches`, untimed), and the homes and gates are joined into the graphs
    outside the timing.

    Issue 17 words its floor as "a bare single-source shortest-path run per school over the
    same graph with the same library": a whole search, which is what `unlimited` times. By
    default each search looks only as far as the widest limit the measurement searched that
    school with, the same ground the measurement covers: a stricter floor of our own (a school
    the measurement searched twice is searched once here, with the wider limit)."""
    from scipy.sparse.csgraph import dijkstra

    from models import TransportApplication, db
    from services.measurement import measurement_searches
    from services.road_networks import measurer_for

    with app.app_context():
        network, homes, gates, searched = measurement_searches(
            db.session, TransportApplication.academic_year == year
        )
        measurer = measurer_for(db.session, network)
        run = measurer.prepare(homes, gates)
        graphs = {"walk": measurer.walk.graph, "drive": measurer.drive.graph}
        db.session.rollback()
        by_mode: dict[str, float] = {"walk": 0.0, "drive": 0.0}  # wall seconds
        start, cpu = time.perf_counter(), time.process_time()
        for (school, mode), limit in sorted(searched.items()):
            began = time.perf_counter()
            dijkstra(graphs[mode], directed=True, indices=run.sources(school), min_only=True,
                     limit=float("inf") if unlimited else limit)  # fmt: skip
            by_mode[mode] += time.perf_counter() - began
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        schools = {school for school, _mode in searched}
        walking = sum(1 for _school, mode in searched if mode == "walk")
        reach = (
            "each over the whole graph"
            if unlimited
            else "each as far as the measurement's widest limit for that school"
        )
        return Figure(
            wall,
            "s",
            f"cpu {cpu:.2f} s; {len(schools)} schools searched from (chosen and candidates): "
            f"{walking} walking ({by_mode['walk']:.2f} s) + {len(searched) - walking} driving "
            f"({by_mode['drive']:.2f} s) searches, {reach}",
            cpu=cpu,
        )
