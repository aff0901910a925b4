"""Helpers for the import tests: fixture files and small CSV/XLSX builders."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def csv_bytes(header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    frame = pd.DataFrame(rows, columns=header)
    return frame.to_csv(index=False).encode(encoding)


def xlsx_bytes(header: list[str], rows: list[list[object]]) -> bytes:
    buf = io.BytesIO()
    pd.DataFrame(rows, columns=header).to_excel(buf, index=False, engine="openpyxl")
    return buf.getvalue()
