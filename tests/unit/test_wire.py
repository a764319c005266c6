"""The facts of the wire (lightflow._wire), pinned: each is what another process, an older
release or another language's client expects byte for byte (docs/protocol.md)."""

from __future__ import annotations

from pathlib import Path

import bson
import pytest

from lightflow._wire import blobs, documents, encodings, headers


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
    assert headers.REQUEST_ID_HEADER == "lightflow-request-id"
    assert headers.FAIL_IF_MISSING == ("lightflow-missing-document", "fail")


def test_the_blob_folder_layout() -> None:
    folder = Path("/blobs")
    assert blobs.FOLDER_MARKER == ".lightflow-blobs"
    assert blobs.blob_path(folder, "run", "b" * 32) == Path(f"/blobs/run/{'b' * 32}")
    assert blobs.partial_path(folder, "run", "b" * 32) == Path(f"/blobs/run/{'b' * 32}.partial")
    assert (blobs.FOLDER_MODE, blobs.FILE_MODE) == (0o700, 0o600)
    assert blobs.CHUNK_BYTES == 1024 * 1024
    assert blobs.is_blob_id(blobs.new_blob_id())
    assert not blobs.is_blob_id("../x")
