"""Values in and out of the typed envelope: native BSON where MongoDB holds the value as it is,
a language-neutral form for numpy arrays, cloudpickle for everything else, a clear error for
what cannot be serialized."""

from __future__ import annotations

import datetime
import subprocess
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import bson
import numpy as np
import pytest

from lightflow._codec import (
    ValueDecodingError,
    ValueEncodingError,
    as_wrapper,
    decode_value,
    encode_document,
    encode_value,
    unwrap,
    wrap,
)
from lightflow._errors import LightflowError
from lightflow._wire.documents import WRAPPER_KEY
from lightflow._wire.encodings import ENCODING_BSON, ENCODING_CLOUDPICKLE, ENCODING_NDARRAY
from lightflow.v1 import common_pb2


@dataclass
class Point:
    x: int
    y: float


def roundtrip(value: object) -> object:
    return decode_value(encode_value(value))


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -(2**63),
        2**63 - 1,
        1.5,
        float("inf"),
        "",
        "héllo ✓",
        b"\x00\xffbytes",
        datetime.datetime(2024, 5, 17, 12, 30, 45, 123000),
        [],
        {},
        [1, "two", None, [3.0, [b"x"]]],
        {"a": {"b": {"c": [1, 2, {"d": None}]}}, "e": "f"},
    ],
)
def test_native_values_travel_as_bson_and_round_trip(value: object) -> None:
    payload = encode_value(value)

    assert payload.encoding == ENCODING_BSON
    assert bson.decode(payload.data) == {"v": value}  # readable from any language
    result = roundtrip(value)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize(
    "value",
    [
        (1, 2, "three"),
        {1, 2, 3},
        frozenset({"a"}),
        2**63,  # beyond BSON's int64
        -(2**63) - 1,
        Point(1, 2.5),
        OrderedDict([("b", 1), ("a", 2)]),
        {1: "int key"},
        {"a.b": 1},  # a dotted key could not address it
        {"$set": 1},
        {WRAPPER_KEY: "x", "data": b""},  # would read back as a wrapper
        [1, (2, 3)],
        1 + 2j,
        np.float64(1.5),
    ],
)
def test_other_values_are_pickled_and_round_trip_with_their_type(value: object) -> None:
    payload = encode_value(value)

    assert payload.encoding == ENCODING_CLOUDPICKLE
    result = roundtrip(value)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize(
    "dtype",
    [
        "int8",
        "int64",
        "uint16",
        "float32",
        "float64",
        ">f8",  # big-endian
        "complex128",
        "bool",
        "<U5",
        "S3",
        "datetime64[ns]",
        "timedelta64[s]",
    ],
)
def test_numpy_arrays_travel_language_neutral_and_round_trip_intact(dtype: str) -> None:
    array = (np.arange(24).reshape(2, 3, 4) % 3).astype(dtype)

    payload = encode_value(array)
    result = roundtrip(array)

    assert payload.encoding == ENCODING_NDARRAY
    fields = bson.decode(payload.data)  # what another language reads
    assert fields == {"dtype": array.dtype.str, "shape": [2, 3, 4], "data": array.tobytes()}
    assert isinstance(result, np.ndarray)
    assert result.dtype == array.dtype
    assert result.shape == array.shape
    assert result.flags.writeable
    np.testing.assert_array_equal(result, array)


@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (5,), (2, 1, 2)])
def test_numpy_arrays_of_any_shape_round_trip(shape: tuple[int, ...]) -> None:
    array = np.full(shape, 7, dtype="int32")

    result: Any = roundtrip(array)

    assert encode_value(array).encoding == ENCODING_NDARRAY
    assert result.shape == shape
    np.testing.assert_array_equal(result, array)


def test_non_contiguous_arrays_are_sent_in_c_order() -> None:
    strided = np.arange(20, dtype="float64").reshape(4, 5)[:, ::2]
    fortran = np.asfortranarray(np.arange(6).reshape(2, 3))

    for array in (strided, fortran):
        payload = encode_value(array)
        assert payload.encoding == ENCODING_NDARRAY
        assert bson.decode(payload.data)["data"] == np.ascontiguousarray(array).tobytes()
        np.testing.assert_array_equal(roundtrip(array), array)


@pytest.mark.parametrize(
    "array",
    [
        np.array([1, "x", None], dtype=object),
        np.array([(1, 2.0), (3, 4.0)], dtype=[("a", "i4"), ("b", "f8")]),
        np.ma.masked_array([1, 2, 3], mask=[False, True, False]),
    ],
    ids=["object", "structured", "masked"],
)
def test_arrays_the_neutral_form_cannot_carry_are_pickled(array: Any) -> None:
    payload = encode_value(array)
    result: Any = roundtrip(array)

    assert payload.encoding == ENCODING_CLOUDPICKLE
    assert type(result) is type(array)
    assert result.dtype == array.dtype
    assert result.tolist() == array.tolist()


def test_ndarray_wrapper_holds_the_fields_beside_the_encoding() -> None:
    array = np.arange(6, dtype="<f8").reshape(2, 3)
    payload = encode_value(array)

    stored = wrap(payload.encoding, payload.data)

    assert stored == {
        WRAPPER_KEY: ENCODING_NDARRAY,
        "dtype": "<f8",
        "shape": [2, 3],
        "data": array.tobytes(),
    }
    assert as_wrapper(stored) == (ENCODING_NDARRAY, payload.data)
    np.testing.assert_array_equal(unwrap(stored), array)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"shape": [1], "data": b"\0" * 8}, "dtype"),
        ({"dtype": "<f8", "shape": "1", "data": b"\0" * 8}, "shape"),
        ({"dtype": "<f8", "shape": [-1], "data": b"\0" * 8}, "shape"),
        ({"dtype": "<f8", "shape": [1], "data": "text"}, "data"),
        ({"dtype": "<f8", "shape": [2], "data": b"\0" * 8}, "holds 8 bytes instead of 16"),
        ({"dtype": "|O", "shape": [1], "data": b"\0" * 8}, "cannot hold"),
        ({"dtype": "not a dtype", "shape": [1], "data": b"\0" * 8}, "corrupt"),
    ],
)
def test_invalid_ndarray_payloads_raise_a_clear_error(fields: dict[str, Any], problem: str) -> None:
    payload = common_pb2.Payload(encoding=ENCODING_NDARRAY, data=bson.encode(fields))

    with pytest.raises(ValueDecodingError, match=problem):
        decode_value(payload)


def test_numpy_is_imported_only_to_decode_an_array() -> None:
    script = """
import sys
sys.modules["numpy"] = None  # as if numpy were not installed
from lightflow._codec import decode_value, encode_value, ValueDecodingError
from lightflow.v1 import common_pb2
assert decode_value(encode_value({"a": [1, 2]})) == {"a": [1, 2]}
payload = common_pb2.Payload(encoding="application/x-ndarray", data=bytes.fromhex(sys.argv[1]))
try:
    decode_value(payload)
except ValueDecodingError as err:
    print(err)
"""
    payload = encode_value(np.zeros((2, 2)))

    result = subprocess.run(
        [sys.executable, "-c", script, payload.data.hex()],
        capture_output=True,
        text=True,
        check=True,
    )

    assert "needs numpy" in result.stdout
    assert "shape [2, 2]" in result.stdout


def test_locally_defined_class_is_pickled_by_value() -> None:
    class Local:
        def __init__(self, value: int) -> None:
            self.value = value

    result = roundtrip(Local(7))

    assert type(result).__name__ == "Local"
    assert result.value == 7  # type: ignore[attr-defined]


def test_unserializable_value_raises_a_clear_error() -> None:
    with pytest.raises(ValueEncodingError, match=r"_thread\.lock|lock") as info:
        encode_value(threading.Lock())

    assert isinstance(info.value, LightflowError)
    assert "cannot serialize a value of type" in str(info.value)
    assert info.value.__cause__ is not None


def test_unserializable_value_nested_in_a_list_names_the_problem() -> None:
    with pytest.raises(ValueEncodingError, match="list"):
        encode_value([1, threading.Lock()])


def test_datetimes_keep_milliseconds_as_in_mongodb() -> None:
    value = datetime.datetime(2024, 1, 2, 3, 4, 5, 678901)

    assert roundtrip(value) == value.replace(microsecond=678000)


def test_wrapped_values_nested_in_bson_are_decoded() -> None:
    # What the store returns for "a" after a numpy array was set at "a.b".
    inner = encode_value(np.arange(3))
    stored = {"b": wrap(inner.encoding, inner.data), "c": [wrap(inner.encoding, inner.data), 1]}
    payload = common_pb2.Payload(encoding=ENCODING_BSON, data=bson.encode({"v": stored}))

    result: Any = decode_value(payload)

    np.testing.assert_array_equal(result["b"], np.arange(3))
    np.testing.assert_array_equal(result["c"][0], np.arange(3))
    assert result["c"][1] == 1


def test_empty_payload_is_none() -> None:
    assert decode_value(common_pb2.Payload()) is None


@pytest.mark.parametrize(
    "payload",
    [
        common_pb2.Payload(encoding="application/x-unknown", data=b"x"),
        common_pb2.Payload(encoding=ENCODING_BSON, data=b"not bson"),
        common_pb2.Payload(encoding=ENCODING_BSON, data=bson.encode({"w": 1})),
        common_pb2.Payload(encoding=ENCODING_CLOUDPICKLE, data=b"not a pickle"),
    ],
)
def test_undecodable_payloads_raise_a_clear_error(payload: common_pb2.Payload) -> None:
    with pytest.raises(ValueDecodingError):
        decode_value(payload)


def test_encode_document_keeps_native_values_and_wraps_others() -> None:
    document = bson.decode(encode_document({"n": 1, "arr": np.arange(2), "t": (1, 2)}))

    assert document["n"] == 1
    assert document["arr"][WRAPPER_KEY] == ENCODING_NDARRAY
    assert document["arr"]["shape"] == [2]
    assert document["t"][WRAPPER_KEY] == ENCODING_CLOUDPICKLE


def test_encode_document_rejects_bad_field_names() -> None:
    with pytest.raises(ValueEncodingError, match=r"a\.b"):
        encode_document({"a.b": 1})
