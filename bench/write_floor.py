"""`python -m bench.write_floor MEASURED.db UNMEASURED.db`: what writing one route measurement
run costs with nothing built in Python (issue 17, SQLite).

MEASURED.db is a county after one `measure_applications` run; UNMEASURED.db the same county
before it (network loaded, nothing measured). The rows the run wrote (the measurements, their
trail rows and the applications' new distances) are read from the first and written into a
copy of the second by bare `sqlite3` executemany statements in one transaction, values as
stored: the least any implementation pays to write them. Printed, not written to RESULTS.md.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path


def main(measured: str, unmeasured: str) -> None:
    source = sqlite3.connect(measured)
    rows = source.execute("SELECT * FROM route_measurement ORDER BY id").fetchall()
    columns = [d[0] for d in source.execute("SELECT * FROM route_measurement LIMIT 1").description]
    trail = source.execute(
        "SELECT * FROM audit_log WHERE table_name = 'route_measurement' "
        "OR (table_name = 'transport_application' AND action = 'update') ORDER BY id"
    ).fetchall()
    trail_columns = [d[0] for d in source.execute("SELECT * FROM audit_log LIMIT 1").description]
    distances = source.execute(
        "SELECT distance_m, distance_method, distance_measured_on, updated_at, id "
        "FROM transport_application WHERE id IN (SELECT CAST(record_id AS INTEGER) "
        "FROM audit_log WHERE table_name = 'transport_application' AND action = 'update')"
    ).fetchall()
    with tempfile.TemporaryDirectory() as work:
        copy = Path(work) / "county.db"
        shutil.copy(unmeasured, copy)
        target = sqlite3.connect(copy, isolation_level=None)
        cpu, wall = time.process_time(), time.perf_counter()
        target.execute("BEGIN")
        target.executemany(
            f"INSERT INTO route_measurement ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            rows,
        )
        target.executemany(
            f"INSERT INTO audit_log ({', '.join(trail_columns)}) "
            f"VALUES ({', '.join('?' * len(trail_columns))})",
            [(None, *row[1:]) for row in trail],
        )
        target.executemany(
            "UPDATE transport_application SET distance_m = ?, distance_method = ?, "
            "distance_measured_on = ?, updated_at = ? WHERE id = ?",
            distances,
        )
        target.execute("COMMIT")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        target.close()
    print(
        f"{len(rows):,} measurements, {len(trail):,} trail rows, {len(distances):,} distances: "
        f"cpu {cpu:.2f} s, wall {wall:.2f} s"
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: python -m bench.write_floor MEASURED.db UNMEASURED.db", file=sys.stderr)
        raise SystemExit(2)
    main(sys.argv[1], sys.argv[2])
