"""Large task data through the store's blobs: as files on the store's host, streamed
through the service elsewhere; the same bytes either way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lightflow._taskdata import BlobClient, decode_task_data, encode_task_data
from lightflow._wire.blobs import FOLDER_MARKER
from lightflow._wire.encodings import ENCODING_BLOB, ENCODING_FRAMES
from lightflow_cli._procs import ServiceProcess, start_service

RUN = "run-task-data"


@pytest.fixture(params=["folder", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ServiceProcess, str]]:
    args = ["--data-dir", str(tmp_path / "store")] if request.param == "folder" else []
    service = start_service("store", "lightflow_store", args, log_dir=tmp_path)
    yield service, request.param
    service.stop()


def test_large_data_round_trips_and_small_data_rides_inline(
    store: tuple[ServiceProcess, str],
) -> None:
    service, kind = store
    blobs = BlobClient(service.address)
    image = np.arange(2 * 1024 * 1024, dtype=np.float64)  # 16 MiB
    payload = encode_task_data({"image": image, "name": "x"}, RUN, blobs)
    assert payload.encoding == ENCODING_BLOB
    assert (blobs.local_folder() is not None) == (kind == "folder")
    back = decode_task_data(payload, RUN, blobs)
    assert back["name"] == "x"
    np.testing.assert_array_equal(back["image"], image)
    back["image"][0] = -1.0  # arrays come back writable, like the task's were
    small = encode_task_data({"value": 5}, RUN, blobs)
    assert small.encoding == ENCODING_FRAMES
    assert decode_task_data(small, RUN, blobs) == {"value": 5}
    blobs.delete_run(RUN)


def test_a_client_that_cannot_see_the_folder_streams_through_the_service(
    tmp_path: Path,
) -> None:
    service = start_service(
        "store", "lightflow_store", ["--data-dir", str(tmp_path / "store")], log_dir=tmp_path
    )
    try:
        # As on another host: the folder this process sees is not the store's.
        marker = tmp_path / "store" / "blobs" / FOLDER_MARKER
        marker.write_text("another host's folder")
        blobs = BlobClient(service.address)
        assert blobs.local_folder() is None
        image = np.ones((1024, 1024), dtype=np.float32) * 3  # 4 MiB
        payload = encode_task_data(image, RUN, blobs)
        assert payload.encoding == ENCODING_BLOB
        np.testing.assert_array_equal(decode_task_data(payload, RUN, blobs), image)
    finally:
        service.stop()
