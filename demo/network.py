"""The demo county's road network, generated as an OpenStreetMap file (issue 17).

A lattice over the county box (demo/county.py): roads every 2 x `spacing` metres each way,
with footpaths on the lines between them (walkers only), so walking and driving routes
differ; every fifth road is a tertiary road and every seventh a one-way street, alternately
each way. Deterministic: the same file (and SHA-256) every time, written in OSM format and read
back through the loader a council's extract goes through. The benchmark uses the same lattice,
finer, for a county-sized network.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from demo.county import EAST_MAX, EAST_MIN, NORTH_MAX, NORTH_MIN
from models import RoadNetwork
from services.network.osm_write import write_osm
from services.road_networks import load_network

STAMP = datetime(2024, 6, 1, tzinfo=UTC)
DEMO_SPACING = 500


Way = tuple[int, list[int], dict[str, str]]


def _ways(nx: int, ny: int, node: list[list[int]]) -> Iterator[Way]:
    way_id = 1
    for horizontal in (True, False):
        count, length = (ny, nx) if horizontal else (nx, ny)
        for line in range(count):
            refs = [node[line][k] if horizontal else node[k][line] for k in range(length)]
            if line % 2:
                tags = {"highway": "footway"}
            else:
                road = line // 2
                tags = {"highway": "tertiary" if road % 5 == 0 else "unclassified"}
                if road % 7 == 3:
                    tags["oneway"] = "yes" if road % 2 else "-1"
                tags["name"] = f"{'East' if horizontal else 'North'} Road {road}"
            yield way_id, refs, tags
            way_id += 1


def write_lattice(
    path: Path,
    spacing: int,
    box: tuple[int, int, int, int] = (EAST_MIN, NORTH_MIN, EAST_MAX, NORTH_MAX),
) -> Path:
    """The lattice network over `box` (east_min, north_min, east_max, north_max)."""
    e0, n0, e1, n1 = box
    nx = (e1 - e0) // spacing + 1
    ny = (n1 - n0) // spacing + 1
    node = [[r * nx + c + 1 for c in range(nx)] for r in range(ny)]
    nodes = [
        (node[r][c], e0 + c * spacing, n0 + r * spacing) for r in range(ny) for c in range(nx)
    ]
    return write_osm(path, nodes, _ways(nx, ny, node), STAMP)


def load_demo_network(session: Session, spacing: int = DEMO_SPACING) -> RoadNetwork:
    """Generate the demo county's network and load it (flushes; the caller commits)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = write_lattice(Path(tmp) / "demo-county.osm", spacing)
        network, _new = load_network(session, path)
    return network
