"""One run of an import: what was read, by whom, and whether it had problems.

Imports report to whoever runs them (imports/report.py) and, until this record, left no trace
when a file was refused, so nobody else could see that a list was waiting to be put right.
Counts only, no error text: a reason may quote a cell of a child's details, and the report
itself is shown to the person who ran the import.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class ImportRun(Base):
    __tablename__ = "import_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)  # admin_views/imports.py KINDS
    filename: Mapped[str] = mapped_column(String(120))
    # "check" (the screen's preview), "import" (the screen's confirm), "command" (flask import)
    via: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    username: Mapped[str] = mapped_column(String(60))
    rows_read: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    committed: Mapped[bool] = mapped_column(default=False)
    ran_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    def __str__(self) -> str:
        return f"{self.kind} import of {self.filename}"
