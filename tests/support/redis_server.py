"""A throwaway Redis server (Debian's redis-server) on a Unix socket, for shared rate limits."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def find_binary() -> str | None:
    return shutil.which("redis-server")


@contextmanager
def running_server() -> Iterator[str]:
    """Yield a `redis+unix://` URL for a fresh, unsaved server; stop it afterwards."""
    binary = find_binary()
    if binary is None:
        raise RuntimeError("redis-server not found (install Debian's redis-server)")
    workdir = Path(tempfile.mkdtemp(prefix="redistest-"))
    sock = workdir / "redis.sock"
    process = subprocess.Popen(
        [
            binary,
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis+unix://{sock}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
