"""The benchmark county's sizes (issue 7's figures) and the account its list pages sign in as.

The county itself is built by the team's demo builder (demo/county.py, set-based) at these
sizes, so the benchmark measures the same data the demo and the tests use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

YEAR = "2024/25"
# The demo builder builds for the year containing "today" (issue 15); the benchmark fixes the
# day so its county, and so its figures, are the same whenever it runs.
TODAY = date(2024, 9, 2)
PASSWORD = "bench password not secret"


@dataclass(frozen=True)
class CountySize:
    """How many of each record the county holds (issue 7 gives the full-scale figures)."""

    schools: int
    parishes: int
    routes: int
    pupils: int
    transport_applications: int
    concessionary_applications: int
    import_rows: int
    # Issue 17: the road network's lattice spacing (135 m: 1,052,872 segments).
    network_spacing_m: int = 135

    @property
    def postcodes(self) -> int:
        return self.parishes * 5


FULL = CountySize(
    schools=400,
    parishes=1_000,
    routes=600,
    pupils=100_000,
    transport_applications=25_000,
    concessionary_applications=5_000,
    import_rows=50_000,
)
SMALL = CountySize(
    schools=24,
    parishes=40,
    routes=16,
    pupils=1_200,
    transport_applications=300,
    concessionary_applications=80,
    import_rows=400,
    network_spacing_m=1000,
)
# A fifth of the full county: a figure that scales linearly (the letters) measured in a few
# minutes on a busy machine (issue 13).
MEDIUM = CountySize(
    schools=400,
    parishes=1_000,
    routes=600,
    pupils=20_000,
    transport_applications=5_000,
    concessionary_applications=1_000,
    import_rows=10_000,
)
SIZES = {"full": FULL, "medium": MEDIUM, "small": SMALL}
