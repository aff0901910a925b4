"""Designated Transport Areas (A14, Appendix G) and the parishes and postcodes in them."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .area import Parish, Postcode
from .base import Base, Timestamped, Versioned
from .enums import DtaCategory, enum_column
from .school import School


class DesignatedTransportArea(Timestamped, Versioned, Base):
    __tablename__ = "dta"
    __table_args__ = (UniqueConstraint("school_id", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="RESTRICT"), index=True)
    category: Mapped[DtaCategory] = mapped_column(
        enum_column(DtaCategory, "dta_category"), index=True
    )
    # Appendix B special arrangements that are not just a list of areas.
    special_arrangement: Mapped[str | None] = mapped_column(Text)

    school: Mapped[School] = relationship()
    areas: Mapped[list[DtaArea]] = relationship(
        back_populates="dta", cascade="all, delete-orphan", order_by="DtaArea.id"
    )

    def __str__(self) -> str:
        return self.name


class DtaArea(Base):
    """One parish or one postcode inside a DTA: a home is in the DTA when either matches."""

    __tablename__ = "dta_area"
    __table_args__ = (
        CheckConstraint("(parish_id IS NULL) <> (postcode_id IS NULL)", name="parish_xor_postcode"),
        UniqueConstraint("dta_id", "parish_id"),
        UniqueConstraint("dta_id", "postcode_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dta_id: Mapped[int] = mapped_column(ForeignKey("dta.id", ondelete="CASCADE"))
    parish_id: Mapped[int | None] = mapped_column(
        ForeignKey("parish.id", ondelete="RESTRICT"), index=True
    )
    postcode_id: Mapped[int | None] = mapped_column(
        ForeignKey("postcode.id", ondelete="RESTRICT"), index=True
    )

    dta: Mapped[DesignatedTransportArea] = relationship(back_populates="areas")
    parish: Mapped[Parish | None] = relationship()
    postcode: Mapped[Postcode | None] = relationship()

    def __str__(self) -> str:
        return str(self.parish or self.postcode)
