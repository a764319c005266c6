"""Keeping a service's secrets from the task processes of the same machine and user."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_PR_SET_DUMPABLE = 4


def make_undumpable() -> None:
    """A process of the same (unprivileged) user can then neither read this process's initial
    environment (/proc/<pid>/environ) and memory nor attach to it: tasks run as that user,
    and the token is in the environment. Root is not held back by this."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_DUMPABLE, 0)
