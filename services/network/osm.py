"""Read an OpenStreetMap extract (.osm.pbf or .osm XML) into a NetworkData, with pyosmium.

Only ways tagged `highway` that walkers or drivers may use (services/network/access.py) are
kept; their nodes are projected from WGS84 to the British National Grid (EPSG:27700) with
pyproj. A way whose nodes lie partly outside the extract keeps the segments inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import osmium
import osmium.version
import pyproj
import scipy

from .access import way_access
from .graph import DRIVE_BACKWARD, DRIVE_FORWARD, WALK, NetworkData, segment_lengths

SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")
ENGINE = (
    f"pyosmium {osmium.version.pyosmium_release}, pyproj {pyproj.__version__} (EPSG:27700), "
    f"scipy {scipy.__version__} csgraph.dijkstra"
)
_TO_GRID = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
_TO_WGS84 = pyproj.Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


class OsmError(ValueError):
    """The file cannot be read as a road network; the message says why, in one line."""


@dataclass(frozen=True)
class OsmExtract:
    data: NetworkData
    osm_timestamp: datetime | None
    ways: int


def to_grid(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    east, north = _TO_GRID.transform(lon, lat)
    return np.asarray(east, dtype=np.float64), np.asarray(north, dtype=np.float64)


def to_wgs84(east: np.ndarray, north: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = _TO_WGS84.transform(east, north)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def _header_time(processor: osmium.FileProcessor) -> datetime | None:
    header = processor.header
    for key in ("osmosis_replication_timestamp", "timestamp"):
        value = header.get(key, "")
        if value:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
            except ValueError:
                continue
    return None


def read_extract(path: str | Path) -> OsmExtract:
    """The walking and driving network of an extract, or OsmError naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise OsmError(f"{path}: no such file")
    if not path.name.lower().endswith(SUFFIXES):
        raise OsmError(f"{path.name}: not an OSM extract (expected .osm.pbf or .osm)")
    ids: list[int] = []
    lon: list[float] = []
    lat: list[float] = []
    seg: list[int] = []  # flags of the segment from this entry to the next (0: way ends)
    ways = 0
    newest: datetime | None = None
    try:
        processor = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        header_time = _header_time(processor)
        for obj in processor.with_locations():
            if not isinstance(obj, osmium.osm.Way) or "highway" not in obj.tags:
                continue
            access = way_access({tag.k: tag.v for tag in obj.tags})
            if not access.used:
                continue
            flag = (
                (WALK if access.walk else 0)
                | (DRIVE_FORWARD if access.drive_forward else 0)
                | (DRIVE_BACKWARD if access.drive_backward else 0)
            )
            ways += 1
            stamp = obj.timestamp
            if stamp is not None and stamp.year > 1970 and (newest is None or stamp > newest):
                newest = stamp
            for node in obj.nodes:
                location = node.location
                if location.valid():
                    ids.append(node.ref)
                    lon.append(location.lon)
                    lat.append(location.lat)
                    seg.append(flag)
                else:
                    if seg:
                        seg[-1] = 0  # the way leaves the extract: no segment across the gap
                    continue
            if seg:
                seg[-1] = 0
    except RuntimeError as error:
        raise OsmError(f"{path.name}: not a readable OSM file ({error})") from None
    if not ids:
        raise OsmError(f"{path.name}: no roads or paths a pupil could use")
    osm_ids, inverse = np.unique(np.asarray(ids, dtype=np.int64), return_inverse=True)
    first = np.zeros(osm_ids.size, dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(ids) - 1, -1, -1)  # one entry per node, for its place
    x, y = to_grid(np.asarray(lon)[first], np.asarray(lat)[first])
    flags = np.asarray(seg, dtype=np.uint8)
    at = np.flatnonzero(flags[:-1])
    u, v = inverse[at], inverse[at + 1]
    keep = u != v
    u, v = u[keep], v[keep]
    data = NetworkData(
        x=x,
        y=y,
        u=u.astype(np.int64),
        v=v.astype(np.int64),
        length=segment_lengths(x, y, u, v),
        flags=flags[at][keep],
    )
    if newest is not None and newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    return OsmExtract(data, header_time or newest, ways)
