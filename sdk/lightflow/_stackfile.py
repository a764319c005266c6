"""The file `lfctl up` writes so that clients in the same folder find its stack."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

STACK_FILE = Path(".lightflow") / "stack.json"


@dataclass(frozen=True)
class StackInfo:
    scheduler_addresses: list[str]
    store_address: str
    redis_url: str
    token: str | None
    # The `lfctl up` process; the file is stale once it is gone.
    pid: int
    # The web dashboard's address ("" without one).
    web_url: str = ""


def write_stack_file(folder: Path, info: StackInfo) -> Path:
    path = folder / STACK_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # The token grants running code on the workers: readable by the owner only. A stale
    # temporary file goes first, so the new one is created with these permissions (an
    # existing file would keep its own). redis' password is not written at all: only the
    # schedulers use it.
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(info), out, indent=2)
    tmp.replace(path)
    return path


def remove_stack_file(folder: Path) -> None:
    (folder / STACK_FILE).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_stack_file(folder: Path) -> StackInfo | None:
    """The running stack of this folder, or None (no file, or its `lfctl up` is gone)."""
    path = folder / STACK_FILE
    try:
        info = StackInfo(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return info if _alive(info.pid) else None
