"""Task values in a typed envelope (`Payload{encoding, data}`).

Values MongoDB holds as they are travel as BSON, so the store keeps them natively and anyone
(the mongo shell, other languages) reads them. numpy arrays of plain element types travel as
"application/x-ndarray" (dtype string, shape, raw C-order bytes), which any language can read
too. Everything else is pickled by value with cloudpickle; the store keeps those bytes in a
typed wrapper sub-document and never unpickles them. Python types round-trip exactly: only the
exact built-in types go native (a tuple, a numpy scalar or an OrderedDict is pickled, so it
comes back as what it was). numpy is not a dependency: it is imported only to decode an array.

BSON datetimes hold milliseconds in UTC: a datetime comes back naive (UTC) with its
microseconds truncated to milliseconds, as with MongoDB itself.
"""

from __future__ import annotations

import datetime
import math
import sys
from collections.abc import Mapping
from typing import Any

import bson
import cloudpickle
from bson.binary import Binary
from bson.errors import BSONError
from bson.int64 import Int64

from lightflow._errors import LightflowError
from lightflow._wire.documents import STRUCTURED_ENCODINGS, WRAPPER_DATA_KEY, WRAPPER_KEY
from lightflow._wire.encodings import (
    BSON_FIELD,
    ENCODING_BSON,
    ENCODING_CLOUDPICKLE,
    ENCODING_NDARRAY,
)
from lightflow.v1 import common_pb2

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_PICKLE_PROTOCOL = 5
_SCALAR_TYPES = (type(None), bool, float, str, bytes, datetime.datetime)
# numpy dtype kinds the ndarray encoding carries: bool, ints, floats, complex, timedelta,
# datetime, bytes, unicode (UCS-4), void.
_NDARRAY_KINDS = frozenset("biufcmMSUV")


class ValueEncodingError(LightflowError, ValueError):
    """A value cannot be serialized for the store or the wire."""


class ValueDecodingError(LightflowError, ValueError):
    """A payload cannot be turned back into a value (unknown encoding, corrupt data,
    a pickle referring to a module this process cannot import)."""


def is_native(value: object) -> bool:
    """Whether MongoDB holds `value` as it is and gives back the same Python value."""
    if type(value) in _SCALAR_TYPES:
        return True
    if type(value) is int:
        return _INT64_MIN <= value <= _INT64_MAX
    if type(value) is list:
        return all(is_native(item) for item in value)
    if type(value) is dict:
        return all(_is_native_field_name(name) and is_native(item) for name, item in value.items())
    return False


def _is_native_field_name(name: object) -> bool:
    # Names a dotted key could not address, or that MongoDB refuses in an update, are pickled
    # with their dict; so is a dict that would read back as a wrapper.
    return (
        type(name) is str
        and name != ""
        and "." not in name
        and "\x00" not in name
        and not name.startswith("$")
        and name != WRAPPER_KEY
    )


def encode_value(obj: object) -> common_pb2.Payload:
    """Encode a value: BSON when MongoDB holds it natively, the ndarray encoding for a numpy
    array of plain elements, cloudpickle otherwise.

    Raises ValueEncodingError, naming the type, when the value cannot be serialized."""
    ndarray = _encode_ndarray(obj)
    if ndarray is not None:
        return ndarray
    try:
        native = is_native(obj)
    except RecursionError:
        native = False
    if native:
        try:
            return common_pb2.Payload(encoding=ENCODING_BSON, data=bson.encode({BSON_FIELD: obj}))
        except (BSONError, RecursionError, ValueError):
            pass  # e.g. a string with lone surrogates: pickle keeps it exactly
    try:
        data = cloudpickle.dumps(obj, protocol=_PICKLE_PROTOCOL)
    except Exception as err:  # pickling runs arbitrary __reduce__ code; any failure is the value's
        raise ValueEncodingError(
            f"cannot serialize a value of type {_type_name(obj)}: {err}"
        ) from err
    return common_pb2.Payload(encoding=ENCODING_CLOUDPICKLE, data=data)


def decode_value(payload: common_pb2.Payload) -> object:
    """Decode a payload made by `encode_value` (or by another language, for BSON).

    Wrapped non-BSON values nested inside a BSON value (a numpy array stored under
    "a.b", read back through "a") are decoded too. An empty encoding means no value: None."""
    encoding = payload.encoding
    if encoding == "":
        return None
    if encoding == ENCODING_BSON:
        try:
            document = bson.decode(payload.data)
        except (BSONError, ValueError) as err:
            raise ValueDecodingError(f"corrupt BSON payload: {err}") from err
        if BSON_FIELD not in document:
            raise ValueDecodingError(f"BSON payload has no {BSON_FIELD!r} field")
        return unwrap(document[BSON_FIELD])
    if encoding == ENCODING_NDARRAY:
        return _decode_ndarray(payload.data)
    if encoding == ENCODING_CLOUDPICKLE:
        try:
            return cloudpickle.loads(payload.data)
        except Exception as err:  # unpickling imports modules and runs constructors
            raise ValueDecodingError(f"cannot unpickle a stored value: {err}") from err
    raise ValueDecodingError(f"unknown payload encoding {encoding!r}")


def wrap(encoding: str, data: bytes) -> dict[str, Any]:
    """The sub-document the store keeps for a non-BSON payload: the fields of a structured
    encoding's BSON document beside WRAPPER_KEY, or the opaque bytes under WRAPPER_DATA_KEY.

    Raises ValueDecodingError when a structured payload is not a valid BSON document."""
    if encoding in STRUCTURED_ENCODINGS:
        try:
            fields = bson.decode(data)
        except (BSONError, ValueError) as err:
            raise ValueDecodingError(f"corrupt {encoding} payload: {err}") from err
        if WRAPPER_KEY in fields:
            raise ValueDecodingError(f"a {encoding} payload may not hold {WRAPPER_KEY!r}")
        if encoding == ENCODING_NDARRAY:
            _check_ndarray_fields(fields)
        return {WRAPPER_KEY: encoding, **fields}
    return {WRAPPER_KEY: encoding, WRAPPER_DATA_KEY: Binary(data)}


def as_wrapper(value: object) -> tuple[str, bytes] | None:
    """(encoding, data) of the payload a wrapper sub-document holds, else None (for any other
    value, and for a reference to a value kept outside the document)."""
    if type(value) is not dict or not isinstance(value.get(WRAPPER_KEY), str):
        return None
    encoding: str = value[WRAPPER_KEY]
    if encoding in STRUCTURED_ENCODINGS:
        if WRAPPER_DATA_KEY not in value:
            return None
        fields = {name: item for name, item in value.items() if name != WRAPPER_KEY}
        return encoding, bson.encode(fields)
    data = value.get(WRAPPER_DATA_KEY)
    if len(value) == 2 and isinstance(data, bytes):  # Binary subclasses bytes
        return encoding, bytes(data)
    return None


def unwrap(value: object) -> object:
    """A BSON-decoded value as the Python value it was: every wrapper sub-document inside is
    replaced by its decoded value."""
    if type(value) is dict and value.get(WRAPPER_KEY) == ENCODING_NDARRAY:
        return _ndarray_from_fields(value)  # without a round trip through BSON bytes
    wrapped = as_wrapper(value)
    if wrapped is not None:
        return decode_value(common_pb2.Payload(encoding=wrapped[0], data=wrapped[1]))
    if type(value) is Int64:  # BSON's int64 decodes as an int subclass; give back the int
        return int(value)
    if type(value) is list:
        return [unwrap(item) for item in value]
    if type(value) is dict:
        return {name: unwrap(item) for name, item in value.items()}
    return value


def encode_document(values: Mapping[str, object]) -> bytes:
    """A BSON document holding each value natively, or wrapped when it is not BSON-native
    (the initial content of a run's store document)."""
    document: dict[str, Any] = {}
    for name, value in values.items():
        if not _is_native_field_name(name):
            raise ValueEncodingError(f"invalid field name {name!r} in a store document")
        payload = encode_value(value)
        document[name] = (
            value if payload.encoding == ENCODING_BSON else wrap(payload.encoding, payload.data)
        )
    return bson.encode(document)


def _encode_ndarray(obj: object) -> common_pb2.Payload | None:
    """The ndarray payload of a numpy array of plain elements; None for anything else (object,
    structured or subclassed arrays are pickled: the neutral form would lose what they are)."""
    numpy = sys.modules.get("numpy")  # an array exists only if numpy was imported
    if numpy is None or type(obj) is not numpy.ndarray:
        return None
    array: Any = obj
    dtype = array.dtype
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        return None
    if dtype.kind not in _NDARRAY_KINDS or numpy.dtype(dtype.str) != dtype:
        return None
    fields = {
        "dtype": dtype.str,
        "shape": [int(size) for size in array.shape],
        "data": Binary(array.tobytes(order="C")),
    }
    return common_pb2.Payload(encoding=ENCODING_NDARRAY, data=bson.encode(fields))


def _check_ndarray_fields(fields: Mapping[str, Any]) -> None:
    dtype, shape, data = fields.get("dtype"), fields.get("shape"), fields.get("data")
    if not isinstance(dtype, str) or not dtype:
        raise ValueDecodingError("an ndarray payload needs a 'dtype' string")
    if not isinstance(shape, list) or not all(
        type(size) in (int, Int64) and size >= 0 for size in shape
    ):
        raise ValueDecodingError("an ndarray payload needs a 'shape' list of sizes")
    if not isinstance(data, bytes):
        raise ValueDecodingError("an ndarray payload needs binary 'data'")


def _decode_ndarray(data: bytes) -> object:
    try:
        fields = bson.decode(data)
    except (BSONError, ValueError) as err:
        raise ValueDecodingError(f"corrupt {ENCODING_NDARRAY} payload: {err}") from err
    return _ndarray_from_fields(fields)


def _ndarray_from_fields(fields: Mapping[str, Any]) -> object:
    _check_ndarray_fields(fields)
    try:
        import numpy  # noqa: PLC0415 - numpy is optional: only arrays need it
    except ImportError as err:
        raise ValueDecodingError(
            f"a stored numpy array ({fields['dtype']}, shape {fields['shape']}) needs numpy "
            "to be read: pip install numpy"
        ) from err
    shape = [int(size) for size in fields["shape"]]
    try:
        dtype = numpy.dtype(fields["dtype"])
        if dtype.hasobject:
            raise ValueDecodingError(f"an ndarray payload cannot hold {fields['dtype']!r}")
        raw = fields["data"]
        if len(raw) != math.prod(shape) * dtype.itemsize:
            raise ValueDecodingError(
                f"an ndarray payload of {fields['dtype']} and shape {shape} holds "
                f"{len(raw)} bytes instead of {math.prod(shape) * dtype.itemsize}"
            )
        # A bytearray copy: the array must be writable, as an unpickled one is.
        return numpy.frombuffer(bytearray(raw), dtype=dtype).reshape(shape)
    except (TypeError, ValueError) as err:
        if isinstance(err, ValueDecodingError):
            raise
        raise ValueDecodingError(f"corrupt {ENCODING_NDARRAY} payload: {err}") from err


def _type_name(obj: object) -> str:
    kind = type(obj)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"
