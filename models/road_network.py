"""A road network loaded from an OpenStreetMap extract: what every route measurement runs over.

A4b: "The council uses a measuring system that calculates the distance from the child's home
... to the nearest accessible school gate." The system's map is this record: the file it was
read from (and the file's own OSM date), the engine that measures over it, and when it was
loaded. The nodes (British National Grid metres) and edges (grid metres, walking and driving
permissions) are kept compactly in `data` (a compressed NumPy archive, see
services/network/graph.py), so the database alone holds everything a measurement relied on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from .base import Base, utcnow
from .user import User


class RoadNetwork(Base):
    __tablename__ = "road_network"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_file: Mapped[str] = mapped_column(String(255))
    source_sha256: Mapped[str] = mapped_column(String(64), index=True)
    # The extract's own date: its header's replication timestamp, else its newest way.
    osm_timestamp: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    engine: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    loaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    nodes: Mapped[int]
    walk_edges: Mapped[int]
    drive_edges: Mapped[int]
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))

    loaded_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        when = self.osm_timestamp.date().isoformat() if self.osm_timestamp else "undated"
        return f"#{self.id} {self.source_file} ({when})"
