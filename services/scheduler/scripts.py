"""The Lua scripts of a task hop, each prefixed with the shared library and the key builders."""

from __future__ import annotations

from importlib import resources

import redis

from lightflow_scheduler.keys import lua_key_builders

_NAMES = (
    "start_run",
    "dispatch",
    "complete",
    "requeue",
    "start_dag",
    "stop_run",
    "stop_dag",
    "promote",
    "deadline",
    "output",
    "document",
)


class Scripts:
    def __init__(self, client: redis.Redis) -> None:
        folder = resources.files("lightflow_scheduler") / "lua"
        prelude = "local P = ARGV[1]\n" + lua_key_builders() + (folder / "_lib.lua").read_text()
        self._scripts = {
            name: client.register_script(prelude + (folder / f"{name}.lua").read_text())
            for name in _NAMES
        }

    def __getattr__(self, name: str) -> redis.commands.core.Script:
        try:
            return self._scripts[name]
        except KeyError as err:
            raise AttributeError(name) from err
