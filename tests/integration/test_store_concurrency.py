"""Parallel writers on the real store service lose nothing, and unrelated runs do not wait
for each other. Each writer has a client (a channel) of its own, as parallel tasks do."""

from __future__ import annotations

import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lightflow._codec import encode_value
from lightflow._store import StoreClient, TaskStore
from lightflow_store.backends import EmbeddedRuns, MemoryBlobs
from lightflow_store.core import StoreCore, Value
from tests.integration.test_store_service import (
    BACKENDS,
    TOKEN,
    StoreUnderTest,
    start_backend,
)

WRITERS = 10
OPERATIONS = 500


@pytest.fixture(scope="module", params=BACKENDS)
def store_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StoreUnderTest]:
    under_test = start_backend(tmp_path_factory.mktemp("store"), request.param)
    yield under_test
    under_test.stop()


def new_run(address: str) -> str:
    run_id = f"run-{uuid.uuid4().hex}"
    with StoreClient(address, token=TOKEN) as client:
        client.create_document(run_id)
    return run_id


def in_parallel(address: str, run_id: str, work: Callable[[TaskStore, int], None]) -> None:
    """Runs `work(store, writer)` in WRITERS threads, each with a client of its own, started
    together; fails with the first error any of them raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(number: int) -> None:
        try:
            with StoreClient(address, token=TOKEN) as client:
                store = TaskStore(client, run_id)
                start.wait()
                work(store, number)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_parallel_pushes_lose_nothing(store_service: StoreUnderTest) -> None:
    run_id = new_run(store_service.address)

    def work(store: TaskStore, writer: int) -> None:
        for index in range(OPERATIONS):
            store.push("log", writer * OPERATIONS + index)

    in_parallel(store_service.address, run_id, work)

    with StoreClient(store_service.address, token=TOKEN) as client:
        log = client.get(run_id, "log")
    assert sorted(log) == list(range(WRITERS * OPERATIONS))
    for writer in range(WRITERS):  # each writer's pushes kept their order
        mine = [value for value in log if value // OPERATIONS == writer]
        assert mine == [writer * OPERATIONS + index for index in range(OPERATIONS)]


def test_parallel_extends_lose_nothing_and_stay_whole(store_service: StoreUnderTest) -> None:
    run_id = new_run(store_service.address)

    def work(store: TaskStore, writer: int) -> None:
        for index in range(OPERATIONS):
            base = (writer * OPERATIONS + index) * 2
            store.extend("log", [base, base + 1])

    in_parallel(store_service.address, run_id, work)

    with StoreClient(store_service.address, token=TOKEN) as client:
        log = client.get(run_id, "log")
    assert sorted(log) == list(range(WRITERS * OPERATIONS * 2))
    for position in range(0, len(log), 2):  # no extend was split by another one
        assert log[position] % 2 == 0
        assert log[position + 1] == log[position] + 1
    for writer in range(WRITERS):
        mine = [value for value in log if value // (2 * OPERATIONS) == writer]
        assert mine == sorted(mine)


def test_parallel_increments_lose_nothing(store_service: StoreUnderTest) -> None:
    run_id = new_run(store_service.address)
    seen: list[list[int | float]] = [[] for _ in range(WRITERS)]

    def work(store: TaskStore, writer: int) -> None:
        for _ in range(OPERATIONS):
            seen[writer].append(store.increment("counters.done"))

    in_parallel(store_service.address, run_id, work)

    with StoreClient(store_service.address, token=TOKEN) as client:
        assert client.get(run_id, "counters.done") == WRITERS * OPERATIONS
    # Every increment saw a value of its own: 1 .. N, each exactly once.
    assert sorted(value for values in seen for value in values) == list(
        range(1, WRITERS * OPERATIONS + 1)
    )
    for values in seen:
        assert values == sorted(values)


def test_writers_on_different_runs_lose_nothing(store_service: StoreUnderTest) -> None:
    runs = [new_run(store_service.address) for _ in range(WRITERS)]

    def work(store: TaskStore, writer: int) -> None:
        for index in range(100):
            TaskStore(store._client, runs[(writer + index) % WRITERS]).increment("n")
            store.push("mine", index)

    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            with StoreClient(store_service.address, token=TOKEN) as client:
                work(TaskStore(client, runs[number]), number)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with StoreClient(store_service.address, token=TOKEN) as client:
        for run_id in runs:
            assert client.get(run_id, "n") == 100
            assert client.get(run_id, "mine") == list(range(100))


def test_a_busy_run_does_not_hold_up_another_run(tmp_path: Path) -> None:
    # White-box: the embedded backend serializes calls per stripe of runs. While one run's
    # stripe is held (as by a long write), a run on another stripe is served at once.
    runs = EmbeddedRuns(tmp_path / "store", "lightflow", "runs")
    busy, other = "run-busy", "run-other"
    while zlib.crc32(other.encode()) % 64 == zlib.crc32(busy.encode()) % 64:
        other += "x"
    for run_id in (busy, other):
        runs.update_one({"_id": run_id}, {"$setOnInsert": {"data": {}}}, upsert=True)
    holding, release = threading.Event(), threading.Event()

    def hold(_collection: object) -> None:
        holding.set()
        release.wait(30)

    def hold_stripe() -> None:
        with runs._stripe(busy):
            hold(None)

    holder = threading.Thread(target=hold_stripe)
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        runs.update_one({"_id": other}, {"$set": {"data.a": 1}})
        assert runs.find_one({"_id": other}) == {"_id": other, "data": {"a": 1}}
        assert time.monotonic() - started < 5
    finally:
        release.set()
        holder.join()
        runs.close()


class _CreatedAfterFirstWrite(EmbeddedRuns):
    """Creates a run's document right after the first write on it looked and found none,
    as a scheduler's creation landing between a write and its explanation does."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.raced = False

    def find_one_and_update(self, filter: Any, update: Any, *args: Any, **kwargs: Any) -> Any:
        before = super().find_one_and_update(filter, update, *args, **kwargs)
        if before is None and not self.raced:
            self.raced = True
            self.update_one({"_id": filter["_id"]}, {"$setOnInsert": {"data": {}}}, upsert=True)
        return before


def test_a_write_racing_the_documents_creation_is_applied(tmp_path: Path) -> None:
    # White-box: the race of a 64 MB set with the one-second document timer, which once
    # failed a run with "part of the key holds a value that is not a document".
    runs = _CreatedAfterFirstWrite(tmp_path / "store", "lightflow", "runs")
    core = StoreCore(runs, MemoryBlobs())
    try:
        value = encode_value(1)
        stored = Value(value.encoding, value.data)
        core.on_document("run-raced", lambda: core.set("run-raced", "images.big", stored))
        assert runs.raced
        assert runs.find_one({"_id": "run-raced"}) == {
            "_id": "run-raced",
            "data": {"images": {"big": 1}},
        }
    finally:
        runs.close()
