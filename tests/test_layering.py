"""The layering holds (issue 12, SERVICES.md): checked by import-linter, not by memory.

The contracts are in pyproject.toml ([tool.importlinter]): `rules` imports nothing of the
project (nor Flask or SQLAlchemy); `services`, `imports` and `cli` never import `admin_views`,
directly or through another module; `services` never imports Flask itself (framework plumbing
lives in `infra/`).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_layering_contract_is_configured() -> None:
    """Deleting a contract would make the check below pass vacuously."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = {tuple(c["source_modules"]): c for c in config["contracts"]}
    assert "admin_views" in contracts[("services", "imports", "cli")]["forbidden_modules"]
    assert contracts[("services", "imports", "cli")].get("allow_indirect_imports") is not True
    rules = [c for c in config["contracts"] if c["source_modules"] == ["rules"]]
    forbidden = {m for c in rules for m in c["forbidden_modules"]}
    assert {"services", "models", "admin_views", "flask", "sqlalchemy"} <= forbidden
    services = contracts[("services",)]
    assert {"flask", "flask_login", "flask_admin", "wtforms"} <= set(services["forbidden_modules"])


def test_import_linter_contracts_are_kept() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; "
            "raise SystemExit(lint_imports_command())",
            "--no-cache",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
