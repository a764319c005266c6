"""`lightflow-web`'s command line and `serve(config)`: the dashboard and HTTP API on uvicorn."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import click
import structlog
import uvicorn

from lightflow import Client
from lightflow._grpc import split_addresses
from lightflow._store import StoreClient
from lightflow_common import defaults
from lightflow_common.logging import configure_logging
from lightflow_common.tls import client_tls, tls_options
from lightflow_web.config import WebConfig
from lightflow_web.core import AnswerAtOnce, WebCore
from lightflow_web.http import WebApp

log = structlog.get_logger(__name__)


@click.command()
@click.option(
    "--listen",
    envvar="LIGHTFLOW_WEB_LISTEN",
    default=WebConfig.listen,
    show_default=True,
    help="host:port to serve HTTP on; port 0 picks a free one.",
)
@click.option(
    "--scheduler",
    "schedulers",
    envvar="LIGHTFLOW_ADDRESS",
    default=defaults.SCHEDULER_LISTEN,
    show_default=True,
    help="Scheduler replicas to call, comma-separated host:port.",
)
@click.option(
    "--token",
    envvar="LIGHTFLOW_TOKEN",
    default=None,
    help="The stack's token: what the sign-in page takes, and what the schedulers get.",
)
@click.option(
    "--store-address",
    envvar="LIGHTFLOW_STORE_ADDRESS",
    default=None,
    help="The store service, for the provenance of ended runs that kept their data.",
)
@click.option(
    "--session-hours",
    type=click.FloatRange(min=0.01),
    default=WebConfig.session_s / 3600,
    show_default=True,
    help="How long a sign-in lasts.",
)
@click.option(
    "--ready-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the bound address here once serving.",
)
@click.option(
    "--log-level",
    envvar="LIGHTFLOW_LOG_LEVEL",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default=WebConfig.log_level,
    show_default=True,
)
@tls_options
def main(**options: Any) -> None:
    """Serve the Lightflow dashboard and HTTP API (docs/http-api.md)."""
    serve(config_from_options(**options))


def config_from_options(
    *,
    listen: str,
    schedulers: str,
    token: str | None,
    store_address: str | None,
    session_hours: float,
    ready_file: Path | None,
    log_level: str,
    tls_cert: Path | None,
    tls_key: Path | None,
    tls_ca: Path | None,
    tls_client_auth: bool,
) -> WebConfig:
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("HTTPS needs both --tls-cert and --tls-key")
    # --tls-client-auth is the stack's (the services ask each other for certificates); the
    # web service presents its own to the schedulers, and asks browsers for none.
    del tls_client_auth
    return WebConfig(
        listen=listen,
        schedulers=tuple(split_addresses(schedulers)),
        token=token or None,
        store_address=store_address or None,
        session_s=int(session_hours * 3600),
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls_ca=tls_ca,
        ready_file=ready_file,
        log_level=log_level.lower(),
    )


def _bind(listen: str) -> socket.socket:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, int(port)))
    except (OSError, ValueError) as err:
        sock.close()
        raise click.UsageError(f"cannot serve on {listen!r}: {err}") from err
    sock.listen(512)
    return sock


def serve(config: WebConfig) -> None:
    """Serves until SIGTERM or SIGINT."""
    configure_logging(config.log_level)
    calling = client_tls(config.tls_cert, config.tls_key, config.tls_ca)
    client = Client(
        list(config.schedulers),
        token=config.token,
        tls_ca=config.tls_ca,
        tls_cert=config.tls_cert if calling else None,
        tls_key=config.tls_key if calling else None,
    )
    store = (
        StoreClient(
            config.store_address,
            config.token,
            tls=calling,
            retry_seconds=2.0,
            documents=AnswerAtOnce(),
        )
        if config.store_address
        else None
    )
    web = WebApp(config, client, WebCore(client, store))
    sock = _bind(config.listen)
    host = sock.getsockname()[0]
    address = f"{host}:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(
            web.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            ssl_certfile=str(config.tls_cert) if config.tls_cert else None,
            ssl_keyfile=str(config.tls_key) if config.tls_key else None,
            timeout_graceful_shutdown=3,
        )
    )

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        if not server.started:
            return
        scheme = "https" if config.tls_cert else "http"
        log.info("serving", address=address, url=f"{scheme}://{address}/")
        if config.ready_file is not None:
            tmp = config.ready_file.with_suffix(".tmp")
            tmp.write_text(address)
            tmp.replace(config.ready_file)

    threading.Thread(target=announce, name="announce", daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        client.close()
        if store is not None:
            store.close()
