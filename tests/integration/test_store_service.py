"""The real store service, as a separate process, through the SDK's TaskStore."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lightflow._errors import LightflowError
from lightflow._store import (
    StoreClient,
    StoreConflictError,
    StoreError,
    StoreInvalidArgumentError,
    StoreNotFoundError,
    TaskStore,
)
from lightflow_cli._procs import ServiceProcess, start_service

TOKEN = "store-test-token"  # a test-only shared token


def start_store(tmp_path: Path, *args: str) -> ServiceProcess:
    return start_service(
        "store", "lightflow_store", list(args), log_dir=tmp_path, env={"LIGHTFLOW_TOKEN": TOKEN}
    )


@pytest.fixture(scope="module")
def store_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    tmp_path = tmp_path_factory.mktemp("store")
    service = start_store(tmp_path, "--data-dir", str(tmp_path / "store"))
    yield service
    assert service.stop() == 0, service.log_tail()


@pytest.fixture
def client(store_service: ServiceProcess) -> Iterator[StoreClient]:
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


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "it is empty"),
        ("a..b", "empty segment"),
        (".a", "empty segment"),
        ("a.", "empty segment"),
        ("$x", r"starts with '\$'"),
        ("a.$inc", r"starts with '\$'"),
        ("a\x00b", "NUL"),
    ],
)
def test_invalid_keys_give_a_clear_error_and_change_nothing(
    client: StoreClient, key: str, problem: str
) -> None:
    store = new_run(client)
    store.set("a", {"b": 1})

    for operation in (
        lambda: store.set(key, 2),
        lambda: store.push(key, 2),
        lambda: store.extend(key, [2]),
        lambda: store.get(key),
        lambda: store.delete(key),
    ):
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


def test_calls_without_the_token_are_refused(store_service: ServiceProcess) -> None:
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


@pytest.mark.mongodb
@pytest.mark.skipif(
    not os.environ.get("LIGHTFLOW_TEST_MONGODB_URI"), reason="LIGHTFLOW_TEST_MONGODB_URI not set"
)
def test_mongodb_backend(tmp_path: Path) -> None:
    uri = os.environ["LIGHTFLOW_TEST_MONGODB_URI"]
    database = f"lightflow_test_{uuid.uuid4().hex[:12]}"
    service = start_store(tmp_path, "--mongodb-uri", uri, "--database", database)
    try:
        with StoreClient(service.address, token=TOKEN) as client:
            store = new_run(client, {"initial": 1})
            store.set("a.b", {"c": [1, 2]})
            store.push("a.b.c", 3)
            store.extend("a.b.c", [4, np.arange(2)])
            store.set("m", "meta", section="meta")
            c = store.get("a.b.c")
            assert c[:4] == [1, 2, 3, 4]
            np.testing.assert_array_equal(c[4], np.arange(2))
            assert store.get("initial") == 1
            assert store.get("m", section="meta") == "meta"
            assert store.get("missing", "d") == "d"
            with pytest.raises(StoreConflictError):
                store.push("initial", 2)
            with pytest.raises(StoreInvalidArgumentError):
                store.set("a..b", 1)
            store.delete("a.b")
            assert store.get("a") == {}
            client.delete_document(store.run_id)
            with pytest.raises(StoreNotFoundError):
                store.get("a")
    finally:
        assert service.stop() == 0, service.log_tail()
        import pymongo  # only this test talks to MongoDB directly

        mongo: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(uri) as mongo:
            mongo.drop_database(database)
