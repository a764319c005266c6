"""Run, DAG and task statuses and run event types: the proto enums (common.proto,
scheduler.proto) and the words the client, lfctl, events and redis use for them. A value's
word is its name without the enum's prefix, in lower case: TASK_STATUS_SUCCEEDED is
"succeeded", RUN_EVENT_TYPE_TASK_ENDED is "task_ended", 0 is "unspecified"."""

from __future__ import annotations

from typing import cast

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from lightflow.v1 import common_pb2, scheduler_pb2

# The statuses a run ends with.
FINAL_RUN_STATUSES = frozenset({"succeeded", "failed", "aborted", "stopped"})


class _Words:
    """One enum's values and their words, both ways."""

    def __init__(self, enum: EnumTypeWrapper, prefix: str) -> None:
        self._enum = enum
        self.words = {int(value): name.removeprefix(prefix).lower() for name, value in enum.items()}
        self.values = {word: value for value, word in self.words.items()}

    def word(self, value: int) -> str:
        try:
            return self.words[value]
        except KeyError:
            raise ValueError(f"{self._enum.DESCRIPTOR.name} has no value {value}") from None


_RUN = _Words(common_pb2.RunStatus, "RUN_STATUS_")
_DAG = _Words(common_pb2.DagStatus, "DAG_STATUS_")
_TASK = _Words(common_pb2.TaskStatus, "TASK_STATUS_")
_EVENT = _Words(scheduler_pb2.RunEventType, "RUN_EVENT_TYPE_")


def run_status_word(value: int) -> str:
    """ "running" for RUN_STATUS_RUNNING; ValueError for a value the enum does not have."""
    return _RUN.word(value)


def dag_status_word(value: int) -> str:
    return _DAG.word(value)


def task_status_word(value: int) -> str:
    return _TASK.word(value)


def event_type_word(value: int) -> str:
    return _EVENT.word(value)


def run_status(word: str) -> common_pb2.RunStatus:
    """RUN_STATUS_RUNNING for "running"; RUN_STATUS_UNSPECIFIED for a word that is none."""
    return cast(common_pb2.RunStatus, _RUN.values.get(word, 0))


def dag_status(word: str) -> common_pb2.DagStatus:
    return cast(common_pb2.DagStatus, _DAG.values.get(word, 0))


def task_status(word: str) -> common_pb2.TaskStatus:
    return cast(common_pb2.TaskStatus, _TASK.values.get(word, 0))
