"""Write a small road network as an OpenStreetMap file (.osm XML or .osm.pbf) with pyosmium.

Used for networks made rather than downloaded: the demo county's, the benchmark's, the tests'
hand-drawn ones. Coordinates are given on the British National Grid and written as WGS84, so
the file goes through exactly the loader a council's extract does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import osmium
from osmium.osm.mutable import Node, Way

from .osm import to_wgs84


def write_osm(
    path: str | Path,
    nodes: Sequence[tuple[int, float, float]],
    ways: Iterable[tuple[int, Sequence[int], Mapping[str, str]]],
    timestamp: datetime,
) -> Path:
    """nodes: (id, easting, northing); ways: (id, node ids, tags). Replaces `path`."""
    path = Path(path)
    path.unlink(missing_ok=True)
    ids = np.array([n[0] for n in nodes], dtype=np.int64)
    lon, lat = to_wgs84(
        np.array([n[1] for n in nodes], dtype=np.float64),
        np.array([n[2] for n in nodes], dtype=np.float64),
    )
    writer = osmium.SimpleWriter(str(path))
    try:
        for i, x, y in zip(ids.tolist(), lon.tolist(), lat.tolist(), strict=True):
            writer.add_node(
                Node(id=i, location=(round(x, 7), round(y, 7)), version=1, timestamp=timestamp)
            )
        for way_id, refs, tags in ways:
            writer.add_way(
                Way(id=way_id, nodes=list(refs), tags=dict(tags), version=1, timestamp=timestamp)
            )
    finally:
        writer.close()
    return path
