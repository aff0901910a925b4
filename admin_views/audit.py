"""Audit trail: the screen for AuditLog."""

from __future__ import annotations

from models import AuditLog

from .base import SUPERVISORS, AppModelView


class AuditLogView(AppModelView):
    write_roles = SUPERVISORS


VIEW = (AuditLogView, AuditLog, "Audit trail", "Administration")
