"""Client-side TLS: the options a client takes, and channels built from them.

Certificates are given as file paths (PEM). The server's certificate is checked against `ca`
(the system roots when `ca` is not given); `cert` and `key` together are the client's own
certificate, for servers that require mutual TLS. The shared token still travels in the call
metadata; TLS keeps it, and everything else, off the wire in clear text."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from lightflow._errors import LightflowError
from lightflow._grpc import CHANNEL_OPTIONS, Bearer, TokenChannel, open_channel

PathLike = str | os.PathLike[str]


class TlsConfigError(LightflowError):
    """TLS options that cannot be used: a missing file, or a certificate without its key."""


@dataclass(frozen=True)
class TlsOptions:
    """PEM file paths for a TLS channel. All optional; an empty TlsOptions still means TLS,
    with the server checked against the system's root certificates."""

    # Certificate authority to check the server's certificate with; None: system roots.
    ca: Path | None = None
    # The client's certificate and its private key (mutual TLS); both or neither.
    cert: Path | None = None
    key: Path | None = None
    # Name to check the server's certificate for, when it differs from the address's host.
    server_name: str | None = None

    @classmethod
    def from_paths(
        cls,
        ca: PathLike | None = None,
        cert: PathLike | None = None,
        key: PathLike | None = None,
        *,
        server_name: str | None = None,
    ) -> TlsOptions | None:
        """TlsOptions from optional paths; None when no path (and no name) is given,
        meaning a plain channel."""
        if ca is None and cert is None and key is None and server_name is None:
            return None
        if (cert is None) != (key is None):
            raise TlsConfigError(
                "a TLS client certificate needs its key, and the key its certificate"
            )
        return cls(
            ca=Path(ca) if ca is not None else None,
            cert=Path(cert) if cert is not None else None,
            key=Path(key) if key is not None else None,
            server_name=server_name,
        )

    def credentials(self) -> grpc.ChannelCredentials:
        """The channel credentials; reads the files now, so a bad path fails here."""
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca, "TLS CA certificate"),
            private_key=_read(self.key, "TLS client key"),
            certificate_chain=_read(self.cert, "TLS client certificate"),
        )


def _read(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as err:
        raise TlsConfigError(f"cannot read the {what} {path}: {err.strerror or err}") from err


def connect(address: str, token: Bearer = None, tls: TlsOptions | None = None) -> grpc.Channel:
    """A channel to one service ("host:port"): TLS when `tls` is given, plain otherwise; the
    token rides in every call's metadata either way."""
    if tls is None:
        return open_channel(address, token)
    options = list(CHANNEL_OPTIONS)
    if tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    channel = grpc.secure_channel(address, tls.credentials(), options=options)
    return TokenChannel(channel, token)
