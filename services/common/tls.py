"""Server-side TLS: the certificate files a service is given, as gRPC credentials."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import grpc

from lightflow._tls import TlsOptions


class TlsSetupError(ValueError):
    """TLS options that cannot be used; the message names the file or option."""


@dataclass(frozen=True)
class ServerTls:
    """PEM files: the service's certificate and key, and optionally a CA whose certificates
    clients must present (mutual TLS)."""

    cert: Path
    key: Path
    client_ca: Path | None = None

    @classmethod
    def from_options(
        cls, cert: Path | None, key: Path | None, client_ca: Path | None
    ) -> ServerTls | None:
        """None when no certificate is given (plain TCP, for loopback development)."""
        if cert is None and key is None:
            if client_ca is not None:
                raise TlsSetupError("--tls-client-ca needs --tls-cert and --tls-key")
            return None
        if cert is None or key is None:
            raise TlsSetupError("TLS needs both --tls-cert and --tls-key")
        return cls(cert, key, client_ca)

    def credentials(self) -> grpc.ServerCredentials:
        try:
            pair = (self.key.read_bytes(), self.cert.read_bytes())
            client_ca = self.client_ca.read_bytes() if self.client_ca is not None else None
        except OSError as err:
            raise TlsSetupError(f"cannot read a TLS file: {err}") from err
        return grpc.ssl_server_credentials(
            [pair], root_certificates=client_ca, require_client_auth=client_ca is not None
        )


def tls_options(function: Any) -> Any:
    """The TLS options every service takes (also from LIGHTFLOW_TLS_* variables)."""
    decorators = [
        click.option(
            "--tls-cert",
            envvar="LIGHTFLOW_TLS_CERT",
            type=click.Path(path_type=Path),
            default=None,
            help="This service's certificate (PEM); serves TLS.",
        ),
        click.option(
            "--tls-key",
            envvar="LIGHTFLOW_TLS_KEY",
            type=click.Path(path_type=Path),
            default=None,
            help="The certificate's private key (PEM).",
        ),
        click.option(
            "--tls-ca",
            envvar="LIGHTFLOW_TLS_CA",
            type=click.Path(path_type=Path),
            default=None,
            help="CA that signed the services' certificates: the "
            "services this one calls are checked with it (TLS on those channels).",
        ),
        click.option(
            "--tls-client-auth",
            envvar="LIGHTFLOW_TLS_CLIENT_AUTH",
            is_flag=True,
            default=False,
            help="Require clients to present a certificate signed by --tls-ca (mutual TLS).",
        ),
    ]
    for decorate in reversed(decorators):
        function = decorate(function)
    return function


def server_tls(
    cert: Path | None, key: Path | None, ca: Path | None, client_auth: bool
) -> ServerTls | None:
    """What to serve with; raises click.UsageError for options that do not fit together."""
    try:
        return ServerTls.from_options(cert, key, ca if client_auth else None)
    except TlsSetupError as err:
        raise click.UsageError(str(err)) from err


def client_tls(cert: Path | None, key: Path | None, ca: Path | None) -> TlsOptions | None:
    """How to call the other services: TLS checked against `ca` when it is given; the
    service's own certificate goes along (for servers that require client certificates)."""
    if ca is None:
        return None
    return TlsOptions(ca=ca, cert=cert, key=key)
