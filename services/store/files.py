"""Owner-only files and folders, whatever the process's umask: the store's documents, large
values and blobs are readable by the store's user only."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

# The blob folder's modes: task processes on the store's host write into it too.
from lightflow._wire.blobs import FILE_MODE, FOLDER_MODE


def private_folder(path: Path, *, tighten: bool = True) -> None:
    """Creates `path` and its missing parents owner-only; an existing `path` is made so too
    when `tighten` (a folder of ours), else left as it is (a folder we were given)."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile: made owner-only below
            folder.mkdir(mode=FOLDER_MODE)
        os.chmod(folder, FOLDER_MODE)
    if tighten:
        os.chmod(path, FOLDER_MODE)


def private_file(path: Path) -> int:
    """A new file, owner-only, opened for writing: its file descriptor."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd


def make_private(path: Path) -> None:
    """Makes an existing file owner-only; a missing one is fine."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(path, FILE_MODE)
