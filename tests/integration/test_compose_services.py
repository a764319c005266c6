"""docker-compose.yml's services, run as local processes from the same commands: hosts
mapped to 127.0.0.1 and every port to a free one, the store without MongoDB (none runs here).
Each service is waited for with its own healthcheck command; then the README's path
(`lfctl workflow start sequential`) and a workflow with tasks on the custom queues."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from lightflow._client import Client
from lightflow_cli.stack import redis_server_binary
from tests.conftest import ROOT, assert_eventually

TOKEN = "compose-test-token"  # a test-only shared token
REDIS_PASSWORD = "compose-test-redis-password"
ORDER = [
    "redis",
    "store",
    "scheduler-1",
    "scheduler-2",
    "scheduler-3",
    "worker",
    "worker-gpu",
    "web",
]
_ADDRESS = re.compile(r"^(?P<host>[\w.-]+):(?P<port>\d+)$")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Compose:
    """The compose file's services, with (service, container port) -> local port."""

    services: dict[str, Any]
    ports: dict[tuple[str, int], int] = field(default_factory=dict)

    def port(self, service: str, container_port: int) -> int:
        key = (service, container_port)
        if key not in self.ports:
            self.ports[key] = _free_port()
        return self.ports[key]

    def map_word(self, service: str, word: str) -> str:
        """One argument with compose's hosts and ports made local."""
        word = re.sub(
            r"redis://redis:(\d+)",
            lambda m: f"redis://127.0.0.1:{self.port('redis', int(m.group(1)))}",
            word,
        )
        mapped = []
        for part in word.split(","):
            match = _ADDRESS.match(part)
            if match and match["host"] in {"0.0.0.0", "127.0.0.1", *self.services}:
                owner = service if match["host"] in {"0.0.0.0", "127.0.0.1"} else match["host"]
                mapped.append(f"127.0.0.1:{self.port(owner, int(match['port']))}")
            else:
                mapped.append(part)
        return ",".join(mapped)

    def command(self, service: str, words: list[str]) -> list[str]:
        command = [self.map_word(service, w) for w in words]
        if command[0] == "python":
            command[0] = sys.executable
        elif command[0] == "lfctl":
            command[:1] = [sys.executable, "-m", "lightflow_cli"]
        elif command[0] == "redis-server":
            command[0] = redis_server_binary()
        if "--mongodb-uri" in command:  # no MongoDB here: the store's embedded backend
            at = command.index("--mongodb-uri")
            del command[at : at + 2]
        return command

    def environment(self, service: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTFLOW_")}
        for name, raw in (self.services[service].get("environment") or {}).items():
            value = re.sub(r"\$\{LIGHTFLOW_TOKEN[^}]*\}", TOKEN, str(raw))
            value = re.sub(r"\$\{LIGHTFLOW_REDIS_PASSWORD[^}]*\}", REDIS_PASSWORD, value)
            env[name] = self.map_word(service, value)
        return env

    def published(self, service: str) -> list[str]:
        """The host addresses of a service's published ports, as local addresses."""
        found = []
        for spec in self.services[service].get("ports", []):
            _host, _host_port, container_port = spec.split(":")
            found.append(f"127.0.0.1:{self.port(service, int(container_port))}")
        return found


@pytest.fixture
def compose(tmp_path: Path) -> Iterator[tuple[Compose, dict[str, subprocess.Popen[bytes]]]]:
    spec = Compose(dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]))
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs = tmp_path / "logs"
    logs.mkdir()
    try:
        for name in ORDER:
            service = spec.services[name]
            command = spec.command(name, service["command"])
            if name == "redis":
                # The same shell script, with this machine's redis-server for the image's
                # entrypoint, and a free port and this folder.
                port = spec.port("redis", 6379)
                local = f"{redis_server_binary()} - --port {port} --bind 127.0.0.1"
                command[2] = (
                    command[2]
                    .replace("docker-entrypoint.sh redis-server -", f"{local} --dir {tmp_path}")
                    .replace("$$", "$")
                )
            with (logs / f"{name}.log").open("wb") as log:
                processes[name] = subprocess.Popen(
                    command,
                    env=spec.environment(name),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    cwd=tmp_path,
                    start_new_session=True,
                )
            health = spec.command(name, service["healthcheck"]["test"][1:])
            if name == "redis":
                health = [
                    sys.executable,
                    "-c",
                    _REDIS_PING,
                    str(spec.port("redis", 6379)),
                    REDIS_PASSWORD,
                ]
            if name == "web":  # its HTTP healthcheck, on the port given here
                health = [sys.executable, "-c", _HTTP_GET, f"{_web_url(spec)}/healthz"]

            def healthy(name: str = name, health: list[str] = health) -> bool:
                assert processes[name].poll() is None, (logs / f"{name}.log").read_text()
                probe = subprocess.run(health, capture_output=True, check=False, timeout=30)
                return probe.returncode == 0

            assert_eventually(healthy, timeout=60, interval=0.2)
        yield spec, processes
    finally:
        for name in reversed(ORDER):
            process = processes.get(name)
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(40)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


_REDIS_PING = (
    "import sys, redis; redis.Redis(port=int(sys.argv[1]), password=sys.argv[2],"
    " socket_connect_timeout=1).ping()"
)


def test_the_compose_services_run_workflows_on_every_queue(
    compose: tuple[Compose, dict[str, subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    spec, processes = compose
    addresses = [
        a for n in ("scheduler-1", "scheduler-2", "scheduler-3") for a in spec.published(n)
    ]
    assert len(addresses) == 3
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTFLOW_")}
    env |= {"LIGHTFLOW_ADDRESS": ",".join(addresses), "LIGHTFLOW_TOKEN": TOKEN}

    # The README's path: from a folder with ./examples, start `sequential`.
    started = subprocess.run(
        [sys.executable, "-m", "lightflow_cli", "workflow", "start", "sequential", "--wait"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    assert "[main_dag/task_3] This is task #3" in started.stdout
    assert "of sequential: succeeded" in started.stdout.splitlines()[-1]

    workers = subprocess.run(
        [sys.executable, "-m", "lightflow_cli", "worker", "status"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert workers.returncode == 0, workers.stderr
    assert "gpu,io" in workers.stdout

    with Client(addresses, token=TOKEN) as client:
        by_queues = {",".join(w.queues): w.worker_id for w in client.list_workers()}
        assert set(by_queues) == {"task", "gpu,io"}
        client.register(ROOT / "examples" / "queues.py")
        run = client.start("queues")
        assert run.wait(timeout=60) == "succeeded"
        ran_on = {t.name: t.worker_id for t in run.info().tasks}
    assert ran_on == {
        "cpu_task": by_queues["task"],
        "gpu_task": by_queues["gpu,io"],
        "io_task": by_queues["gpu,io"],
    }
    # The dashboard's API shows the run, through any scheduler.
    request = urllib.request.Request(
        f"{_web_url(spec)}/api/v1/runs?workflow=queues",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        shown = json.load(response)
    assert [(r["id"], r["status"]) for r in shown["runs"]] == [(run.id, "succeeded")]
    assert all(p.poll() is None for p in processes.values())


def _web_url(spec: Compose) -> str:
    return f"http://127.0.0.1:{spec.port('web', 50080)}"


_HTTP_GET = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)"
