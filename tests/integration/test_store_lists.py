"""Pushes and extends onto one list of the embedded store, many of them: kept as rows of their
own and folded into the document by the next other call (`EmbeddedRuns._append`), so each
costs the same however long the list (the numbers: `bench/store_push.py`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lightflow._store import StoreClient, StoreConflictError
from lightflow_cli._procs import ServiceProcess, start_service

TOKEN = "store-lists-test-token"  # a test-only shared token


def start_store(data_dir: Path, log_dir: Path) -> ServiceProcess:
    return start_service(
        "store",
        "lightflow_store",
        ["--data-dir", str(data_dir)],
        log_dir=log_dir,
        env={"LIGHTFLOW_TOKEN": TOKEN},
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ServiceProcess]:
    service = start_store(tmp_path / "store", tmp_path)
    yield service
    assert service.stop() == 0, service.log_tail()


def test_ten_thousand_pushes_make_the_list(store: ServiceProcess) -> None:
    run_id = uuid.uuid4().hex
    with StoreClient(store.address, TOKEN) as client:
        client.create_document(run_id)
        for index in range(10_000):
            client.push(run_id, "items", {"i": index})
            if index % 2_500 == 0:  # a read in between folds what came so far
                assert len(client.get(run_id, "items")) == index + 1
        client.extend(run_id, "items", [{"i": 10_000 + i} for i in range(10)])
        assert client.get(run_id, "items") == [{"i": index} for index in range(10_010)]
        assert client.get(run_id, "items.10009") == {"i": 10_009}


def test_pushes_between_other_writes_keep_their_order_and_meaning(store: ServiceProcess) -> None:
    run_id = uuid.uuid4().hex
    with StoreClient(store.address, TOKEN) as client:
        client.create_document(run_id)
        client.push(run_id, "a.list", 1)
        client.push(run_id, "a.list", 2)
        client.push(run_id, "other", "x")
        client.increment(run_id, "a.count")  # another key: the list goes on as it was
        client.extend(run_id, "a.list", [3, [4]])
        client.set(run_id, "a.list", "no longer a list")
        with pytest.raises(StoreConflictError, match="not a list"):
            client.push(run_id, "a.list", 5)
        client.delete(run_id, "a.list")
        client.push(run_id, "a.list", 6)
        client.set(run_id, "a", {"list": [7]})  # a parent replaced
        client.push(run_id, "a.list", 8)
        client.push(run_id, "a.list", {"nested": [9]})
        assert client.get_document(run_id) == {
            "a": {"list": [7, 8, {"nested": [9]}]},
            "other": ["x"],
        }
        client.delete_document(run_id)
        client.create_document(run_id)  # a new document knows none of the old lists
        client.push(run_id, "a.list", 10)
        assert client.get_document(run_id) == {"a": {"list": [10]}}


def test_pushes_not_yet_folded_survive_a_killed_store(tmp_path: Path) -> None:
    run_id = uuid.uuid4().hex
    service = start_store(tmp_path / "store", tmp_path)
    try:
        with StoreClient(service.address, TOKEN) as client:
            client.create_document(run_id)
            for index in range(100):
                client.push(run_id, "items", index)
    finally:
        service.kill()
    service = start_store(tmp_path / "store", tmp_path)
    try:
        with StoreClient(service.address, TOKEN) as client:
            client.push(run_id, "items", 100)
            assert client.get(run_id, "items") == list(range(101))
    finally:
        assert service.stop() == 0, service.log_tail()
