"""Framework plumbing that services must not hold: security headers, error pages, the
request's signed-in user for the audit trail (SERVICES.md, "infra/")."""
