"""The council's 2024/25 term dates: 190 operational days (Appendix H), as in the spec examples."""

from __future__ import annotations

from datetime import date

TERMS: list[tuple[str, date, date]] = [
    ("Autumn 1", date(2024, 9, 2), date(2024, 10, 25)),
    ("Autumn 2", date(2024, 11, 4), date(2024, 12, 20)),
    ("Spring 1", date(2025, 1, 6), date(2025, 2, 14)),
    ("Spring 2", date(2025, 2, 24), date(2025, 4, 4)),
    ("Summer 1", date(2025, 4, 22), date(2025, 5, 23)),
    ("Summer 2", date(2025, 6, 2), date(2025, 7, 22)),
]

CLOSURES: list[tuple[date, str]] = [
    (date(2024, 9, 2), "INSET day"),
    (date(2024, 9, 3), "INSET day"),
    (date(2025, 1, 6), "INSET day"),
    (date(2025, 5, 5), "Early May bank holiday"),
    (date(2025, 6, 2), "INSET day"),
    (date(2025, 7, 22), "INSET day"),
]
