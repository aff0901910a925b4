"""Parishes and postcodes: A14 says DTAs are built from them."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped, Versioned

# A UK postcode in its canonical spaced form, e.g. "LN1 1YL" (checked again in forms).
POSTCODE_CHECK = "length(postcode) BETWEEN 6 AND 8 AND postcode LIKE '% %'"


class Parish(Timestamped, Versioned, Base):
    __tablename__ = "parish"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    district: Mapped[str | None] = mapped_column(String(120))
    in_county: Mapped[bool] = mapped_column(default=True)

    postcodes: Mapped[list[Postcode]] = relationship(back_populates="parish")

    def __str__(self) -> str:
        return self.name


class Postcode(Timestamped, Versioned, Base):
    __tablename__ = "postcode"
    __table_args__ = (CheckConstraint(POSTCODE_CHECK, name="format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    postcode: Mapped[str] = mapped_column(String(8), unique=True)
    parish_id: Mapped[int | None] = mapped_column(
        ForeignKey("parish.id", ondelete="RESTRICT"), index=True
    )
    easting: Mapped[int | None]
    northing: Mapped[int | None]

    parish: Mapped[Parish | None] = relationship(back_populates="postcodes")

    def __str__(self) -> str:
        return self.postcode
