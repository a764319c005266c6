"""`lfctl store get` as a user runs it, against a real store service process.

Until the group is wired into `lfctl`, the command runs as `python -c "...store()"` (the same
click group, in a process of its own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lightflow._stackfile import StackInfo, write_stack_file
from lightflow._store import StoreClient
from lightflow_cli._procs import ServiceProcess, start_service

TOKEN = "store-cli-test-token"  # a test-only shared token
STORE_CMD = [sys.executable, "-c", "from lightflow_cli.commands.store import store; store()"]


@pytest.fixture(scope="module")
def store_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    tmp_path = tmp_path_factory.mktemp("store")
    service = start_service(
        "store",
        "lightflow_store",
        ["--data-dir", str(tmp_path / "data")],
        log_dir=tmp_path,
        env={"LIGHTFLOW_TOKEN": TOKEN},
    )
    yield service
    assert service.stop() == 0, service.log_tail()


@pytest.fixture(scope="module")
def run_id(store_service: ServiceProcess) -> str:
    run_id = f"run-{uuid.uuid4().hex}"
    with StoreClient(store_service.address, TOKEN) as client:
        client.create_document(run_id, {"threshold": 3})
        client.set(run_id, "buffer.image", np.zeros((100, 100)))
        client.set(run_id, "buffer.name", "signal")
        client.push(run_id, "log", "started")
        client.set(run_id, "pair", (1, 2))
        client.set(run_id, "raw", b"\x00\x01")
        client.set(run_id, "workflow", "sequential", section="meta")
    return run_id


def lfctl_store(
    *args: str, cwd: Path, address: str | None = None, token: str | None = TOKEN
) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("LIGHTFLOW_STORE_ADDRESS", "LIGHTFLOW_TOKEN")
    }
    if address is not None:
        env["LIGHTFLOW_STORE_ADDRESS"] = address
    if token is not None:
        env["LIGHTFLOW_TOKEN"] = token
    return subprocess.run(
        [*STORE_CMD, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_get_shows_the_whole_data_section(
    store_service: ServiceProcess, run_id: str, tmp_path: Path
) -> None:
    result = lfctl_store("get", run_id, cwd=tmp_path, address=store_service.address)

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown == {
        "threshold": 3,
        "buffer": {"image": "<ndarray dtype=float64 shape=100x100>", "name": "signal"},
        "log": ["started"],
        "pair": shown["pair"],
        "raw": "<2 bytes: 0001>",
    }
    assert shown["pair"].startswith("<python object (pickled, ")


def test_get_shows_one_key(store_service: ServiceProcess, run_id: str, tmp_path: Path) -> None:
    nested = lfctl_store("get", run_id, "buffer", cwd=tmp_path, address=store_service.address)
    array = lfctl_store("get", run_id, "buffer.image", cwd=tmp_path, address=store_service.address)
    number = lfctl_store("get", run_id, "threshold", cwd=tmp_path, address=store_service.address)

    assert json.loads(nested.stdout)["name"] == "signal"
    assert json.loads(array.stdout) == "<ndarray dtype=float64 shape=100x100>"
    assert number.stdout.strip() == "3"


def test_get_of_the_meta_section(
    store_service: ServiceProcess, run_id: str, tmp_path: Path
) -> None:
    result = lfctl_store(
        "get", run_id, "--section", "meta", cwd=tmp_path, address=store_service.address
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"workflow": "sequential"}


def test_the_stack_of_the_folder_is_found(
    store_service: ServiceProcess, run_id: str, tmp_path: Path
) -> None:
    write_stack_file(
        tmp_path,
        StackInfo(
            scheduler_addresses=[],
            store_address=store_service.address,
            redis_url="",
            token=TOKEN,
            pid=os.getpid(),  # a live process: the stack counts as running
        ),
    )

    result = lfctl_store("get", run_id, "log", cwd=tmp_path, token=None)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["started"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["get", "run-that-does-not-exist"], "'run-that-does-not-exist' has no store document"),
        (["get", "{run}", "missing.key"], "has no key 'missing.key' in its data section"),
        (["get", "{run}", "a..b"], "invalid key 'a..b'"),
    ],
)
def test_user_errors_are_one_clear_line(
    store_service: ServiceProcess, run_id: str, tmp_path: Path, args: list[str], message: str
) -> None:
    args = [arg.replace("{run}", run_id) for arg in args]

    result = lfctl_store(*args, cwd=tmp_path, address=store_service.address)

    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_store_address_is_one_clear_line(tmp_path: Path) -> None:
    result = lfctl_store("get", "some-run", cwd=tmp_path)

    assert result.returncode == 1
    assert "no store address" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_token_is_one_clear_line(store_service: ServiceProcess, tmp_path: Path) -> None:
    result = lfctl_store(
        "get", "some-run", cwd=tmp_path, address=store_service.address, token="wrong"
    )

    assert result.returncode == 1
    assert "token" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_store_is_one_clear_line(tmp_path: Path) -> None:
    result = lfctl_store("get", "some-run", cwd=tmp_path, address="127.0.0.1:1")

    assert result.returncode == 1
    assert "unavailable" in result.stderr
    assert "Traceback" not in result.stderr
