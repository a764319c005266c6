"""The real store service, as a separate process, through the SDK's TaskStore.

Every test taking `client` or `store_service` runs on the embedded store, and on MongoDB too
when LIGHTFLOW_TEST_MONGODB_URI is set."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bson
import grpc
import numpy as np
import pytest

from lightflow._errors import LightflowError
from lightflow._store import (
    DataStoreDocumentSection,
    StoreClient,
    StoreConflictError,
    StoreError,
    StoreInvalidArgumentError,
    StoreNotFoundError,
    StoreValueError,
    TaskStore,
)
from lightflow_cli._procs import ServiceProcess, start_service

TOKEN = "store-test-token"  # a test-only shared token
MONGODB_URI = os.environ.get("LIGHTFLOW_TEST_MONGODB_URI")
BACKENDS = ["embedded", *(["mongodb"] if MONGODB_URI else [])]
MB = 1024 * 1024


def start_store(tmp_path: Path, *args: str) -> ServiceProcess:
    return start_service(
        "store", "lightflow_store", list(args), log_dir=tmp_path, env={"LIGHTFLOW_TOKEN": TOKEN}
    )


@dataclass
class StoreUnderTest:
    """A store service on one backend, and a look at where its large values live."""

    service: ServiceProcess
    backend: str
    data_dir: Path | None = None
    database: str | None = None

    @property
    def address(self) -> str:
        return self.service.address

    def blob_count(self, run_id: str) -> int:
        """How many large values of the run are kept outside its document."""
        if self.data_dir is not None:
            folder = (
                self.data_dir / "large-values" / hashlib.sha256(run_id.encode()).hexdigest()[:40]
            )
            return len(list(folder.iterdir())) if folder.exists() else 0
        import pymongo

        assert MONGODB_URI is not None
        assert self.database is not None
        mongo: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(MONGODB_URI) as mongo:
            files = mongo[self.database]["runs_blobs.files"]
            return files.count_documents({"metadata.run_id": run_id})

    def stop(self) -> None:
        code = self.service.stop()
        if self.database is not None:
            import pymongo

            mongo: pymongo.MongoClient[dict[str, Any]]
            with pymongo.MongoClient(MONGODB_URI) as mongo:
                mongo.drop_database(self.database)
        assert code == 0, self.service.log_tail()


def start_backend(tmp_path: Path, backend: str, *args: str) -> StoreUnderTest:
    """A store service on `backend` ("embedded": a data folder; "mongodb": a database of its
    own on LIGHTFLOW_TEST_MONGODB_URI, dropped by stop())."""
    if backend == "embedded":
        data_dir = tmp_path / "store"
        service = start_store(tmp_path, "--data-dir", str(data_dir), *args)
        return StoreUnderTest(service, backend, data_dir=data_dir)
    assert MONGODB_URI is not None
    database = f"lightflow_test_{uuid.uuid4().hex[:12]}"
    service = start_store(tmp_path, "--mongodb-uri", MONGODB_URI, "--database", database, *args)
    return StoreUnderTest(service, backend, database=database)


@pytest.fixture(scope="module", params=BACKENDS)
def store_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StoreUnderTest]:
    under_test = start_backend(tmp_path_factory.mktemp("store"), request.param)
    yield under_test
    under_test.stop()


@pytest.fixture
def client(store_service: StoreUnderTest) -> Iterator[StoreClient]:
    with StoreClient(store_service.address, token=TOKEN) as client:
        yield client


def new_run(client: StoreClient, initial: dict[str, Any] | None = None) -> TaskStore:
    run_id = f"run-{uuid.uuid4().hex}"
    client.create_document(run_id, initial)
    return TaskStore(client, run_id)


def test_set_and_get_nested_dotted_keys(client: StoreClient) -> None:
    store = new_run(client)

    store.set("buffer.observable", [1.5, 2.5])
    store.set("buffer.meta.name", "signal")

    assert store.get("buffer.observable") == [1.5, 2.5]
    assert store.get("buffer.meta.name") == "signal"
    assert store.get("buffer") == {"observable": [1.5, 2.5], "meta": {"name": "signal"}}


def test_get_of_a_missing_key_returns_the_default(client: StoreClient) -> None:
    store = new_run(client)
    store.set("a.b", 1)

    assert store.get("missing") is None
    assert store.get("missing", 42) == 42
    assert store.get("a.b.c", "default") == "default"  # through a number
    assert store.get("a.x.y", default=[]) == []


def test_list_elements_are_addressed_by_index(client: StoreClient) -> None:
    store = new_run(client)
    store.set("items", [{"name": "first"}, 2])

    assert store.get("items.0.name") == "first"
    assert store.get("items.1") == 2
    assert store.get("items.5", "none") == "none"


def test_initial_data_of_the_document(client: StoreClient) -> None:
    store = new_run(client, {"threshold": 3, "kernel": np.ones(2)})

    assert store.get("threshold") == 3
    np.testing.assert_array_equal(store.get("kernel"), np.ones(2))


def test_creating_an_existing_document_keeps_it(client: StoreClient) -> None:
    store = new_run(client)
    store.set("kept", True)

    client.create_document(store.run_id, {"kept": False})

    assert store.get("kept") is True


def test_push_creates_the_list(client: StoreClient) -> None:
    store = new_run(client)

    store.push("results.values", 1)
    store.push("results.values", {"two": 2})

    assert store.get("results.values") == [1, {"two": 2}]


def test_extend_appends_in_order(client: StoreClient) -> None:
    store = new_run(client)

    store.extend("numbers", [1, 2])
    store.extend("numbers", iter([3, 4]))
    store.extend("numbers", [])

    assert store.get("numbers") == [1, 2, 3, 4]


def test_push_of_a_nested_list_appends_one_element(client: StoreClient) -> None:
    store = new_run(client)
    store.push("grid", [1, 2])

    store.push("grid", [3, [4, 5]])

    assert store.get("grid") == [[1, 2], [3, [4, 5]]]


def test_numpy_array_round_trips_intact(client: StoreClient) -> None:
    store = new_run(client)
    array = np.random.default_rng(1).normal(size=(64, 32)).astype("float32")

    store.set("image.data", array)
    store.push("frames", np.arange(5, dtype="int16"))
    store.extend("frames", [np.zeros(2, dtype=bool), (1, 2)])

    result = store.get("image.data")
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, array)
    frames = store.get("frames")
    np.testing.assert_array_equal(frames[0], np.arange(5, dtype="int16"))
    assert frames[0].dtype == np.int16
    np.testing.assert_array_equal(frames[1], np.zeros(2, dtype=bool))
    assert frames[2] == (1, 2)
    # Read through a parent: the wrapped array inside comes back as an array.
    np.testing.assert_array_equal(store.get("image")["data"], array)


def test_meta_section_is_separate_from_data(client: StoreClient) -> None:
    store = new_run(client)

    store.set("name", "meta-name", section="meta")
    store.set("name", "data-name")

    assert store.get("name", section="meta") == "meta-name"
    assert store.get("name") == "data-name"
    with pytest.raises(StoreInvalidArgumentError, match="unknown store section"):
        store.get("name", section="other")


def test_delete_removes_a_key(client: StoreClient) -> None:
    store = new_run(client)
    store.set("a", {"b": 1, "c": 2})

    store.delete("a.b")
    store.delete("never.there")

    assert store.get("a") == {"c": 2}
    assert store.get("never") is None


def test_unknown_run_gives_a_clear_error(client: StoreClient) -> None:
    store = TaskStore(client, "run-that-does-not-exist")

    with pytest.raises(StoreNotFoundError, match="'run-that-does-not-exist' has no store document"):
        store.get("a")
    with pytest.raises(StoreNotFoundError):
        store.set("a", 1)
    with pytest.raises(StoreNotFoundError):
        store.push("a", 1)
    with pytest.raises(StoreNotFoundError):
        store.delete("a")
    for operation in (
        lambda: store.extend("a", [1]),
        lambda: store.exists("a"),
        store.list_keys,
        lambda: store.increment("a"),
        store.get_document,
        lambda: client.get_document_bson(store.run_id, section="meta"),
    ):
        with pytest.raises(StoreNotFoundError, match="has no store document"):
            operation()


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "it is empty"),
        ("a..b", "empty segment"),
        (".a", "empty segment"),
        ("a.", "empty segment"),
        ("$x", r"starts with '\$'"),
        ("a.$inc", r"starts with '\$'"),
        ("__lightflow_payload__", "'__lightflow_payload__' is reserved"),
        ("a.__lightflow_payload__", "'__lightflow_payload__' is reserved"),
        ("a.__lightflow_payload__.b", "'__lightflow_payload__' is reserved"),
        ("a\x00b", "NUL"),
    ],
)
def test_invalid_keys_give_a_clear_error_and_change_nothing(
    client: StoreClient, key: str, problem: str
) -> None:
    store = new_run(client)
    store.set("a", {"b": 1})

    operations = [
        lambda: store.set(key, 2),
        lambda: store.push(key, 2),
        lambda: store.extend(key, [2]),
        lambda: store.get(key),
        lambda: store.delete(key),
        lambda: store.exists(key),
        lambda: store.increment(key),
    ]
    if key:  # an empty prefix lists the whole section
        operations.append(lambda: store.list_keys(key))
    for operation in operations:
        with pytest.raises(StoreInvalidArgumentError, match=problem) as info:
            operation()
        assert repr(key) in str(info.value)
        assert store.run_id in str(info.value)

    assert store.get("a") == {"b": 1}


def test_push_onto_a_number_gives_a_clear_error_and_changes_nothing(client: StoreClient) -> None:
    store = new_run(client)
    store.set("counter", 5)

    with pytest.raises(StoreConflictError, match=r"'counter'.*not a list"):
        store.push("counter", 6)
    with pytest.raises(StoreConflictError, match="not a list"):
        store.extend("counter", [6, 7])

    assert store.get("counter") == 5


def test_set_through_a_number_gives_a_clear_error(client: StoreClient) -> None:
    store = new_run(client)
    store.set("a", 1)

    with pytest.raises(StoreConflictError, match=r"'a\.b'.*not a document"):
        store.set("a.b", 2)

    assert store.get("a") == 1


def test_concurrent_pushes_lose_nothing(client: StoreClient) -> None:
    store = new_run(client)
    other = new_run(client)
    threads_count, pushes = 10, 200
    errors: list[BaseException] = []

    def pusher(thread: int) -> None:
        try:
            for index in range(pushes):
                store.push("log", [thread, index])
                if index % 20 == 0:
                    other.push("log", thread)  # another run, served meanwhile
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=pusher, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    log = store.get("log")
    assert len(log) == threads_count * pushes
    assert sorted(map(tuple, log)) == [(t, i) for t in range(threads_count) for i in range(pushes)]
    for number in range(threads_count):  # each thread's pushes kept their order
        assert [i for t, i in log if t == number] == list(range(pushes))
    assert len(other.get("log")) == threads_count * (pushes // 20)


def test_delete_document(client: StoreClient) -> None:
    store = new_run(client)
    store.set("a", 1)

    client.delete_document(store.run_id)
    client.delete_document(store.run_id)  # already gone: fine

    with pytest.raises(StoreNotFoundError):
        store.get("a")


def test_errors_are_rooted_in_lightflow_error(client: StoreClient) -> None:
    with pytest.raises(LightflowError):
        TaskStore(client, "no-such-run").get("a")


def test_calls_without_the_token_are_refused(store_service: StoreUnderTest) -> None:
    with StoreClient(store_service.address) as client, pytest.raises(StoreError, match="token"):
        client.create_document(f"run-{uuid.uuid4().hex}")


def test_a_restarted_store_still_holds_the_document(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    service = start_store(tmp_path, "--data-dir", str(data_dir))
    try:
        with StoreClient(service.address, token=TOKEN) as client:
            store = new_run(client)
            store.set("survives.restart", {"value": 42})
            store.push("frames", np.arange(3))
    finally:
        assert service.stop() == 0, service.log_tail()

    service = start_store(tmp_path, "--data-dir", str(data_dir))
    try:
        with StoreClient(service.address, token=TOKEN) as client:
            again = TaskStore(client, store.run_id)
            assert again.get("survives.restart") == {"value": 42}
            np.testing.assert_array_equal(again.get("frames")[0], np.arange(3))
    finally:
        assert service.stop() == 0, service.log_tail()


def test_in_memory_store_without_a_data_dir(tmp_path: Path) -> None:
    service = start_store(tmp_path)
    try:
        with StoreClient(service.address, token=TOKEN) as client:
            store = new_run(client)
            store.extend("a.b", [1, 2])
            assert store.get("a") == {"b": [1, 2]}
    finally:
        assert service.stop() == 0, service.log_tail()


def test_exists_tells_a_missing_key_from_a_stored_none(client: StoreClient) -> None:
    store = new_run(client, {"nothing": None})
    store.set("a.b", [1, {"c": 2}])

    assert store.exists("nothing")
    assert store.exists("a")
    assert store.exists("a.b.1.c")
    assert not store.exists("a.b.1.d")
    assert not store.exists("a.b.5")
    assert not store.exists("missing.deep.key")
    assert not store.exists("a", section=DataStoreDocumentSection.Meta)


def test_list_keys_of_the_direct_children_or_of_every_leaf(client: StoreClient) -> None:
    store = new_run(client, {"threshold": 3})
    store.set("buffer.observable", [1.5, 2.5])
    store.set("buffer.meta.name", "signal")
    store.set("buffer.meta.empty", {})
    store.set("image", np.zeros((2, 2)))  # an array is a value, not a document of keys
    store.set("items", [{"name": "first"}])

    assert store.list_keys() == ["threshold", "buffer", "image", "items"]
    assert store.list_keys("buffer") == ["buffer.observable", "buffer.meta"]
    assert store.list_keys("buffer", recursive=True) == [
        "buffer.observable",
        "buffer.meta.name",
        "buffer.meta.empty",
    ]
    assert store.list_keys(recursive=True) == [
        "threshold",
        "buffer.observable",
        "buffer.meta.name",
        "buffer.meta.empty",
        "image",
        "items",
    ]
    assert store.list_keys("items.0") == ["items.0.name"]
    assert store.list_keys("buffer.meta.empty") == []
    assert store.list_keys("missing") == []
    assert store.list_keys(section="meta") == []
    assert store.get("image.dtype", "none") == "none"  # nor can a key reach inside it


@pytest.mark.parametrize("key", ["threshold", "image", "items", "buffer.name"])
def test_list_keys_of_a_value_that_is_not_a_document_is_refused(
    client: StoreClient, key: str
) -> None:
    store = new_run(client, {"threshold": 3, "image": np.ones(2), "items": [{"a": 1}]})
    store.set("buffer.name", "x")

    with pytest.raises(StoreConflictError, match=rf"{key!r}.*not a document"):
        store.list_keys(key)


def test_increment_creates_the_counter_at_zero_and_returns_the_new_value(
    client: StoreClient,
) -> None:
    store = new_run(client)

    assert store.increment("counters.tasks") == 1
    assert store.increment("counters.tasks", 5) == 6
    assert store.increment("counters.tasks", -10) == -4
    assert store.increment("counters.big", 2**40) == 2**40
    assert store.increment("counters.big", 2**40) == 2**41
    assert store.increment("ratio", 0.5) == 0.5
    result = store.increment("counters.tasks", 1.5)  # a float amount makes a float
    assert result == -2.5
    assert isinstance(result, float)
    assert isinstance(store.increment("n", 0), int)

    assert store.get("counters") == {"tasks": -2.5, "big": 2**41}
    assert store.get("n") == 0


@pytest.mark.parametrize(
    "value", ["text", True, [1, 2], {"a": 1}, np.arange(3), (1, 2), None], ids=repr
)
def test_increment_of_a_value_that_is_not_a_number_is_refused(
    client: StoreClient, value: object
) -> None:
    store = new_run(client)
    store.set("v", value)

    with pytest.raises(StoreConflictError, match=r"'v'.*not a number"):
        store.increment("v")

    after = store.get("v")
    if isinstance(value, np.ndarray):
        np.testing.assert_array_equal(after, value)
    else:
        assert after == value


def test_increment_through_a_value_that_is_not_a_document_is_refused(client: StoreClient) -> None:
    store = new_run(client)
    store.set("s", "text")

    with pytest.raises(StoreConflictError, match="not a document"):
        store.increment("s.count")

    assert store.get("s") == "text"


def test_increment_beyond_the_int64_range_is_refused(client: StoreClient) -> None:
    store = new_run(client)
    store.set("n", 2**63 - 1)

    with pytest.raises(StoreConflictError, match="64-bit"):
        store.increment("n")
    with pytest.raises(StoreInvalidArgumentError, match="64-bit"):
        store.increment("m", 2**63)
    with pytest.raises(StoreInvalidArgumentError, match="int or a float"):
        store.increment("m", "1")  # type: ignore[arg-type]

    assert store.get("n") == 2**63 - 1
    assert not store.exists("m")


def test_document_sections_by_name_or_by_the_original_enum(client: StoreClient) -> None:
    store = new_run(client)

    store.set("name", "meta-name", section=DataStoreDocumentSection.Meta)
    store.set("name", "data-name", section=DataStoreDocumentSection.Data)

    assert store.get("name", section="meta") == "meta-name"
    assert store.get("name", section=DataStoreDocumentSection.Meta) == "meta-name"
    assert store.get("name") == "data-name"
    assert store.get_document(section=DataStoreDocumentSection.Meta) == {"name": "meta-name"}


def test_whole_document_comes_as_bson_any_language_reads(client: StoreClient) -> None:
    store = new_run(client, {"threshold": 3})
    array = np.arange(6, dtype="<i4").reshape(2, 3)
    store.set("buffer.image", array)
    store.push("log", "started")
    store.set("pair", (1, 2))
    store.set("author", "engine", section="meta")

    raw = bson.decode(client.get_document_bson(store.run_id))

    assert raw["threshold"] == 3
    assert raw["log"] == ["started"]
    assert raw["buffer"]["image"] == {
        "__lightflow_payload__": "application/x-ndarray",
        "dtype": "<i4",
        "shape": [2, 3],
        "data": array.tobytes(),
    }
    assert raw["pair"]["__lightflow_payload__"] == "python/cloudpickle"
    assert bson.decode(client.get_document_bson(store.run_id, section="meta")) == {
        "author": "engine"
    }
    decoded = store.get_document()
    np.testing.assert_array_equal(decoded["buffer"]["image"], array)
    assert decoded["pair"] == (1, 2)
    assert decoded["threshold"] == 3


def test_get_payload_gives_the_value_undecoded(client: StoreClient) -> None:
    store = new_run(client)
    store.set("pair", (1, 2))

    payload = client.get_payload(store.run_id, "pair")

    assert payload is not None
    assert payload.encoding == "python/cloudpickle"
    assert client.get_payload(store.run_id, "missing") is None


def test_a_value_that_cannot_be_serialized_names_the_key_and_the_type(
    client: StoreClient,
) -> None:
    store = new_run(client)

    with pytest.raises(StoreValueError, match=r"'results\.lock'.*_thread\.lock") as info:
        store.set("results.lock", threading.Lock())
    with pytest.raises(StoreValueError, match=r"'items'.*_thread\.lock"):
        store.extend("items", [1, threading.Lock()])

    assert isinstance(info.value, StoreError)
    assert isinstance(info.value, ValueError)
    assert store.run_id in str(info.value)
    assert not store.exists("results")
    assert not store.exists("items")


def test_values_larger_than_a_mongodb_document_round_trip(
    client: StoreClient, store_service: StoreUnderTest
) -> None:
    store = new_run(client)
    rng = np.random.default_rng(4)
    array = rng.integers(0, 255, size=(64, MB), dtype=np.uint8)  # 64 MB
    blob = rng.bytes(20 * MB)  # BSON-native, beyond the 16 MB document limit

    store.set("image.data", array)
    store.set("raw", blob)
    store.push("frames", np.ones(3 * MB))  # 24 MB inside a list
    store.push("frames", 1)

    result = store.get("image.data")
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, array)
    assert store.get("raw") == blob
    np.testing.assert_array_equal(store.get("image")["data"], array)
    frames = store.get("frames")
    np.testing.assert_array_equal(frames[0], np.ones(3 * MB))
    assert frames[1] == 1
    raw = bson.decode(client.get_document_bson(store.run_id))
    assert raw["raw"] == blob
    assert raw["image"]["data"]["data"] == array.tobytes()
    assert raw["image"]["data"]["shape"] == [64, MB]
    assert store.exists("raw")
    assert store.list_keys("image") == ["image.data"]
    assert store_service.blob_count(store.run_id) == 3


def test_large_values_are_removed_with_their_key_or_document(
    client: StoreClient, store_service: StoreUnderTest
) -> None:
    store = new_run(client, {"initial": np.zeros(MB // 4)})  # 2 MB: kept outside at once
    run_id = store.run_id
    assert store_service.blob_count(run_id) == 1

    store.set("a.first", np.ones(MB))
    store.set("a.second", np.ones(MB))
    assert store_service.blob_count(run_id) == 3

    store.set("a.first", np.ones(2 * MB))  # overwritten: the old blob goes
    assert store_service.blob_count(run_id) == 3
    store.set("a.first", 1)
    assert store_service.blob_count(run_id) == 2
    store.delete("a")  # both the parent and what it holds
    assert store_service.blob_count(run_id) == 1
    np.testing.assert_array_equal(store.get("initial"), np.zeros(MB // 4))

    with pytest.raises(StoreConflictError):
        store.set("initial.x", np.ones(MB))  # refused: the new blob goes too
    assert store_service.blob_count(run_id) == 1

    store.extend("frames", [np.ones(MB), np.ones(MB)])
    assert store_service.blob_count(run_id) == 3
    client.delete_document(run_id)
    assert store_service.blob_count(run_id) == 0


def test_a_restarted_store_keeps_its_large_values(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    array = np.arange(4 * MB, dtype="int32")
    service = start_store(tmp_path, "--data-dir", str(data_dir))
    try:
        with StoreClient(service.address, token=TOKEN) as client:
            store = new_run(client)
            store.set("big", array)
    finally:
        assert service.stop() == 0, service.log_tail()

    service = start_store(tmp_path, "--data-dir", str(data_dir))
    try:
        with StoreClient(service.address, token=TOKEN) as client:
            np.testing.assert_array_equal(TaskStore(client, store.run_id).get("big"), array)
    finally:
        assert service.stop() == 0, service.log_tail()


def test_in_memory_store_keeps_large_values_too(tmp_path: Path) -> None:
    service = start_store(tmp_path, "--inline-limit", "1024")
    try:
        with StoreClient(service.address, token=TOKEN) as client:
            store = new_run(client)
            store.set("a", np.arange(1000))
            store.push("l", np.arange(2000))
            np.testing.assert_array_equal(store.get("a"), np.arange(1000))
            np.testing.assert_array_equal(store.get("l")[0], np.arange(2000))
            store.set("a", 1)
            client.delete_document(store.run_id)
    finally:
        assert service.stop() == 0, service.log_tail()


def test_writes_into_a_stored_value_are_refused(client: StoreClient) -> None:
    store = new_run(client)
    store.set("image", np.zeros(3))
    store.set("pair", (1, 2))

    for operation in (
        lambda: store.set("image.dtype", "<i8"),
        lambda: store.push("image.shape", 1),
        lambda: store.increment("pair.data"),
        lambda: store.set("image.new.deep", 1),
    ):
        with pytest.raises(StoreConflictError, match="not a document"):
            operation()
    store.delete("image.data")  # no such key: nothing happens

    np.testing.assert_array_equal(store.get("image"), np.zeros(3))
    assert store.get("pair") == (1, 2)


def test_empty_documents_are_kept(client: StoreClient) -> None:
    store = new_run(client)
    store.set("big", np.ones(MB))

    store.set("empty", {})
    store.set("a.b", {})
    store.set("big", {})

    assert store.get("empty") == {}
    assert store.get("a") == {"b": {}}
    assert store.get("big") == {}


def test_a_retried_write_is_applied_once(store_service: StoreUnderTest) -> None:
    # A store that applied a write and died before answering sees the client's retry, with
    # the same request id, and must not apply it again. Sent here as such a retry would be.
    from lightflow._grpc import open_channel
    from lightflow.v1 import common_pb2, store_pb2, store_pb2_grpc

    with StoreClient(store_service.address, token=TOKEN) as client:
        store = new_run(client)
        run_id = store.run_id
        stub = store_pb2_grpc.StoreServiceStub(open_channel(store_service.address, TOKEN))
        number = common_pb2.Payload(encoding="application/bson", data=bson.encode({"v": 7}))

        def twice(call: Any, request: Any) -> list[Any]:
            request.request_id = uuid.uuid4().hex
            return [call(request, timeout=10) for _ in range(2)]

        twice(stub.Push, store_pb2.PushRequest(run_id=run_id, key="log", value=number))
        twice(stub.Extend, store_pb2.ExtendRequest(run_id=run_id, key="log", values=[number] * 2))
        set_many = store_pb2.SetManyRequest(
            run_id=run_id, items=[store_pb2.KeyValue(key="other", value=number)]
        )
        twice(stub.SetMany, set_many)
        first, retry = twice(
            stub.Increment,
            store_pb2.IncrementRequest(run_id=run_id, key="count", int_amount=5),
        )
        # Another write with its own id is another write.
        stub.Push(
            store_pb2.PushRequest(
                run_id=run_id, key="log", value=number, request_id=uuid.uuid4().hex
            ),
            timeout=10,
        )

        assert store.get("log") == [7, 7, 7, 7]
        assert store.get("other") == 7
        assert (first.int_value, retry.int_value) == (5, 5)
        assert store.get("count") == 5
        # What the engine keeps to know is in neither section.
        assert set(client.get_document(run_id)) == {"log", "other", "count"}
        assert client.list_keys(run_id) == ["log", "other", "count"]


def test_the_sdk_sends_one_request_id_per_write_and_a_bad_one_is_refused(
    store_service: StoreUnderTest,
) -> None:
    from lightflow._grpc import open_channel
    from lightflow.v1 import common_pb2, store_pb2, store_pb2_grpc

    with StoreClient(store_service.address, token=TOKEN) as client:
        store = new_run(client)
        for number in range(5):  # each an own write
            store.push("log", number)
            store.increment("count")
        assert store.get("log") == [0, 1, 2, 3, 4]
        assert store.get("count") == 5
        stub = store_pb2_grpc.StoreServiceStub(open_channel(store_service.address, TOKEN))
        number = common_pb2.Payload(encoding="application/bson", data=bson.encode({"v": 1}))
        with pytest.raises(grpc.RpcError) as caught:
            stub.Push(
                store_pb2.PushRequest(
                    run_id=store.run_id, key="log", value=number, request_id="x" * 500
                ),
                timeout=10,
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "request_id" in (caught.value.details() or "")
        assert store.get("log") == [0, 1, 2, 3, 4]
