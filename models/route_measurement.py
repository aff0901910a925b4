"""A measured distance from a pupil's home to a school: computed over a road network, or an
officer's hand measurement with its reason, kept beside each other (A4b, A3b).

One current row per (application, school, kind); a re-measurement that finds something
different supersedes the old row (kept, with `superseded_at`), and one that finds the same
writes nothing.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enums import DistanceMethod, MeasurementKind, enum_column
from .road_network import RoadNetwork
from .school import School
from .school_gate import SchoolGate
from .user import User


class RouteMeasurement(Base):
    __tablename__ = "route_measurement"
    __table_args__ = (
        CheckConstraint("distance_m >= 0", name="distance"),
        CheckConstraint(
            "kind <> 'hand' OR (reason IS NOT NULL AND reason <> '')", name="hand_has_reason"
        ),
        CheckConstraint("kind <> 'computed' OR network_id IS NOT NULL", name="computed_network"),
        Index("ix_route_measurement_current", "application_id", "school_id", "superseded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("transport_application.id", ondelete="CASCADE")
    )
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[MeasurementKind] = mapped_column(enum_column(MeasurementKind, "measurement_kind"))
    # A4b: the walking route up to the walking distance, the driving route beyond it.
    method: Mapped[DistanceMethod] = mapped_column(enum_column(DistanceMethod, "distance_method"))
    distance_m: Mapped[int]
    # The walking route found, kept when the driving route gave the distance (A4b).
    walk_distance_m: Mapped[int | None]
    network_id: Mapped[int | None] = mapped_column(
        ForeignKey("road_network.id", ondelete="RESTRICT"), index=True
    )
    gate_id: Mapped[int | None] = mapped_column(ForeignKey("school_gate.id", ondelete="SET NULL"))
    gate_easting: Mapped[int | None]
    gate_northing: Mapped[int | None]
    # Where the property meets the highway: the home snapped to the nearest usable way, or an
    # officer's override (HomeAccessPoint).
    access_easting: Mapped[int | None]
    access_northing: Mapped[int | None]
    snap_distance_m: Mapped[int | None]
    access_overridden: Mapped[bool] = mapped_column(default=False)
    # The route, home to gate: "e,n" pairs in whole grid metres, space separated.
    geometry: Mapped[str | None] = mapped_column(Text)
    measured_on: Mapped[date]
    measured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    measured_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    # What measured it: the command or screen (a computed row), or "hand measurement".
    measured_via: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(Text)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    school: Mapped[School] = relationship()
    network: Mapped[RoadNetwork | None] = relationship()
    gate: Mapped[SchoolGate | None] = relationship()
    measured_by: Mapped[User | None] = relationship()

    def points(self) -> list[tuple[int, int]]:
        """The route's geometry as (easting, northing) pairs."""
        if not self.geometry:
            return []
        out = []
        for pair in self.geometry.split():
            east, north = pair.split(",")
            out.append((int(east), int(north)))
        return out

    def __str__(self) -> str:
        return f"{self.distance_m} m ({self.method.value.replace('_', ' ')}, {self.kind.value})"
