"""Which kinds of job exist: a name, a label, who may start one, and the function that works."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from models.enums import Role

if TYPE_CHECKING:
    from .api import Progress

# work(parameters, progress, user_id) -> the result report in words
Work = Callable[[dict[str, Any], "Progress", int | None], str]
Check = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str
    roles: tuple[Role, ...]
    work: Work
    check: Check  # cleans the parameters or raises JobRefused naming the field


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    KINDS[kind.name] = kind
    return kind
