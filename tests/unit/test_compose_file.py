"""docker-compose.yml, checked with what runs here (no Docker engine): its services, their
commands, healthchecks, the one shared token and the published ports.
tests/integration/test_compose_services.py runs the same commands as processes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
COMPOSE = ROOT / "docker-compose.yml"
LIGHTFLOW_SERVICES = {
    "store",
    "scheduler-1",
    "scheduler-2",
    "scheduler-3",
    "worker",
    "worker-gpu",
    "web",
}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose = yaml.safe_load(COMPOSE.read_text())
    return dict(compose["services"])


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_the_services_are_all_there(services: dict[str, Any]) -> None:
    assert set(services) == {"redis", "mongodb", *LIGHTFLOW_SERVICES}


def test_redis_persists_every_write_and_mongodb_backs_the_store(
    services: dict[str, Any],
) -> None:
    redis_command = services["redis"]["command"]
    assert redis_command[:2] == ["sh", "-c"]
    words = redis_command[2].split()
    assert words[:4] == ["exec", "docker-entrypoint.sh", "redis-server", "-"]
    assert option(words, "--appendonly") == "yes"
    assert option(words, "--appendfsync") == "everysec"
    assert option(words, "--maxmemory-policy") == "noeviction"
    assert any(v.endswith(":/data") for v in services["redis"]["volumes"])
    assert any(v.endswith(":/data/db") for v in services["mongodb"]["volumes"])
    store = services["store"]["command"]
    assert store[:3] == ["python", "-m", "lightflow_store"]
    assert option(store, "--mongodb-uri") == "mongodb://mongodb:27017"
    assert services["store"]["depends_on"]["mongodb"]["condition"] == "service_healthy"


def test_three_equal_scheduler_replicas_on_redis_and_the_store(services: dict[str, Any]) -> None:
    commands = [services[f"scheduler-{i}"]["command"] for i in (1, 2, 3)]
    assert commands[0] == commands[1] == commands[2]
    command = commands[0]
    assert command[:3] == ["python", "-m", "lightflow_scheduler"]
    assert option(command, "--listen") == "0.0.0.0:50051"
    assert option(command, "--redis-url") == "redis://redis:6379/0"
    assert option(command, "--store-address") == "store:50070"
    published = [services[f"scheduler-{i}"]["ports"] for i in (1, 2, 3)]
    # Bound to the host's loopback only, on the ports the README's LIGHTFLOW_ADDRESS names.
    assert published == [
        ["127.0.0.1:50051:50051"],
        ["127.0.0.1:50052:50051"],
        ["127.0.0.1:50053:50051"],
    ]


def test_two_workers_one_on_custom_queues(services: dict[str, Any]) -> None:
    replicas = {"scheduler-1:50051", "scheduler-2:50051", "scheduler-3:50051"}
    queues = {}
    for name in ("worker", "worker-gpu"):
        command = services[name]["command"]
        assert command[:3] == ["python", "-m", "lightflow_worker"]
        assert set(option(command, "--scheduler").split(",")) == replicas
        queues[name] = option(command, "--queues")
        assert set(services[name]["depends_on"]) == {"scheduler-1", "scheduler-2", "scheduler-3"}
    assert queues == {"worker": "task", "worker-gpu": "gpu,io"}


def test_every_service_has_a_healthcheck_on_its_own_port(services: dict[str, Any]) -> None:
    for name, service in services.items():
        test = service["healthcheck"]["test"]
        assert test[0] == ("CMD-SHELL" if name == "redis" else "CMD"), name
        if name == "web":  # HTTP: its /healthz
            assert "http://127.0.0.1:50080/healthz" in test[-1]
            assert option(service["command"], "--listen").endswith(":50080")
        elif name in LIGHTFLOW_SERVICES:
            assert test[1:3] == ["lfctl", "health"], name
            port = test[3].rsplit(":", 1)[1]
            assert option(service["command"], "--listen").endswith(f":{port}"), name


def test_one_shared_token_that_must_be_set(services: dict[str, Any]) -> None:
    tokens = {services[name]["environment"]["LIGHTFLOW_TOKEN"] for name in LIGHTFLOW_SERVICES}
    assert len(tokens) == 1
    (token,) = tokens
    assert token.startswith("${LIGHTFLOW_TOKEN:?")  # compose refuses to start without it
    for name in LIGHTFLOW_SERVICES:
        assert "--token" not in services[name]["command"]  # never on a command line


def test_redis_requires_a_password_that_must_be_set_and_only_schedulers_get(
    services: dict[str, Any],
) -> None:
    redis_service = services["redis"]
    password = redis_service["environment"]["LIGHTFLOW_REDIS_PASSWORD"]
    assert password.startswith("${LIGHTFLOW_REDIS_PASSWORD:?")  # compose refuses without it
    assert redis_service["environment"]["REDISCLI_AUTH"] == password  # its healthcheck
    # Read from stdin (a here-document), not an argument: `ps` never shows it.
    script = redis_service["command"][2]
    assert 'requirepass "$$LIGHTFLOW_REDIS_PASSWORD"' in script.splitlines()
    assert "--requirepass" not in script
    assert "ports" not in redis_service  # not published on the host
    for name in LIGHTFLOW_SERVICES:
        given = services[name]["environment"].get("LIGHTFLOW_REDIS_PASSWORD")
        assert given == (password if name.startswith("scheduler-") else None), name
        assert "--redis-password" not in " ".join(services[name]["command"]), name


def test_the_dashboard_calls_every_scheduler_and_is_published_on_loopback(
    services: dict[str, Any],
) -> None:
    command = services["web"]["command"]
    assert command[:3] == ["python", "-m", "lightflow_web"]
    assert set(option(command, "--scheduler").split(",")) == {
        "scheduler-1:50051",
        "scheduler-2:50051",
        "scheduler-3:50051",
    }
    assert services["web"]["ports"] == ["127.0.0.1:50080:50080"]


def test_the_image_has_what_the_commands_run() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install" in dockerfile
    for folder in ("sdk", "services", "cli", "protos"):
        assert f"COPY {folder} {folder}" in dockerfile


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, check=False, timeout=30
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _compose_available(), reason="the docker compose plugin is not here")
def test_docker_compose_accepts_the_file() -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={
            "LIGHTFLOW_TOKEN": "x",
            "LIGHTFLOW_REDIS_PASSWORD": "y",
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        },
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
