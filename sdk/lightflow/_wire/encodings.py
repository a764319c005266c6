"""The encodings of a `Payload{encoding, data}` (common.proto), and the layout of their data
(docs/protocol.md describes them for other languages).

User data is never the protocol: it travels in a Payload, and `encoding` says how to read
`data`. Encodings other than these are kept and passed on as opaque bytes."""

from __future__ import annotations

import bson
from bson.errors import BSONError

# A value MongoDB holds natively: the BSON document {BSON_FIELD: <value>}.
ENCODING_BSON = "application/bson"
BSON_FIELD = "v"
# A numpy array of plain elements: the BSON document
# {"dtype": "<f8", "shape": [2, 3], "data": Binary(raw C-order bytes)}.
ENCODING_NDARRAY = "application/x-ndarray"
# A pickle made by cloudpickle (callbacks by value, protocol 5): a store value no other
# encoding holds, and a task's code.
ENCODING_CLOUDPICKLE = "python/cloudpickle"
# Task data, pickled once with its large buffers out of band: u32 buffer count, u64 header
# size, u64 size per buffer, the pickle header, then each buffer's bytes (lightflow._taskdata).
ENCODING_FRAMES = "python/cloudpickle-frames"
# Task data in a blob of the run: `data` is the blob id (utf-8); the blob holds
# ENCODING_FRAMES bytes.
ENCODING_BLOB = "lightflow/blob"
# Put by a scheduler in place of input data whose seal did not hold: the task fails on it.
ENCODING_UNSEALED = "lightflow/unsealed"
# A store value sent ahead on the blob stream (a write too large for one message): `data` is
# the BSON document {"blob": <blob id>, "encoding": <the value's encoding>}; the blob holds
# the value's data. The store removes the blob once the value is stored.
ENCODING_UPLOADED = "lightflow/uploaded"


def uploaded_reference(blob_id: str, encoding: str) -> bytes:
    """The `data` of an ENCODING_UPLOADED payload: a value of `encoding` in blob `blob_id`."""
    return bson.encode({"blob": blob_id, "encoding": encoding})


def read_uploaded_reference(data: bytes) -> tuple[str, str]:
    """(blob id, encoding) of an ENCODING_UPLOADED payload's `data`; ValueError when it is
    not such a reference."""
    try:
        reference = bson.decode(data)
        return str(reference["blob"]), str(reference["encoding"])
    except (BSONError, KeyError, ValueError) as err:
        raise ValueError(f"a malformed {ENCODING_UPLOADED} reference") from err
