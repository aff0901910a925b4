"""Where a point meets the nearest usable way: A4b's "where the property meets the public
highway", and the point of a school gate on the network.

Segments are cut into pieces of at most PIECE metres and their midpoints indexed in a k-d
tree. The true nearest segment's nearest piece has its midpoint within (distance + PIECE/2),
and every piece midpoint within (distance to the nearest midpoint + PIECE/2) is examined, so
the answer is exact, not a nearest-node approximation.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from .graph import FloatArray, IntArray, NetworkData

PIECE = 50.0


@dataclass(frozen=True)
class Snapped:
    """For each point: the segment it meets, how far along it (0..1), the point met, and the
    straight distance from the point to it (metres)."""

    edge: IntArray
    t: FloatArray
    x: FloatArray
    y: FloatArray
    distance: FloatArray


class Snapper:
    def __init__(self, data: NetworkData, usable: npt.NDArray[np.bool_]) -> None:
        self.data = data
        self.edges: IntArray = np.flatnonzero(usable).astype(np.int64)
        pieces = np.maximum(np.ceil(data.length[self.edges] / PIECE), 1).astype(np.int64)
        owner = np.repeat(np.arange(self.edges.size), pieces)
        starts = np.cumsum(pieces) - pieces
        k = np.arange(owner.size) - np.repeat(starts, pieces)
        frac = (k + 0.5) / pieces[owner]
        e = self.edges[owner]
        x0, y0 = data.x[data.u[e]], data.y[data.u[e]]
        mx = x0 + frac * (data.x[data.v[e]] - x0)
        my = y0 + frac * (data.y[data.v[e]] - y0)
        self.owner = owner
        self.tree = cKDTree(np.column_stack((mx, my))) if owner.size else None

    def snap(self, px: FloatArray, py: FloatArray) -> Snapped:
        if self.tree is None:
            raise ValueError("the network has no usable way to meet")
        pts = np.column_stack((px, py))
        d0, _ = self.tree.query(pts)
        found: Any = self.tree.query_ball_point(pts, d0 + PIECE / 2 + 0.01)
        lists: list[list[int]] = list(found)  # an object array of lists, one per point
        counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        which = np.repeat(np.arange(len(lists)), counts)
        flat = np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(counts.sum()))
        cand = self.edges[self.owner[flat]]
        d = self.data
        ux, uy = d.x[d.u[cand]], d.y[d.u[cand]]
        dx, dy = d.x[d.v[cand]] - ux, d.y[d.v[cand]] - uy
        seg2 = np.maximum(dx * dx + dy * dy, 1e-12)
        t = np.clip(((px[which] - ux) * dx + (py[which] - uy) * dy) / seg2, 0.0, 1.0)
        sx, sy = ux + t * dx, uy + t * dy
        dist = np.hypot(px[which] - sx, py[which] - sy)
        # Nearest per point; ties to the lowest segment number, so the answer is repeatable.
        order = np.lexsort((cand, dist, which))
        first = np.ones(order.size, dtype=bool)
        first[1:] = which[order][1:] != which[order][:-1]
        best = order[first]
        return Snapped(cand[best], t[best], sx[best], sy[best], dist[best])
