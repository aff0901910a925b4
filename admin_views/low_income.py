"""Low-income evidence: the screen for LowIncomeEvidence."""

from __future__ import annotations

from models import LowIncomeEvidence

from .base import ASSISTANTS, AppModelView


class LowIncomeEvidenceView(AppModelView):
    write_roles = ASSISTANTS


VIEW = (LowIncomeEvidenceView, LowIncomeEvidence, "Low-income evidence", "Casework")
