"""Property-based fuzzing of every RPC of every service (issue "Nothing lost", bad input).

Hypothesis sends each method of SchedulerService, SignalService, WorkService (a short stream),
StoreService, BlobService and grpc.health either random bytes or a valid message whose fields
are drawn at random (strings from a mix of random text and ids that exist, random ints and
enum values, random nested payloads). The property: every answer is a valid response or a
gRPC status, within a call timeout (no hang), never UNKNOWN (an exception that escaped a
servicer), never UNAVAILABLE (a crashed server), and no traceback in a message. After each
service's run, every process of the stack is alive, answers its health check, and runs a
workflow.

Bounded and reproducible: `derandomize=True`, no example database, at most `MAX_EXAMPLES`
calls per service.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import bson
import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lightflow._grpc import open_channel
from lightflow.v1 import (
    blob_pb2,
    blob_pb2_grpc,
    common_pb2,
    scheduler_pb2,
    store_pb2,
    workflow_pb2,
)
from lightflow_cli.stack import LocalStack, StackOptions
from tests.conftest import EXAMPLES, client_for, dump_logs

MAX_EXAMPLES = 200
CALL_TIMEOUT = 5.0
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Values worth more than random text: ids that exist (filled in by the stack fixture), names
# the engine knows, and strings its checks care about.
INTERESTING: list[str] = [
    "",
    "main_dag",
    "main_dag:1",
    "task_1",
    "task",
    "sequential",
    "a..b",
    ".a",
    "$set",
    "a.$inc",
    "nul\x00byte",
    "../..",
    "dag/task",
    "a|b",
    "0-0",
    "0-1",
    "1-1",
    "not-an-id",
    "application/bson",
    "application/x-ndarray",
    "python/cloudpickle",
    "python/cloudpickle-frames",
    "lightflow/blob",
    "x" * 300,
]
INTERESTING_BYTES = [
    b"",
    bson.encode({"v": 1}),
    bson.encode({"v": {"a": [1, 2]}}),
    bson.encode({"dtype": "<f8", "shape": [2], "data": b"\0" * 16}),
    bson.encode({"dtype": "<f8", "shape": [3], "data": b"\0" * 16}),
    b"\x80\x05K\x01.",  # pickle of 1
    b"\xff" * 8,
]


# Ids that exist on the stack (runs, a store document, a blob): filled in by the fixture.
REAL_IDS: list[str] = []


def _one_of_list(values: list[str]) -> st.SearchStrategy[str]:
    # Looked up when drawn: the stack fixture fills REAL_IDS after this module is imported.
    return st.integers(0, 10_000).map(lambda i: values[i % len(values)])


TEXT = st.one_of(_one_of_list(REAL_IDS), _one_of_list(INTERESTING), st.text(max_size=40))
BYTES = st.one_of(st.sampled_from(INTERESTING_BYTES), st.binary(max_size=256))

_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return TEXT
    if kind == FieldDescriptor.TYPE_BYTES:
        return BYTES
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_DOUBLE:
        return st.floats()
    if kind == FieldDescriptor.TYPE_FLOAT:
        return st.floats(width=32)
    if kind == FieldDescriptor.TYPE_ENUM:
        known = st.sampled_from([value.number for value in field.enum_type.values])
        return st.one_of(known, known, known, st.integers(-3, 100))
    low, high = _INT_RANGES[kind]
    return st.one_of(st.integers(max(low, -3), 20), st.integers(low, high))


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def messages(cls: type[Message], depth: int = 0) -> st.SearchStrategy[Message]:
    """A message of `cls` with a random subset of its fields set to random values."""

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        message = cls()
        for field in cls.DESCRIPTOR.fields:
            if not draw(st.booleans()):
                continue
            target = getattr(message, field.name) if field.is_repeated else None
            if _is_map(field):
                key_field, value_field = field.message_type.fields
                for _ in range(draw(st.integers(0, 3))):
                    key = draw(_scalar(key_field))
                    if value_field.message_type is not None:
                        target[key].CopyFrom(draw(messages(_message_class(value_field), depth + 1)))
                    else:
                        target[key] = draw(_scalar(value_field))
            elif field.message_type is not None:
                if depth >= 3:
                    continue
                nested = messages(_message_class(field), depth + 1)
                if field.is_repeated:
                    for value in draw(st.lists(nested, max_size=3)):
                        target.add().CopyFrom(value)
                else:
                    getattr(message, field.name).CopyFrom(draw(nested))
            elif field.is_repeated:
                target.extend(draw(st.lists(_scalar(field), max_size=4)))
            else:
                setattr(message, field.name, draw(_scalar(field)))
        return message

    return build()


_CLASSES: dict[str, type[Message]] = {}
for _module in (
    common_pb2,
    scheduler_pb2,
    store_pb2,
    blob_pb2,
    workflow_pb2,
    health_pb2,
    timestamp_pb2,
):
    for _name in dir(_module):
        _candidate = getattr(_module, _name)
        if isinstance(_candidate, type) and issubclass(_candidate, Message):
            _CLASSES[_candidate.DESCRIPTOR.full_name] = _candidate


def _message_class(field: FieldDescriptor) -> type[Message]:
    return _CLASSES[field.message_type.full_name]


# -- the stack ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    local = LocalStack(
        StackOptions(log_dir=tmp_path_factory.mktemp("fuzz-logs"), lease_timeout_s=3)
    ).start()
    try:
        with client_for(local) as client:
            client.register(EXAMPLES / "sequential.py")
            ended = client.start("sequential")
            assert ended.wait(timeout=60) == "succeeded"
            kept = client.start("sequential", keep_data=True)
            assert kept.wait(timeout=60) == "succeeded"
        assert local.store is not None
        blobs = blob_pb2_grpc.BlobServiceStub(
            open_channel(local.store.address, local.options.token)
        )
        # Under a run id of its own: a run that ended takes no more blobs, and the store
        # removes an ended run's blobs as soon as the scheduler says it ended.
        blob = blobs.PutBlob(
            iter([blob_pb2.PutBlobRequest(run_id=uuid.uuid4().hex, chunk=b"fuzz")]),
            timeout=CALL_TIMEOUT,
        )
        REAL_IDS.extend([ended.id, kept.id, blob.blob_id, f"fuzz-{uuid.uuid4().hex}"])
        yield local
    finally:
        local.stop()


def assert_stack_healthy(stack: LocalStack) -> None:
    processes = [stack.store, *stack.schedulers, *stack.workers]
    for process in processes:
        assert process is not None
        assert process.alive(), f"{process.name} died\n{dump_logs(stack)}"
        channel = grpc.insecure_channel(process.address)
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=CALL_TIMEOUT
            )
        finally:
            channel.close()
        assert answer.status == health_pb2.HealthCheckResponse.SERVING, process.name
    with client_for(stack) as client:
        client.register(EXAMPLES / "sequential.py")  # a fuzzed definition may have replaced it
        assert client.start("sequential").wait(timeout=60) == "succeeded", dump_logs(stack)


# -- calling a method -----------------------------------------------------------------------


@dataclass(frozen=True)
class Method:
    path: str
    request: type[Message]
    response: type[Message]
    # "uu", "us" (server stream), "su" (client stream) or "ss" (both)
    kind: str = "uu"


def service_methods(module: Any, service: str, *, skip: tuple[str, ...] = ()) -> list[Method]:
    """Every method of a service, read from its descriptor (a new RPC is fuzzed at once)."""
    descriptor = module.DESCRIPTOR.services_by_name[service]
    return [
        Method(
            f"/{descriptor.full_name}/{m.name}",
            _CLASSES[m.input_type.full_name],
            _CLASSES[m.output_type.full_name],
            ("s" if m.client_streaming else "u") + ("s" if m.server_streaming else "u"),
        )
        for m in descriptor.methods
        if m.name not in skip
    ]


SCHEDULER = service_methods(scheduler_pb2, "SchedulerService")
SIGNAL = service_methods(scheduler_pb2, "SignalService")
WORK = service_methods(scheduler_pb2, "WorkService")
STORE = service_methods(store_pb2, "StoreService")
BLOB = service_methods(blob_pb2, "BlobService")
# Watch streams status changes until the caller cancels: it has no end to wait for.
HEALTH = service_methods(health_pb2, "Health", skip=("Watch",))

# Codes that would break the property: an exception escaped a servicer (UNKNOWN), a server
# is gone (UNAVAILABLE), or a call hung (DEADLINE_EXCEEDED).
FORBIDDEN = {
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
}


def _request_bytes(method: Method) -> st.SearchStrategy[bytes]:
    """Random bytes (1 in 5), or a random valid message of the method's request type."""
    valid = messages(method.request).map(_serialize)
    return st.one_of(st.binary(min_size=1, max_size=256), valid, valid, valid, valid)


def _call(channel: grpc.Channel, method: Method, requests: list[bytes]) -> list[bytes]:
    """Sends raw request bytes, returns the raw responses; a status raises RpcError."""
    decode: Callable[[bytes], bytes] = bytes
    if method.kind == "uu":
        return [
            channel.unary_unary(method.path, response_deserializer=decode)(
                requests[0], timeout=CALL_TIMEOUT
            )
        ]
    if method.kind == "us":
        return list(
            channel.unary_stream(method.path, response_deserializer=decode)(
                requests[0], timeout=CALL_TIMEOUT
            )
        )
    if method.kind == "su":
        return [
            channel.stream_unary(method.path, response_deserializer=decode)(
                iter(requests), timeout=CALL_TIMEOUT
            )
        ]
    return list(
        channel.stream_stream(method.path, response_deserializer=decode)(
            iter(requests), timeout=CALL_TIMEOUT
        )
    )


def check_answer(
    method: Method, requests: list[bytes], call: Callable[[], list[bytes]], seen: Counter[str]
) -> None:
    try:
        responses = call()
    except grpc.RpcError as err:
        code, details = err.code(), err.details() or ""
        assert code not in FORBIDDEN, (method.path, requests, code, details)
        assert "Traceback" not in details, (method.path, details)
        parsed = "deserializ" not in details.lower()
        seen[f"{method.path} {code.name}{'' if parsed else ' (unparsed)'}"] += 1
        return
    seen[f"{method.path} OK"] += 1
    for raw in responses:
        method.response.FromString(raw)  # a valid response message


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


# A work stream's first message: a hello the scheduler accepts, with random fields.
HELLOS = st.builds(
    lambda worker_id, queues, concurrency: scheduler_pb2.WorkRequest(
        hello=scheduler_pb2.WorkerHello(
            worker_id=worker_id or "fuzz-worker",
            queues=queues or ["fuzz_queue"],
            concurrency=concurrency,
        )
    ),
    TEXT,
    st.lists(TEXT, max_size=3),
    st.integers(0, 2**32 - 1),
).map(_serialize)


def fuzz_service(stack: LocalStack, address: str, methods: list[Method], token: bool) -> None:
    channel = (
        open_channel(address, stack.options.token) if token else grpc.insecure_channel(address)
    )
    seen: Counter[str] = Counter()

    @FUZZ_SETTINGS
    @given(data=st.data())
    def one_call(data: st.DataObject) -> None:
        method = data.draw(st.sampled_from(methods), label="method")
        if method.kind in ("uu", "us"):
            requests = [data.draw(_request_bytes(method), label="request")]
        elif method.kind == "su":
            requests = data.draw(st.lists(_request_bytes(method), min_size=1, max_size=4))
        else:  # a work stream: mostly a hello the scheduler accepts, then random messages
            first = data.draw(st.one_of(_request_bytes(method), HELLOS, HELLOS), label="first")
            rest = st.lists(messages(method.request).map(_serialize), max_size=4)
            requests = [first, *data.draw(rest, label="then")]
        check_answer(method, requests, lambda: _call(channel, method, requests), seen)

    try:
        one_call()
    finally:
        channel.close()
    print(f"answers from {address}:", *sorted(seen.items()), sep="\n  ")  # shown with -s
    # The fuzzer got past parsing into every method's handler, not just into gRPC's decoder.
    reached = {
        key.split(" ")[0]
        for key in seen
        if not key.endswith("(unparsed)") and "UNAUTHENTICATED" not in key
    }
    assert reached == {m.path for m in methods}, sorted(seen.items())
    assert_stack_healthy(stack)


def test_fuzz_scheduler_service(stack: LocalStack) -> None:
    fuzz_service(stack, stack.scheduler_addresses[0], SCHEDULER, token=True)


def test_fuzz_signal_service(stack: LocalStack) -> None:
    fuzz_service(stack, stack.scheduler_addresses[-1], SIGNAL, token=True)


def test_fuzz_work_service(stack: LocalStack) -> None:
    fuzz_service(stack, stack.scheduler_addresses[0], WORK, token=True)


def test_fuzz_store_service(stack: LocalStack) -> None:
    assert stack.store is not None
    fuzz_service(stack, stack.store.address, STORE, token=True)


def test_fuzz_blob_service(stack: LocalStack) -> None:
    assert stack.store is not None
    fuzz_service(stack, stack.store.address, BLOB, token=True)


def test_fuzz_health_of_every_process(stack: LocalStack) -> None:
    assert stack.store is not None
    for address in [stack.store.address, *stack.scheduler_addresses]:
        fuzz_service(stack, address, HEALTH, token=True)
    fuzz_service(stack, stack.workers[0].address, HEALTH, token=True)


def test_fuzz_without_the_token_is_refused_everywhere(stack: LocalStack) -> None:
    """Random requests without the token: UNAUTHENTICATED before any parsing or work."""
    assert stack.store is not None
    targets = [(stack.scheduler_addresses[0], m) for m in SCHEDULER + SIGNAL + WORK] + [
        (stack.store.address, m) for m in STORE + BLOB
    ]
    channels = {address: grpc.insecure_channel(address) for address, _ in targets}

    @settings(FUZZ_SETTINGS, max_examples=100)
    @given(data=st.data())
    def one_call(data: st.DataObject) -> None:
        address, method = data.draw(st.sampled_from(targets), label="method")
        request = data.draw(_request_bytes(method), label="request")
        with pytest.raises(grpc.RpcError) as caught:
            _call(channels[address], method, [request])
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED, method.path

    try:
        one_call()
    finally:
        for channel in channels.values():
            channel.close()
    assert_stack_healthy(stack)
