"""Council-contracted routes and the vehicles that run them."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped, Versioned
from .school import School


class Route(Timestamped, Versioned, Base):
    __tablename__ = "route"
    __table_args__ = (
        CheckConstraint("seats >= 0", name="seats"),
        CheckConstraint("daily_cost IS NULL OR daily_cost >= 0", name="daily_cost"),
        CheckConstraint("runs_am OR runs_pm", name="runs_a_session"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    operator: Mapped[str] = mapped_column(String(120))
    vehicle_type: Mapped[str] = mapped_column(String(60))
    seats: Mapped[int]
    runs_am: Mapped[bool] = mapped_column(default=True)
    runs_pm: Mapped[bool] = mapped_column(default=True)
    # Appendix F: no concessionary seats where a local fare-paying bus makes the journey, or
    # where a seat would cost the council anything extra.
    fare_paying_alternative: Mapped[bool] = mapped_column(default=False)
    additional_cost: Mapped[bool] = mapped_column(default=False)
    daily_cost: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    active: Mapped[bool] = mapped_column(default=True)

    schools: Mapped[list[RouteSchool]] = relationship(
        back_populates="route", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.code


class RouteSchool(Base):
    __tablename__ = "route_school"

    route_id: Mapped[int] = mapped_column(
        ForeignKey("route.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[int] = mapped_column(
        ForeignKey("school.id", ondelete="RESTRICT"), primary_key=True, index=True
    )

    route: Mapped[Route] = relationship(back_populates="schools")
    school: Mapped[School] = relationship()

    def __str__(self) -> str:
        return str(self.school)
