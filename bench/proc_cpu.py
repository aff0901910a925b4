"""CPU time of process trees, read from /proc (Linux): where a load run's machine time goes.

`python -m bench.load --cpu` snapshots, before and after each phase, the CPU time (user +
system) of three classes of process: the client (the benchmark's own process, every thread),
the server (gunicorn's master and its workers) and the database (the PostgreSQL postmaster and
its backends), plus the whole machine's busy time from /proc/stat (which includes whatever
else runs on it). A process's own time and its reaped children's (`cutime`, `cstime`) are both
counted, so a backend or worker that exits during a phase is not lost.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children), or None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()
    # fields[0] is state (field 3); ppid is field 4, utime..cstime are fields 14-17.
    ppid = int(fields[1])
    ticks = sum(int(x) for x in fields[11:15])
    return ppid, ticks / _TICK


def _all() -> dict[int, tuple[int, float]]:
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            got = _stat(int(entry.name))
            if got is not None:
                found[int(entry.name)] = got
    return found


def tree_seconds(root: int, table: dict[int, tuple[int, float]] | None = None) -> float:
    """CPU seconds of `root` and every live descendant (their reaped children included)."""
    table = table if table is not None else _all()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            total += table[pid][1]
        todo.extend(children.get(pid, []))
    return total


def machine_busy() -> tuple[float, float]:
    """(busy seconds, all seconds) of every core since boot, from /proc/stat's cpu line."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / _TICK, sum(values[:8]) / _TICK


def postmaster_of(port: int) -> int | None:
    """The pid of the PostgreSQL postmaster listening on `port` (its command line says -p)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry.name}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"postgres") and b"-p" in argv:
            i = argv.index(b"-p")
            if i + 1 < len(argv) and argv[i + 1] == str(port).encode():
                return int(entry.name)
        joined = b" ".join(argv)
        if argv and argv[0].endswith(b"postgres") and f"-p {port} ".encode() in joined + b" ":
            return int(entry.name)
    return None


@dataclass
class Snapshot:
    client: float
    server: float
    database: float
    busy: float
    wall: float


def snapshot(server_pid: int, postmaster: int | None) -> Snapshot:
    table = _all()
    times = os.times()
    busy, _ = machine_busy()
    return Snapshot(
        client=times.user + times.system,
        server=tree_seconds(server_pid, table),
        database=tree_seconds(postmaster, table) if postmaster else float("nan"),
        busy=busy,
        wall=times.elapsed,
    )
