"""A road network held compactly: nodes on the British National Grid, edges with lengths.

Every OSM way is kept node by node (one edge per segment), so a route's geometry is the
sequence of nodes it passes and its length is the sum of grid distances between them. Lengths
are in British National Grid metres (the grid the panel stores every easting and northing in;
within Great Britain it differs from ground distance by less than 0.04 %).

The arrays are stored as one compressed NumPy archive (`to_bytes`), in the database beside the
network's record, so a measurement can always be repeated on the network it names.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix

WALK, DRIVE_FORWARD, DRIVE_BACKWARD = 1, 2, 4
# csgraph treats a stored zero as "no edge" in some paths: two OSM nodes at the same spot
# are joined by a millimetre instead.
MIN_LENGTH = 0.001

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class NetworkData:
    """Nodes (x, y in grid metres) and segments (u -> v, length, who may use them)."""

    x: FloatArray
    y: FloatArray
    u: IntArray
    v: IntArray
    length: FloatArray
    flags: npt.NDArray[np.uint8]

    @property
    def nodes(self) -> int:
        return int(self.x.size)

    def count(self, flag: int) -> int:
        return int(np.count_nonzero(self.flags & flag))

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        np.savez_compressed(
            out,
            x=self.x,
            y=self.y,
            u=self.u.astype(np.int32),
            v=self.v.astype(np.int32),
            length=self.length.astype(np.float32),
            flags=self.flags,
        )
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> NetworkData:
        with np.load(io.BytesIO(data)) as z:
            return cls(
                x=z["x"].astype(np.float64),
                y=z["y"].astype(np.float64),
                u=z["u"].astype(np.int64),
                v=z["v"].astype(np.int64),
                length=z["length"].astype(np.float64),
                flags=z["flags"].astype(np.uint8),
            )


def segment_lengths(x: FloatArray, y: FloatArray, u: IntArray, v: IntArray) -> FloatArray:
    return np.maximum(np.hypot(x[v] - x[u], y[v] - y[u]), MIN_LENGTH)


def csr(n: int, tail: IntArray, head: IntArray, weight: FloatArray) -> csr_matrix:
    """A directed graph tail -> head; of parallel edges the shortest is kept (csr would sum)."""
    order = np.lexsort((weight, head, tail))
    tail, head, weight = tail[order], head[order], weight[order]
    first = np.ones(tail.size, dtype=bool)
    first[1:] = (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])
    return csr_matrix((weight[first], (tail[first], head[first])), shape=(n, n))
