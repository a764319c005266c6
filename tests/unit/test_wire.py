"""The facts of the wire (lightflow._wire), pinned: each is what another process, an older
release or another language's client expects byte for byte (docs/protocol.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import bson
import pytest

from lightflow._wire import blobs, documents, encodings, headers, pipe, status
from lightflow.v1 import common_pb2, scheduler_pb2


def test_encoding_names() -> None:
    assert encodings.ENCODING_BSON == "application/bson"
    assert encodings.BSON_FIELD == "v"
    assert encodings.ENCODING_NDARRAY == "application/x-ndarray"
    assert encodings.ENCODING_CLOUDPICKLE == "python/cloudpickle"
    assert encodings.ENCODING_FRAMES == "python/cloudpickle-frames"
    assert encodings.ENCODING_BLOB == "lightflow/blob"
    assert encodings.ENCODING_UNSEALED == "lightflow/unsealed"
    assert encodings.ENCODING_UPLOADED == "lightflow/uploaded"


def test_an_uploaded_reference_round_trips() -> None:
    data = encodings.uploaded_reference("b" * 32, encodings.ENCODING_BSON)
    assert bson.decode(data) == {"blob": "b" * 32, "encoding": "application/bson"}
    assert encodings.read_uploaded_reference(data) == ("b" * 32, "application/bson")


@pytest.mark.parametrize("data", [b"", b"junk", bson.encode({"blob": "b"})])
def test_a_malformed_uploaded_reference_is_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="malformed"):
        encodings.read_uploaded_reference(data)


def test_the_stored_value_layout() -> None:
    assert documents.WRAPPER_KEY == "__lightflow_payload__"
    assert documents.WRAPPER_DATA_KEY == "data"
    assert sorted(documents.STRUCTURED_ENCODINGS) == ["application/x-ndarray"]
    assert (documents.MAX_KEY_CHARS, documents.MAX_KEY_SEGMENTS) == (1024, 100)


def test_headers() -> None:
    assert headers.TOKEN_HEADER == "authorization"
    assert headers.bearer("t0ken") == "Bearer t0ken"
    assert headers.FAIL_IF_MISSING == ("lightflow-missing-document", "fail")
    assert headers.CREATE_IF_MISSING == ("lightflow-missing-document", "create")


def test_the_blob_folder_layout() -> None:
    folder = Path("/blobs")
    assert blobs.FOLDER_MARKER == ".lightflow-blobs"
    assert blobs.blob_path(folder, "run", "b" * 32) == Path(f"/blobs/run/{'b' * 32}")
    assert blobs.partial_path(folder, "run", "b" * 32) == Path(f"/blobs/run/{'b' * 32}.partial")
    assert (blobs.FOLDER_MODE, blobs.FILE_MODE) == (0o700, 0o600)
    assert blobs.CHUNK_BYTES == 1024 * 1024
    assert blobs.is_blob_id(blobs.new_blob_id())
    assert not blobs.is_blob_id("../x")


def test_status_words_are_the_enum_names_without_their_prefix() -> None:
    assert status.run_status_word(common_pb2.RUN_STATUS_STOPPING) == "stopping"
    assert status.dag_status_word(common_pb2.DAG_STATUS_SUCCEEDED) == "succeeded"
    assert status.task_status_word(common_pb2.TASK_STATUS_CANCELLED) == "cancelled"
    assert status.task_status_word(common_pb2.TASK_STATUS_UNSPECIFIED) == "unspecified"
    word = status.event_type_word(scheduler_pb2.RUN_EVENT_TYPE_TASK_LEASE_EXPIRED)
    assert word == "task_lease_expired"
    with pytest.raises(ValueError, match="TaskStatus has no value 99"):
        status.task_status_word(99)


@pytest.mark.parametrize(
    ("enum", "prefix", "to_word", "to_value"),
    [
        (common_pb2.RunStatus, "RUN_STATUS_", status.run_status_word, status.run_status),
        (common_pb2.DagStatus, "DAG_STATUS_", status.dag_status_word, status.dag_status),
        (common_pb2.TaskStatus, "TASK_STATUS_", status.task_status_word, status.task_status),
    ],
)
def test_every_status_and_its_word_convert_both_ways(
    enum: Any, prefix: str, to_word: Callable[[int], str], to_value: Callable[[str], int]
) -> None:
    for name, value in enum.items():
        assert to_word(value) == name.removeprefix(prefix).lower()
        assert to_value(to_word(value)) == value
    assert to_value("no such status") == 0


def test_the_statuses_a_run_ends_with() -> None:
    assert sorted(status.FINAL_RUN_STATUSES) == ["aborted", "failed", "stopped", "succeeded"]


@pytest.mark.parametrize(
    ("message", "raw"),
    [
        (pipe.OutputLine("stderr", "h\u00e9llo"), b"O2h\xc3\xa9llo"),
        (pipe.Blocked(), b"B"),
        (pipe.Unblocked(), b"U"),
        (pipe.StoreUsed(), b"D"),
        (pipe.Result(b"result", "trace"), b"R\0\0\0\x05traceresult"),
    ],
)
def test_a_task_process_message_on_the_pipe(message: pipe.ChildMessage, raw: bytes) -> None:
    assert pipe.encode_child(message) == raw
    assert pipe.decode_child(raw) == message


def test_a_worker_message_on_the_pipe() -> None:
    lease = pipe.RunLease(b"lease", b"code", "store:1", "host", "w1", "cred", "wf.py", b"text")
    raw = pipe.encode_parent(lease)
    assert raw.startswith(b"L\0\0\0\x05lease\0\0\0\x04code")
    assert pipe.decode_parent(raw) == lease
    assert pipe.encode_parent(pipe.Stop()) == b"S"
    assert pipe.decode_parent(b"S") == pipe.Stop()


@pytest.mark.parametrize("raw", [b"", b"Z", b"B!", b"O9x", b"R\0\0\0\x09short"])
def test_a_message_not_of_the_pipe_is_refused(raw: bytes) -> None:
    with pytest.raises(pipe.PipeProtocolError):
        pipe.decode_child(raw)
