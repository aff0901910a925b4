"""Loading road networks, and the measuring engine built over the network in use (A4b).

The network in use is the newest one loaded: loading a council's new extract changes the map
every later measurement runs over, while each measurement keeps naming the network it used.
Loading the file already in use again changes nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import RoadNetwork
from services.network.graph import DRIVE_BACKWARD, DRIVE_FORWARD, WALK, NetworkData
from services.network.osm import ENGINE, OsmError, read_extract
from services.network.routing import DRIVING, WALKING, Measurer, ModeGraph

__all__ = ["OsmError", "current_network", "load_network", "measurer_for"]

# Built once per network file and process: snapping indexes and routing arrays.
_MEASURERS: dict[str, Measurer] = {}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def current_network(session: Session) -> RoadNetwork | None:
    """The network measurements run over: the newest loaded."""
    return session.scalars(select(RoadNetwork).order_by(RoadNetwork.id.desc()).limit(1)).first()


def load_network(
    session: Session, path: str | Path, *, user_id: int | None = None
) -> tuple[RoadNetwork, bool]:
    """Read an OSM extract and store its network; (network, True) when newly stored.

    The file already in use (same SHA-256) is not stored twice: (that network, False).
    Flushes; the caller commits. Raises OsmError, changing nothing, for a bad file.
    """
    path = Path(path)
    extract = read_extract(path)
    sha = _sha256(path)
    current = current_network(session)
    if current is not None and current.source_sha256 == sha:
        return current, False
    data = extract.data
    row = RoadNetwork(
        source_file=path.name,
        source_sha256=sha,
        osm_timestamp=extract.osm_timestamp,
        engine=ENGINE,
        loaded_by_id=user_id,
        nodes=data.nodes,
        walk_edges=data.count(WALK),
        drive_edges=data.count(DRIVE_FORWARD | DRIVE_BACKWARD),
        data=data.to_bytes(),
    )
    session.add(row)
    session.flush()
    _MEASURERS[sha] = _build(data)
    return row, True


def _build(data: NetworkData) -> Measurer:
    return Measurer(ModeGraph(data, WALKING), ModeGraph(data, DRIVING))


def measurer_for(session: Session, network: RoadNetwork) -> Measurer:
    found = _MEASURERS.get(network.source_sha256)
    if found is None:
        blob = session.scalar(select(RoadNetwork.data).where(RoadNetwork.id == network.id))
        assert blob is not None
        found = _MEASURERS[network.source_sha256] = _build(NetworkData.from_bytes(blob))
    return found
