"""Lightflow's configuration file, shared by lfctl and every service it starts.

The file is TOML, looked up as the original Lightflow did: `-c PATH`, then $LIGHTFLOW_CONFIG,
./lightflow.cfg, ~/lightflow.cfg. Each setting can also come from a `LIGHTFLOW_*` environment
variable (the same variables the services read), which wins over the file; command-line
options win over both. `lfctl config list` shows every value and where it came from."""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lightflow_common import defaults

CONFIG_NAME = "lightflow.cfg"

Kind = Literal["str", "int", "float", "list", "path", "paths"]


@dataclass(frozen=True)
class Setting:
    """One setting: its dotted key in the file, its environment variable, its default."""

    key: str
    env: str
    kind: Kind
    default: Any
    help: str
    secret: bool = False


@dataclass(frozen=True)
class StackSettings:
    """The local stack of `lfctl up` and `lfctl run`."""

    schedulers: int = 2
    workers: int = 1
    concurrency: int = defaults.WORKER_CONCURRENCY


# Folders holding workflow files, relative to the config file (or the current folder).
_WORKFLOWS = "./examples"

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "workflows",
        "LIGHTFLOW_WORKFLOWS",
        "paths",
        [_WORKFLOWS],
        "folders holding workflow files (a workflow's name is its file name without .py)",
    ),
    Setting(
        "address",
        "LIGHTFLOW_ADDRESS",
        "str",
        "",
        "scheduler replicas, comma separated; empty: the stack `lfctl up` runs in this folder",
    ),
    Setting("token", "LIGHTFLOW_TOKEN", "str", "", "the shared token every call carries", True),
    Setting("tls.ca", "LIGHTFLOW_TLS_CA", "path", "", "CA certificate (PEM) that turns on TLS"),
    Setting("tls.cert", "LIGHTFLOW_TLS_CERT", "path", "", "client certificate (mutual TLS)"),
    Setting("tls.key", "LIGHTFLOW_TLS_KEY", "path", "", "client certificate's key"),
    Setting("log_level", "LIGHTFLOW_LOG_LEVEL", "str", defaults.LOG_LEVEL, "services' log level"),
    Setting(
        "stack.schedulers",
        "LIGHTFLOW_STACK_SCHEDULERS",
        "int",
        StackSettings.schedulers,
        "replicas of lfctl up/run",
    ),
    Setting(
        "stack.workers",
        "LIGHTFLOW_STACK_WORKERS",
        "int",
        StackSettings.workers,
        "workers of lfctl up",
    ),
    Setting(
        "stack.concurrency",
        "LIGHTFLOW_STACK_CONCURRENCY",
        "int",
        StackSettings.concurrency,
        "slots per worker",
    ),
    Setting(
        "scheduler.listen",
        "LIGHTFLOW_SCHEDULER_LISTEN",
        "str",
        defaults.SCHEDULER_LISTEN,
        "host:port",
    ),
    Setting(
        "scheduler.redis_url",
        "LIGHTFLOW_REDIS_URL",
        "str",
        defaults.REDIS_URL,
        "the redis holding all run state",
    ),
    Setting(
        "scheduler.redis_password",
        "LIGHTFLOW_REDIS_PASSWORD",
        "str",
        "",
        "redis' password (given to the scheduler by environment, never on its command line)",
        True,
    ),
    Setting(
        "scheduler.redis_sentinels",
        "LIGHTFLOW_REDIS_SENTINELS",
        "str",
        "",
        "Redis Sentinel addresses host:port,...; set: the primary they name, not redis_url's",
    ),
    Setting(
        "scheduler.redis_sentinel_service",
        "LIGHTFLOW_REDIS_SENTINEL_SERVICE",
        "str",
        defaults.REDIS_SENTINEL_SERVICE,
        "the name the sentinels monitor the primary under",
    ),
    Setting(
        "scheduler.redis_wait_replicas",
        "LIGHTFLOW_REDIS_WAIT_REPLICAS",
        "int",
        defaults.REDIS_WAIT_REPLICAS,
        "replicas each state transition must reach before it is acknowledged (redis WAIT)",
    ),
    Setting(
        "scheduler.store_address",
        "LIGHTFLOW_STORE_ADDRESS",
        "str",
        defaults.STORE_ADDRESS,
        "the store service",
    ),
    Setting(
        "scheduler.namespace",
        "LIGHTFLOW_NAMESPACE",
        "str",
        defaults.NAMESPACE,
        "prefix of redis keys",
    ),
    Setting(
        "scheduler.lease_timeout",
        "LIGHTFLOW_LEASE_TIMEOUT",
        "float",
        defaults.LEASE_TIMEOUT_S,
        "seconds without heartbeat before a task is handed out again",
    ),
    Setting(
        "scheduler.retention",
        "LIGHTFLOW_RETENTION",
        "int",
        defaults.RETENTION_S,
        "seconds an ended run's state, events and printed lines stay readable",
    ),
    Setting(
        "scheduler.max_output_lines",
        "LIGHTFLOW_MAX_OUTPUT_LINES",
        "int",
        defaults.MAX_OUTPUT_LINES,
        "printed lines a run keeps (the oldest are trimmed first)",
    ),
    Setting(
        "scheduler.max_dag_instances",
        "LIGHTFLOW_MAX_DAG_INSTANCES",
        "int",
        defaults.MAX_DAG_INSTANCES,
        "DAG instances one run may start",
    ),
    Setting("store.listen", "LIGHTFLOW_STORE_LISTEN", "str", defaults.STORE_ADDRESS, "host:port"),
    Setting(
        "store.mongodb_uri",
        "LIGHTFLOW_MONGODB_URI",
        "str",
        "",
        "MongoDB to keep documents in; empty: the embedded store",
    ),
    Setting(
        "store.data_dir",
        "LIGHTFLOW_STORE_DATA_DIR",
        "path",
        "",
        "embedded store folder; empty: in memory",
    ),
    Setting(
        "store.database",
        "LIGHTFLOW_STORE_DATABASE",
        "str",
        defaults.STORE_DATABASE,
        "database name",
    ),
    Setting(
        "worker.queues",
        "LIGHTFLOW_WORKER_QUEUES",
        "list",
        list(defaults.WORKER_QUEUES),
        "queues to serve",
    ),
    Setting(
        "worker.concurrency",
        "LIGHTFLOW_WORKER_CONCURRENCY",
        "int",
        defaults.WORKER_CONCURRENCY,
        "task slots",
    ),
    Setting(
        "worker.listen",
        "LIGHTFLOW_WORKER_LISTEN",
        "str",
        defaults.WORKER_LISTEN,
        "health service host:port",
    ),
    Setting(
        "worker.max_line_length",
        "LIGHTFLOW_WORKER_MAX_LINE_LENGTH",
        "int",
        defaults.MAX_LINE_CHARS,
        "a printed line longer than this is cut",
    ),
    Setting(
        "worker.output_rate",
        "LIGHTFLOW_WORKER_OUTPUT_RATE",
        "float",
        defaults.OUTPUT_LINES_PER_S,
        "lines a second a task may print; more are dropped and counted",
    ),
    Setting(
        "worker.output_bytes_rate",
        "LIGHTFLOW_WORKER_OUTPUT_BYTES_RATE",
        "float",
        defaults.OUTPUT_BYTES_PER_S,
        "bytes a second a task may print; more are dropped and counted",
    ),
)
_BY_KEY = {s.key: s for s in SETTINGS}


def _toml(value: Any) -> str:
    """A default as the config file writes it (the values here are plain strings and numbers,
    which JSON writes as TOML does)."""
    return json.dumps(value)


DEFAULT_CONFIG = f"""\
# Lightflow configuration (TOML), read by lfctl and by the services it starts
# (`lfctl scheduler start`, `lfctl store start`, `lfctl worker start`).
# Looked up in: -c PATH, $LIGHTFLOW_CONFIG, ./lightflow.cfg, ~/lightflow.cfg.
# A LIGHTFLOW_* environment variable wins over a value here (`lfctl config list` names them);
# command-line options win over both. Relative paths are relative to this file.

# Folders holding workflow files; a workflow's name is its file name without ".py".
workflows = {_toml([_WORKFLOWS])}

# Scheduler replicas to talk to, comma separated. Empty: the stack `lfctl up` runs in this
# folder.
address = ""

# The shared token every call must carry. Better kept out of files: $LIGHTFLOW_TOKEN.
# token = ""

# TLS for calls to the services: the CA that signed their certificates, and this client's
# certificate and key when they require mutual TLS.
[tls]
# ca = "certs/ca.pem"
# cert = "certs/client.pem"
# key = "certs/client.key"

# The local stack of `lfctl up` and `lfctl run`.
[stack]
schedulers = {_toml(StackSettings.schedulers)}
workers = {_toml(StackSettings.workers)}
concurrency = {_toml(StackSettings.concurrency)}

# `lfctl scheduler start`
[scheduler]
listen = {_toml(defaults.SCHEDULER_LISTEN)}
redis_url = {_toml(defaults.REDIS_URL)}
# redis' password. Better kept out of files: $LIGHTFLOW_REDIS_PASSWORD.
# redis_password = ""
# Redis Sentinel: the sentinels' addresses ("host:port,host:port") and the name they monitor
# the primary under; the schedulers follow a failover. Empty: redis_url's redis.
redis_sentinels = ""
redis_sentinel_service = {_toml(defaults.REDIS_SENTINEL_SERVICE)}
# Replicas each state transition must reach before it is acknowledged (redis WAIT); 0: none.
redis_wait_replicas = {_toml(defaults.REDIS_WAIT_REPLICAS)}
store_address = {_toml(defaults.STORE_ADDRESS)}
namespace = {_toml(defaults.NAMESPACE)}
lease_timeout = {_toml(defaults.LEASE_TIMEOUT_S)}
# Seconds an ended run's state, events and printed lines stay readable.
retention = {_toml(defaults.RETENTION_S)}
# Printed lines a run keeps; past this its oldest lines are trimmed (never its transitions).
max_output_lines = {_toml(defaults.MAX_OUTPUT_LINES)}
# DAG instances one run may start (signal.start_dag); the start past it fails its task.
max_dag_instances = {_toml(defaults.MAX_DAG_INSTANCES)}

# `lfctl store start`
[store]
listen = {_toml(defaults.STORE_ADDRESS)}
mongodb_uri = ""   # e.g. "mongodb://127.0.0.1:27017"; empty: the embedded store
data_dir = ""      # embedded store folder; empty: in memory
database = {_toml(defaults.STORE_DATABASE)}

# `lfctl worker start`
[worker]
queues = {_toml(list(defaults.WORKER_QUEUES))}
concurrency = {_toml(defaults.WORKER_CONCURRENCY)}
listen = {_toml(defaults.WORKER_LISTEN)}
# What a task may print: lines are cut at max_line_length characters; past output_rate lines
# or output_bytes_rate bytes a second they are dropped, and a marker line counts them.
max_line_length = {_toml(defaults.MAX_LINE_CHARS)}
output_rate = {_toml(defaults.OUTPUT_LINES_PER_S)}
output_bytes_rate = {_toml(defaults.OUTPUT_BYTES_PER_S)}
"""


class ConfigError(Exception):
    """A config file, or a LIGHTFLOW_* variable, that cannot be used."""


@dataclass(frozen=True)
class Value:
    """A setting's effective value and where it came from."""

    value: Any
    # "default", "file /path/lightflow.cfg" or "env LIGHTFLOW_X"
    source: str


@dataclass(frozen=True)
class CliConfig:
    workflow_folders: tuple[Path, ...] = (Path("examples"),)
    address: str = ""
    stack: StackSettings = field(default_factory=StackSettings)
    path: Path | None = None
    values: Mapping[str, Value] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        """The effective value of a setting (its default when no config was loaded)."""
        found = self.values.get(key)
        return found.value if found is not None else _convert(_BY_KEY[key], _BY_KEY[key].default)

    def source(self, key: str) -> str:
        found = self.values.get(key)
        return found.source if found is not None else "default"


def find_config(explicit: Path | None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit
    env = os.environ.get("LIGHTFLOW_CONFIG")
    if env:
        if not Path(env).is_file():
            raise ConfigError(f"config file {env} (from LIGHTFLOW_CONFIG) does not exist")
        return Path(env)
    for candidate in (Path.cwd() / CONFIG_NAME, Path.home() / CONFIG_NAME):
        if candidate.is_file():
            return candidate
    return None


def _flatten(raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in raw.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{key}."))
        else:
            flat[key] = value
    return flat


def _convert(setting: Setting, raw: Any, base: Path | None = None) -> Any:
    """A raw value (from TOML, or an environment string) as the setting's kind; paths
    relative to `base` (the config file's folder) or the current folder."""
    kind = setting.kind
    if kind in {"list", "paths"}:
        if isinstance(raw, str):
            separator = os.pathsep if kind == "paths" else ","
            raw = [part.strip() for part in raw.split(separator) if part.strip()]
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            raise TypeError("expected a list of strings")
        if kind == "paths":
            return [(base or Path.cwd()) / item for item in raw]
        return list(raw)
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise TypeError("expected an integer")
        return int(raw)
    if kind == "float":
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise TypeError("expected a number")
        return float(raw)
    if not isinstance(raw, str):
        raise TypeError("expected a string")
    if kind == "path" and raw:
        return str((base or Path.cwd()) / raw)
    return raw


def load_config(
    explicit: Path | None = None, environ: Mapping[str, str] | None = None
) -> CliConfig:
    """The effective configuration: defaults, then the config file, then LIGHTFLOW_*
    variables. Raises ConfigError, naming the file or variable, for anything unusable."""
    environ = os.environ if environ is None else environ
    path = find_config(explicit)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = _flatten(tomllib.loads(path.read_text()))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(f"cannot read config file {path}: {err}") from err
        unknown = sorted(set(raw) - set(_BY_KEY))
        if unknown:
            raise ConfigError(
                f"config file {path}: unknown setting {unknown[0]!r}"
                " (`lfctl config list` shows them all)"
            )
    base = path.resolve().parent if path is not None else None
    values: dict[str, Value] = {}
    for setting in SETTINGS:
        where = "default"
        try:
            if environ.get(setting.env):
                where = f"env {setting.env}"
                values[setting.key] = Value(_convert(setting, environ[setting.env]), where)
            elif setting.key in raw:
                where = f"file {path}"
                values[setting.key] = Value(_convert(setting, raw[setting.key], base), where)
            else:
                values[setting.key] = Value(_convert(setting, setting.default), "default")
        except (TypeError, ValueError) as err:
            what = setting.env if where.startswith("env") else f"{setting.key!r} in {path}"
            raise ConfigError(f"invalid {what}: {err}") from err
    for key in ("stack.schedulers", "stack.concurrency", "worker.concurrency"):
        if values[key].value < 1:
            raise ConfigError(f"invalid {key} ({values[key].source}): must be at least 1")
    if values["stack.workers"].value < 0:
        raise ConfigError(f"invalid stack.workers ({values['stack.workers'].source}): below 0")
    return CliConfig(
        workflow_folders=tuple(values["workflows"].value),
        address=values["address"].value,
        stack=StackSettings(
            schedulers=values["stack.schedulers"].value,
            workers=values["stack.workers"].value,
            concurrency=values["stack.concurrency"].value,
        ),
        path=path,
        values=values,
    )


def shown(config: CliConfig) -> list[tuple[str, str, str]]:
    """(key, value, source) of every setting, secrets masked, for `lfctl config list`."""
    rows = []
    for setting in SETTINGS:
        value = config.get(setting.key)
        text = ", ".join(str(item) for item in value) if isinstance(value, list) else str(value)
        if setting.secret and text:
            text = "****"
        text = re.sub(r"//[^/@]*@", "//****@", text)  # credentials in a URL
        rows.append((setting.key, text, config.source(setting.key)))
    return rows
