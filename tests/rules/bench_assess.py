"""Throughput of `rules.assess` in one process (team target: >= 20,000 calls a second).

    python tests/rules/bench_assess.py            # from the repository root

Cases are parsed once, outside the timing, as the panel would hold them; the mix is the spec's
worked examples plus cases on every other basis (post-16, A8, care, medical, exceptional).
"""

from __future__ import annotations

import json
import sys
import time
import timeit
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from rules import assess  # noqa: E402
from rules.contract import parse_case  # noqa: E402

EXAMPLES = REPO.parent / "shared/spec/examples/assess.json"
POST16 = {
    "full_time_hours": 15,
    "higher_education": False,
    "apprenticeship": False,
    "repeat_or_non_progression": False,
    "programme_started_before_19": True,
    "post19_need_determined": False,
}
BASE = {"academic_year": "2024/25", "lives_in_county": True}
EXTRA = [
    {
        **BASE,
        "date_of_birth": "2007-01-01",
        "ehcp": True,
        "distance_m": 7000,
        "is_dta_school": True,
        "post16": POST16,
    },
    {
        **BASE,
        "date_of_birth": "2012-05-01",
        "distance_m": 800,
        "care": {"by": "council", "placement": "permanent", "purchase_order": None},
    },
    {
        **BASE,
        "date_of_birth": "2012-05-01",
        "distance_m": 8000,
        "care": {"by": "other_la", "placement": "permanent", "purchase_order": "PO-1"},
    },
    {
        **BASE,
        "date_of_birth": "2016-05-01",
        "distance_m": 900,
        "is_dta_school": True,
        "medical": {"who": "parent", "accepted": True, "until": "2025-03-31"},
    },
    {
        **BASE,
        "date_of_birth": "2011-05-01",
        "distance_m": 12000,
        "low_income": True,
        "religion_or_belief": True,
        "exceptional_circumstances": {"accepted": None},
    },
]


def main() -> None:
    inputs = [example["input"] for example in json.loads(EXAMPLES.read_text())] + EXTRA
    cases = [parse_case(data) for data in inputs]

    def run() -> None:
        for case in cases:
            assess(case)

    rounds = 3000
    calls = len(cases) * rounds
    # Wall clock is what a batch job sees; CPU time is what the code costs, and stays honest
    # on a machine shared with other work (where the scheduler, not the code, sets the pace).
    wall = min(timeit.repeat(run, number=rounds, repeat=5))
    cpu = min(timeit.repeat(run, number=rounds, repeat=5, timer=time.process_time))
    print(f"{calls / wall:,.0f} assess calls/second, wall clock ({len(cases)} distinct cases)")
    print(f"{calls / cpu:,.0f} assess calls/second of process CPU time")


if __name__ == "__main__":
    main()
