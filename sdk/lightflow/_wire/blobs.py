"""The blob folder: the store keeps a run's large task data there, and a task process on the
store's host (which proves it by reading the folder's token, BlobService.Locate) writes and
maps blob files there itself. Both sides lay the files out so:

    <folder>/FOLDER_MARKER            the folder's token
    <folder>/<run id>/                a run's blobs, FOLDER_MODE
    <folder>/<run id>/<blob id>       a blob, FILE_MODE, written once (a new_blob_id())
    <folder>/<run id>/<blob id>.partial
                                      a blob being written: renamed to its name when complete,
                                      so a reader never sees half a blob

Elsewhere blobs travel on the BlobService streams in chunks of CHUNK_BYTES."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

FOLDER_MARKER = ".lightflow-blobs"
# Owner-only, whatever the umask: only the store's user (and task processes running as that
# user) reads them.
FOLDER_MODE = 0o700
FILE_MODE = 0o600
CHUNK_BYTES = 1024 * 1024
_BLOB_ID = re.compile(r"[0-9a-f]{32}")


def new_blob_id() -> str:
    return uuid.uuid4().hex


def is_blob_id(text: str) -> bool:
    """Whether `text` is a blob id (and so a safe file name)."""
    return _BLOB_ID.fullmatch(text) is not None


def blob_path(folder: Path, run_id: str, blob_id: str) -> Path:
    return folder / run_id / blob_id


def partial_path(folder: Path, run_id: str, blob_id: str) -> Path:
    return folder / run_id / f"{blob_id}.partial"
