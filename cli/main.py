"""lfctl: the Lightflow command line. Every command talks gRPC to the scheduler replicas;
`lfctl run` and `lfctl up` also start a local stack of real service processes, and
`lfctl scheduler|store|worker start` run one service in the foreground.

This module is the root group: the global options, and the command groups of
lightflow_cli.commands wired under it; `lfctl` runs it from lightflow_cli.__main__. Where the
commands find Lightflow (address, token, TLS) is lightflow_cli.context; how they show things,
lightflow_cli.views and _output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lightflow_cli.commands.config import config
from lightflow_cli.commands.local import dashboard, run, up
from lightflow_cli.commands.monitor import monitor
from lightflow_cli.commands.schedule import schedule
from lightflow_cli.commands.services import health, scheduler, store_start, worker_start
from lightflow_cli.commands.store import store
from lightflow_cli.commands.worker import worker
from lightflow_cli.commands.workflow import workflow
from lightflow_cli.context import USER_ERRORS, Context


class _Lfctl(click.Group):
    """The top-level group: a user error from any command, however deep, is one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as err:
            raise click.ClickException(str(err)) from err


# -h as well as --help, on every command (subcommands inherit their parent's setting).
_CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


@click.group(cls=_Lfctl, context_settings=_CONTEXT_SETTINGS)
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Config file (default: $LIGHTFLOW_CONFIG, ./lightflow.cfg, ~/lightflow.cfg).",
)
@click.option(
    "--address",
    envvar="LIGHTFLOW_ADDRESS",
    default=None,
    help="Scheduler replica addresses, comma separated [env LIGHTFLOW_ADDRESS].",
)
@click.option(
    "--token", envvar="LIGHTFLOW_TOKEN", default=None, help="Shared token [env LIGHTFLOW_TOKEN]."
)
@click.option(
    "--tls-ca",
    envvar="LIGHTFLOW_TLS_CA",
    type=click.Path(path_type=Path),
    default=None,
    help="CA certificate (PEM) to check the services with; turns on TLS [env LIGHTFLOW_TLS_CA].",
)
@click.option(
    "--tls-cert",
    envvar="LIGHTFLOW_TLS_CERT",
    type=click.Path(path_type=Path),
    default=None,
    help="Client certificate (PEM) for mutual TLS [env LIGHTFLOW_TLS_CERT].",
)
@click.option(
    "--tls-key",
    envvar="LIGHTFLOW_TLS_KEY",
    type=click.Path(path_type=Path),
    default=None,
    help="The client certificate's key (PEM) [env LIGHTFLOW_TLS_KEY].",
)
@click.version_option(package_name="lightflow")
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: Path | None,
    address: str | None,
    token: str | None,
    tls_ca: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
) -> None:
    """Lightflow: a lightweight, distributed workflow system.

    Settings come from the config file, LIGHTFLOW_* environment variables and options, in
    that order of precedence from lowest to highest; `lfctl config list` shows the result."""
    ctx.obj = Context(config_path, address, token, (tls_ca, tls_cert, tls_key))


for command in (
    run,
    up,
    dashboard,
    workflow,
    schedule,
    monitor,
    health,
    worker,
    store,
    config,
    scheduler,
):
    cli.add_command(command)
store.add_command(store_start)
worker.add_command(worker_start)
