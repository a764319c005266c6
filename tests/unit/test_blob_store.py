"""The store's task-data blobs (`lightflow_store.blobs.BlobStore`), in a folder and in memory:
refused for runs that ended, swept when nobody else removes them."""

from __future__ import annotations

import os
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lightflow_store.blobs import BlobStore, RunGoneError


@pytest.fixture(params=["folder", "memory"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs" if request.param == "folder" else None)


def read(blobs: BlobStore, run_id: str, blob_id: str) -> bytes:
    _, chunks = blobs.get(run_id, blob_id)
    return b"".join(chunks)


def test_a_run_whose_blobs_went_takes_no_more(blobs: BlobStore) -> None:
    run_id = uuid.uuid4().hex
    blob_id, size = blobs.put(run_id, iter([b"ab", b"c"]))
    assert (size, read(blobs, run_id, blob_id)) == (3, b"abc")
    blobs.delete_run(run_id)
    assert blobs.gone(run_id)
    with pytest.raises(RunGoneError, match="ended"):
        blobs.put(run_id, iter([b"late"]))


def test_a_blob_arriving_while_its_run_goes_goes_too(blobs: BlobStore) -> None:
    run_id = uuid.uuid4().hex

    def chunks() -> Iterator[bytes]:
        yield b"first"
        blobs.delete_run(run_id)  # the run ends while the blob streams in
        yield b"second"

    with pytest.raises(RunGoneError):
        blobs.put(run_id, chunks())
    assert blobs.sweep(0, lambda _run_id: False) == []  # nothing left behind
    if blobs.folder is not None:
        assert not (blobs.folder / run_id).exists()


def test_the_sweep_takes_idle_runs_without_a_document(blobs: BlobStore) -> None:
    idle, with_document, busy = (uuid.uuid4().hex for _ in range(3))
    for run_id in (idle, with_document, busy):
        blobs.put(run_id, iter([b"x"]))
    assert blobs.sweep(3600, lambda _run_id: False) == []  # nothing idle for an hour yet
    time.sleep(0.3)
    blob_id, _ = blobs.put(busy, iter([b"y"]))  # written again: not idle
    swept = blobs.sweep(0.2, lambda run_id: run_id == with_document)
    assert swept == [idle]
    assert read(blobs, busy, blob_id) == b"y"
    with pytest.raises(RunGoneError):  # a swept run is one that went
        blobs.put(idle, iter([b"x"]))


def test_blob_files_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        blobs = BlobStore(tmp_path / "blobs")
        run_id = uuid.uuid4().hex
        blob_id, _ = blobs.put(run_id, iter([b"x"]))
    finally:
        os.umask(previous)
    assert blobs.folder is not None
    modes = {
        path.relative_to(tmp_path).as_posix(): oct(stat.S_IMODE(path.stat().st_mode))
        for path in (
            blobs.folder,
            blobs.folder / ".lightflow-blobs",
            blobs.folder / run_id,
            blobs.folder / run_id / blob_id,
        )
    }
    assert modes == {
        "blobs": "0o700",
        "blobs/.lightflow-blobs": "0o600",
        f"blobs/{run_id}": "0o700",
        f"blobs/{run_id}/{blob_id}": "0o600",
    }


def test_a_restarted_store_still_refuses_blobs_of_runs_that_ended(tmp_path: Path) -> None:
    ended, live = uuid.uuid4().hex, uuid.uuid4().hex
    BlobStore(tmp_path / "blobs").delete_run(ended)
    restarted = BlobStore(tmp_path / "blobs")
    assert restarted.gone(ended)
    with pytest.raises(RunGoneError):
        restarted.put(ended, iter([b"late"]))
    restarted.put(live, iter([b"x"]))
    assert stat.S_IMODE((tmp_path / "blobs" / ".ended-runs").stat().st_mode) == 0o600
