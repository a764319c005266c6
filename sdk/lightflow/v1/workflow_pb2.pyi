from lightflow.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WorkflowDefinition(_message.Message):
    __slots__ = ("name", "dags", "description", "source_path", "options", "source")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DAGS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PATH_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    dags: _containers.RepeatedCompositeFieldContainer[DagDefinition]
    description: str
    source_path: str
    options: _containers.RepeatedCompositeFieldContainer[OptionDefinition]
    source: str
    def __init__(self, name: _Optional[str] = ..., dags: _Optional[_Iterable[_Union[DagDefinition, _Mapping]]] = ..., description: _Optional[str] = ..., source_path: _Optional[str] = ..., options: _Optional[_Iterable[_Union[OptionDefinition, _Mapping]]] = ..., source: _Optional[str] = ...) -> None: ...

class DagDefinition(_message.Message):
    __slots__ = ("name", "autostart", "queue", "tasks", "edges")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AUTOSTART_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    name: str
    autostart: bool
    queue: str
    tasks: _containers.RepeatedCompositeFieldContainer[TaskDefinition]
    edges: _containers.RepeatedCompositeFieldContainer[Edge]
    def __init__(self, name: _Optional[str] = ..., autostart: _Optional[bool] = ..., queue: _Optional[str] = ..., tasks: _Optional[_Iterable[_Union[TaskDefinition, _Mapping]]] = ..., edges: _Optional[_Iterable[_Union[Edge, _Mapping]]] = ...) -> None: ...

class TaskDefinition(_message.Message):
    __slots__ = ("name", "queue", "code", "force_run", "stop_skip_propagation", "retries", "retry_delay_s", "timeout_s")
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    FORCE_RUN_FIELD_NUMBER: _ClassVar[int]
    STOP_SKIP_PROPAGATION_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    RETRY_DELAY_S_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    name: str
    queue: str
    code: _common_pb2.Payload
    force_run: bool
    stop_skip_propagation: bool
    retries: int
    retry_delay_s: float
    timeout_s: float
    def __init__(self, name: _Optional[str] = ..., queue: _Optional[str] = ..., code: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., force_run: _Optional[bool] = ..., stop_skip_propagation: _Optional[bool] = ..., retries: _Optional[int] = ..., retry_delay_s: _Optional[float] = ..., timeout_s: _Optional[float] = ...) -> None: ...

class Edge(_message.Message):
    __slots__ = ("parent", "child", "alias")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    CHILD_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    child: str
    alias: str
    def __init__(self, parent: _Optional[str] = ..., child: _Optional[str] = ..., alias: _Optional[str] = ...) -> None: ...

class OptionDefinition(_message.Message):
    __slots__ = ("name", "type", "default", "help")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    HELP_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    default: str
    help: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., default: _Optional[str] = ..., help: _Optional[str] = ...) -> None: ...
