"""Shared helpers for the rules tests: the real command line, run as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_cli(
    verb: str, payload: Any = None, *, text: str | None = None, args: tuple[str, ...] = ("-",)
):
    """``python -m rules VERB -`` from the repository root, with JSON (or raw text) on stdin."""
    stdin = text if text is not None else json.dumps(payload)
    return subprocess.run(
        [sys.executable, "-m", "rules", *([verb] if verb else []), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cli
