"""Files that hold personal data are readable by their owner (the server's account) only.

The SQLite database, uploaded workbooks and generated letters name pupils and families; on a
shared machine the default umask (022) would let every local user read them (issue 16, UK
GDPR Art. 32). Everything here creates with mode 0o600 (folders 0o700) from the start, so there
is no moment when the file is readable by others.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """`path` as a folder only its owner can enter (created if missing, tightened if not)."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def write_private(path: Path, data: bytes | str) -> None:
    """Write `data` to a new or existing file that only its owner can read."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # an existing file keeps its old mode through O_CREAT
        with os.fdopen(fd, "wb", closefd=False) as handle:
            handle.write(raw)
    finally:
        os.close(fd)


def restrict_sqlite_file(dbapi_connection: Any, _record: Any = None) -> None:
    """Engine "connect" listener: the SQLite database file becomes 0o600 (journals follow it).

    SQLite gives its -journal and -wal files the database file's own mode, so restricting the
    main file is enough. The file is created empty by the connect; nothing is in it yet.
    """
    if not type(dbapi_connection).__module__.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    try:
        rows = cursor.execute("PRAGMA database_list").fetchall()
    finally:
        cursor.close()
    for _seq, _name, filename in rows:
        if filename and os.path.exists(filename) and os.stat(filename).st_uid == os.geteuid():
            os.chmod(filename, FILE_MODE)
