"""An officer's override of where a home meets the public highway (A4b, Appendix D)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped, utcnow
from .pupil import Pupil
from .user import User


class HomeAccessPoint(Timestamped, Base):
    """A4b measures "from where the property meets the public highway"; Appendix D "from the
    gate of the property (or where public land borders private land)".

    Without a row the home's location is snapped to the nearest usable way. An officer who
    knows better (a long private drive, a back gate onto a footpath) records the point here,
    with the reason; measurements start from it.
    """

    __tablename__ = "home_access_point"
    __table_args__ = (
        CheckConstraint("easting >= 0", name="easting"),
        CheckConstraint("northing >= 0", name="northing"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(
        ForeignKey("pupil.id", ondelete="CASCADE"), unique=True
    )
    easting: Mapped[int]
    northing: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    set_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    pupil: Mapped[Pupil] = relationship()
    set_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.easting}, {self.northing}"
