"""A benchmark's own section of bench/RESULTS.md, replaced in place between its markers.

`python -m bench` writes the main table; the harnesses run apart from it (load, letters) keep
their figures in marked sections, so re-running one never disturbs the others.
"""

from __future__ import annotations

from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_section(name: str, body: str, path: Path) -> None:
    """Replace the section `name` (or append it), leaving the rest of the file as it is."""
    start, end = markers(name)
    section = f"{start}\n{body.rstrip()}\n{end}\n"
    old = path.read_text() if path.exists() else ""
    if start in old and end in old:
        head, rest = old.split(start, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        new = head + section + ("\n" + tail if tail else "")
    else:
        new = (old.rstrip("\n") + "\n\n" if old else "") + section
    path.write_text(new)
