"""A hand-drawn town whose shortest routes are known by hand (tests of issue 17, A4b).

Grid metres from the origin O = (500000, 300000):

    P3 (0,2000) ---- north road ---- P6 (1000,2000) ------------ P4 (2000,2000)  <- gate G1 (open)
     |                                 |  footpath (walkers only)  ^ east road: one-way
     | west road                       |                           | northbound P2 -> P4
     |                                 P5 (1000,300) cul-de-sac end
     |                                 |  <- home H (1050,250) meets the cul-de-sac at (1000,250)
    P0 (0,0) ------ south road ------ P1 (1000,0) ---------------- P2 (2000,0)

Gate G2 (closed) at (1000,2010) by P6; G1 (open) at (2000,2010) by P4. A private road runs
P5 -> P2 (1044 m), which nobody may use. By hand, from H's access point (1000,250):
walking: 50 to P5, 1700 footpath to P6, 1000 east to P4 = 2750 m (1750 m to G2 were it open);
driving: 250 to P1, 1000 to P2, 2000 up the one-way street = 3250 m; with the one-way
street reversed (oneway=-1): 250 + 1000 west + 2000 north + 2000 east = 5250 m; with a
motorway P1 -> P4 (2236 m, drivers only): 250 + 2236 = 2486 m.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from services.network.osm_write import write_osm

OX, OY = 500_000, 300_000
STAMP = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HOME = (OX + 1050, OY + 250)
ACCESS = (OX + 1000, OY + 250)
GATE_OPEN = (OX + 2000, OY + 2010)
GATE_CLOSED = (OX + 1000, OY + 2010)
POINTS = {
    1: (0, 0),
    2: (1000, 0),
    3: (2000, 0),
    4: (0, 2000),
    5: (2000, 2000),
    6: (1000, 300),
    7: (1000, 2000),
}
RES = {"highway": "residential"}


def town(
    path: Path,
    *,
    east_oneway: str = "yes",
    motorway: bool = False,
    private_tags: dict[str, str] | None = None,
) -> Path:
    nodes = [(i, OX + e, OY + n) for i, (e, n) in POINTS.items()]
    ways = [
        (10, [1, 2, 3], {**RES, "name": "South Road"}),
        (11, [1, 4], {**RES, "name": "West Road"}),
        (12, [4, 7, 5], {**RES, "name": "North Road"}),
        (13, [3, 5], {**RES, "name": "East Road", "oneway": east_oneway}),
        (14, [2, 6], {**RES, "name": "Cul-de-sac Close"}),
        (15, [6, 7], {"highway": "footway"}),
        (16, [6, 3], {"highway": "service", "access": "private", **(private_tags or {})}),
    ]
    if motorway:
        ways.append((17, [2, 5], {"highway": "motorway", "ref": "M1"}))
    return write_osm(path, nodes, ways, STAMP)
