"""The scheduler's values: what its parts hand each other, what the scripts take and give
back (scripts.py), and what convert.py turns into protos and back. No proto in here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from lightflow_scheduler.schema import EntryField

_RUN, _INSTANCE, _DAG, _TASK, _ATTEMPT = (
    name.encode()
    for name in (
        EntryField.RUN,
        EntryField.INSTANCE,
        EntryField.DAG,
        EntryField.TASK,
        EntryField.ATTEMPT,
    )
)


class QueueEntry(NamedTuple):
    """A ready task's entry in a queue stream, which a hand-out (a lease) is of. Its fields,
    in this order, are also what dispatch.lua takes per entry (scripts.py)."""

    queue: str
    entry_id: str
    run_id: str
    instance: str
    dag: str
    task: str
    attempt: int

    @classmethod
    def from_fields(
        cls, queue: str, entry_id: bytes | str, fields: Mapping[bytes, bytes]
    ) -> QueueEntry:
        """The entry as XREADGROUP / XRANGE return it (EntryField names)."""
        return cls(
            queue,
            entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
            fields[_RUN].decode(),
            fields[_INSTANCE].decode(),
            fields[_DAG].decode(),
            fields[_TASK].decode(),
            int(fields[_ATTEMPT]),
        )


class OutputLine(NamedTuple):
    """A line a task printed. Its fields, in this order, are what output.lua takes per line."""

    run_id: str
    instance: str
    task: str
    attempt: int
    stream: str
    text: str
