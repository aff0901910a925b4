"""The gates of a school: where A4b's distances end ("the nearest accessible school gate")."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped
from .school import School


class SchoolGate(Timestamped, Base):
    """One pupil entrance; a closed gate is kept (with its history) but never measured to.

    A school with no gate recorded is measured to its own location (services/network).
    """

    __tablename__ = "school_gate"
    __table_args__ = (
        CheckConstraint("easting >= 0", name="easting"),
        CheckConstraint("northing >= 0", name="northing"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    easting: Mapped[int]
    northing: Mapped[int]
    is_open: Mapped[bool] = mapped_column(default=True)

    school: Mapped[School] = relationship(back_populates="gates")

    def __str__(self) -> str:
        return f"{self.name} ({'open' if self.is_open else 'closed'})"
