"""`lfctl scheduler start`, `lfctl store start`, `lfctl worker start|stop`, `lfctl health`:
each service in the foreground, all configured from one lightflow.cfg; every service
answers health checks and server reflection without the token."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from lightflow._client import Client
from lightflow_cli.stack import start_redis
from tests.conftest import ROOT, assert_eventually
from tests.e2e.test_cli import LFCTL, lfctl, marker, processes_with

__all__ = ["marker"]  # a fixture, used by name

TOKEN = "services-cli-test-token"  # a test-only shared token


def _env(marker: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTFLOW_")}
    return env | {"LIGHTFLOW_TEST_MARKER": marker, "LIGHTFLOW_TOKEN": TOKEN}


def _start(args: list[str], cwd: Path, marker: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [*LFCTL, *args],
            cwd=cwd,
            env=_env(marker),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )


def _address(ready: Path, process: subprocess.Popen[bytes], log: Path) -> str:
    def check() -> str:
        assert process.poll() is None, log.read_text()
        return ready.read_text().strip() if ready.exists() else ""

    return assert_eventually(check, timeout=60)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    redis = start_redis(tmp_path / "redis", tmp_path)
    yield redis.address
    redis.stop()


def reflected_services(address: str) -> list[str]:
    with grpc.insecure_channel(address) as channel:  # no token
        database = ProtoReflectionDescriptorDatabase(channel)
        names = list(database.get_services())
        pool = DescriptorPool(database)
        for name in names:  # every listed service can be described, RPCs and messages
            pool.FindServiceByName(name)
        return names


def test_services_from_one_config_file(marker: str, tmp_path: Path, redis_url: str) -> None:
    (tmp_path / "examples").mkdir()
    for name in ("sequential", "queues"):
        (tmp_path / "examples" / f"{name}.py").write_text(
            (ROOT / "examples" / f"{name}.py").read_text()
        )
    (tmp_path / "lightflow.cfg").write_text(
        f'workflows = ["examples"]\n'
        f'[scheduler]\nlisten = "127.0.0.1:0"\nredis_url = "{redis_url}"\n'
        f'[store]\nlisten = "127.0.0.1:0"\ndata_dir = "store-data"\n'
        f'[worker]\nqueues = ["task", "gpu", "io"]\nconcurrency = 2\n'
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        store = _start(
            ["store", "start", "--ready-file", "store.addr"],
            tmp_path,
            marker,
            tmp_path / "store.log",
        )
        processes.append(store)
        store_address = _address(tmp_path / "store.addr", store, tmp_path / "store.log")
        assert (tmp_path / "store-data").is_dir()  # the config's folder, relative to the file

        schedulers = []
        for i in range(2):
            args = ["scheduler", "start", "--store-address", store_address]
            scheduler = _start(
                [*args, "--ready-file", f"s{i}.addr"], tmp_path, marker, tmp_path / f"s{i}.log"
            )
            processes.append(scheduler)
            schedulers.append(_address(tmp_path / f"s{i}.addr", scheduler, tmp_path / f"s{i}.log"))
        address = ",".join(schedulers)

        worker = _start(
            ["--address", address, "worker", "start", "--ready-file", "w.addr"],
            tmp_path,
            marker,
            tmp_path / "worker.log",
        )
        processes.append(worker)
        worker_health = _address(tmp_path / "w.addr", worker, tmp_path / "worker.log")

        for service_address in (store_address, schedulers[0], worker_health):
            healthy = lfctl("health", service_address, marker=marker, cwd=tmp_path)
            assert healthy.returncode == 0, healthy.stderr
            assert healthy.stdout.strip() == f"{service_address}: SERVING"
        assert "lightflow.v1.SchedulerService" in reflected_services(schedulers[0])
        assert "lightflow.v1.SignalService" in reflected_services(schedulers[1])
        assert {"lightflow.v1.StoreService", "lightflow.v1.BlobService"} <= set(
            reflected_services(store_address)
        )
        assert "grpc.health.v1.Health" in reflected_services(worker_health)

        env_address = {"LIGHTFLOW_ADDRESS": address}
        started = lfctl_env(env_address, marker, tmp_path, "workflow", "start", "queues", "--wait")
        assert started.returncode == 0, started.stderr
        assert "gpu_task ran on" in started.stdout

        with Client(schedulers, token=TOKEN) as client:
            (info,) = client.list_workers()
        assert info.queues == ["task", "gpu", "io"]
        assert info.concurrency == 2

        stopped = lfctl_env(env_address, marker, tmp_path, "worker", "stop", "--timeout", "30")
        assert stopped.returncode == 0, stopped.stderr
        assert f"stopped {info.worker_id}" in stopped.stdout
        assert worker.wait(10) == 0
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
    assert_eventually(lambda: processes_with(marker) == [], timeout=20)


def lfctl_env(
    extra: dict[str, str], marker: str, cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LFCTL, *args],
        cwd=cwd,
        env=_env(marker) | extra,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_health_of_nothing_is_one_line(marker: str, tmp_path: Path) -> None:
    result = lfctl("health", "127.0.0.1:1", "--timeout", "1", marker=marker, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.strip().startswith("127.0.0.1:1: UNREACHABLE")
    assert "Traceback" not in result.stderr


def test_scheduler_start_with_a_bad_config_is_one_line(marker: str, tmp_path: Path) -> None:
    (tmp_path / "lightflow.cfg").write_text('[scheduler]\nlease_timeout = "soon"\n')
    result = lfctl("scheduler", "start", marker=marker, cwd=tmp_path)
    assert result.returncode == 1
    assert "scheduler.lease_timeout" in result.stderr
    assert "Traceback" not in result.stderr
    assert processes_with(marker) == []
