"""A parent or carer of a pupil: who the council writes to (B1i, A1c, Appendix C)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped
from .enums import Channel, enum_column

if TYPE_CHECKING:
    from .pupil import Pupil


class Contact(Timestamped, Base):
    """B1i: "All applicants are notified of the eligibility decision in writing (letter or
    e-mail)", so each contact says how they want to hear, and the channel must be reachable.

    An empty postal address means the child's home address (the usual case).
    """

    __tablename__ = "contact"
    __table_args__ = (
        CheckConstraint(
            "preferred_channel <> 'email' OR email IS NOT NULL", name="email_channel_has_email"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupil.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    relationship_to_child: Mapped[str] = mapped_column(String(40))  # mother, foster carer, ...
    postal_address: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(8))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(30))
    preferred_channel: Mapped[Channel] = mapped_column(
        enum_column(Channel, "channel"), default=Channel.POST
    )
    parental_responsibility: Mapped[bool] = mapped_column(default=True)

    pupil: Mapped[Pupil] = relationship(back_populates="contacts")

    def __str__(self) -> str:
        return f"{self.name} ({self.relationship_to_child})"
