"""lfctl's configuration file: TOML, looked up as the original Lightflow did:
`-c PATH`, then $LIGHTFLOW_CONFIG, ./lightflow.cfg, ~/lightflow.cfg."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_NAME = "lightflow.cfg"

DEFAULT_CONFIG = """\
# Lightflow configuration (TOML). lfctl looks for it in: -c PATH, $LIGHTFLOW_CONFIG,
# ./lightflow.cfg, ~/lightflow.cfg. Relative paths are relative to this file.

# Folders holding workflow files; a workflow's name is its file name without ".py".
workflows = ["./examples"]

# Scheduler replicas to talk to, comma separated. Empty: the stack `lfctl up` runs in this
# folder. $LIGHTFLOW_ADDRESS and --address win over it.
address = ""

# The local stack of `lfctl up` and `lfctl run`.
[stack]
schedulers = 2
workers = 1
concurrency = 4
"""


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class StackSettings:
    schedulers: int = 2
    workers: int = 1
    concurrency: int = 4


@dataclass(frozen=True)
class CliConfig:
    workflow_folders: tuple[Path, ...] = (Path("examples"),)
    address: str = ""
    stack: StackSettings = field(default_factory=StackSettings)
    path: Path | None = None


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


def load_config(explicit: Path | None = None) -> CliConfig:
    path = find_config(explicit)
    if path is None:
        return CliConfig()
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"cannot read config file {path}: {err}") from err
    base = path.resolve().parent
    try:
        folders = raw.get("workflows", ["./examples"])
        if isinstance(folders, str):
            folders = [folders]
        stack_raw = raw.get("stack", {})
        stack = StackSettings(
            schedulers=int(stack_raw.get("schedulers", 2)),
            workers=int(stack_raw.get("workers", 1)),
            concurrency=int(stack_raw.get("concurrency", 4)),
        )
        return CliConfig(
            workflow_folders=tuple(base / f for f in folders),
            address=str(raw.get("address", "")),
            stack=stack,
            path=path,
        )
    except (TypeError, ValueError, AttributeError) as err:
        raise ConfigError(f"invalid config file {path}: {err}") from err
