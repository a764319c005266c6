"""Where lfctl's commands find Lightflow, resolved in one place: the scheduler replicas'
address, the shared token and the TLS files from the options (and their LIGHTFLOW_*
variables), else the config file, else the stack `lfctl up` runs in this folder; the store's
address for `lfctl store`. Also how a user's mistake ends: one line, exit status 1."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from lightflow import Client, ClientError, LightflowError
from lightflow._grpc import split_addresses
from lightflow._stackfile import read_stack_file
from lightflow_cli._procs import ProcessStartError
from lightflow_cli.config import CliConfig, ConfigError, load_config

F = TypeVar("F", bound=Callable[..., Any])

# Errors a user can make; a command ends them in one clear line and exit status 1.
USER_ERRORS = (LightflowError, ConfigError, ProcessStartError)

# A command for a person: give up on unreachable schedulers after a few seconds, not 30.
CLI_FAILOVER_SECONDS = 5.0


def user_errors(fn: F) -> F:
    """Errors a user can make end in one clear line and exit status 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as err:
            raise click.ClickException(str(err)) from err

    return wrapper  # type: ignore[return-value]


class Context:
    """What every command may need: the config (loaded on first use) and a client."""

    def __init__(
        self,
        config_path: Path | None,
        address: str | None,
        token: str | None,
        tls: tuple[Path | None, Path | None, Path | None] = (None, None, None),
    ) -> None:
        self._config_path = config_path
        self._address = address
        self._token = token
        self._tls = tls
        self._config: CliConfig | None = None

    @property
    def config(self) -> CliConfig:
        if self._config is None:
            self._config = load_config(self._config_path)
        return self._config

    def token(self) -> str | None:
        """--token / $LIGHTFLOW_TOKEN, else the config file's, else the local stack's."""
        if self._token:
            return self._token
        configured = str(self.config.get("token"))
        if configured:
            return configured
        stack = read_stack_file(Path.cwd())
        return stack.token if stack is not None else None

    def address(self) -> str:
        """--address / $LIGHTFLOW_ADDRESS, else the config file's, else the local stack's."""
        address = self._address or self.config.address
        if not address:
            stack = read_stack_file(Path.cwd())
            if stack is None:
                raise ClientError(
                    "no Lightflow stack found: start one with `lfctl up` in this folder,"
                    " or give --address / LIGHTFLOW_ADDRESS"
                )
            address = ",".join(stack.scheduler_addresses)
        return address

    def tls_paths(self) -> tuple[str | None, str | None, str | None]:
        keys = ("tls.ca", "tls.cert", "tls.key")
        return tuple(  # type: ignore[return-value]
            str(given) if given else (str(self.config.get(key)) or None)
            for given, key in zip(self._tls, keys, strict=True)
        )

    def client(self) -> Client:
        ca, cert, key = self.tls_paths()
        return Client(
            self.address(),
            token=self.token(),
            tls_ca=ca,
            tls_cert=cert,
            tls_key=key,
            failover_timeout=CLI_FAILOVER_SECONDS,
        )


pass_context = click.make_pass_decorator(Context)


def store_connection(store_address: str | None) -> tuple[str, str | None, list[str]]:
    """The store's address and the shared token: from the option or LIGHTFLOW_STORE_ADDRESS,
    else from the stack of this folder; the token from LIGHTFLOW_TOKEN, else the stack; the
    schedulers from LIGHTFLOW_ADDRESS, else the stack (none: no document is asked for)."""
    stack = read_stack_file(Path.cwd())
    address = store_address or (stack.store_address if stack is not None else None)
    if not address:
        raise click.ClickException(
            "no store address: run `lfctl up` in this folder, or give --store-address "
            "(or LIGHTFLOW_STORE_ADDRESS)"
        )
    token = os.environ.get("LIGHTFLOW_TOKEN") or (stack.token if stack is not None else None)
    given = os.environ.get("LIGHTFLOW_ADDRESS", "")
    schedulers = split_addresses(given) if given.strip(" ,") else []
    if not schedulers and stack is not None:
        schedulers = stack.scheduler_addresses
    return address, token, schedulers
