"""The web service's configuration, filled once in `main()`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lightflow_common import defaults


@dataclass(frozen=True)
class WebConfig:
    # "host:port" to serve HTTP on; loopback unless told otherwise. Port 0 picks a free one.
    listen: str = defaults.WEB_LISTEN
    # The scheduler replicas it calls, as any client does.
    schedulers: tuple[str, ...] = field(default=(defaults.SCHEDULER_LISTEN,))
    # The stack's token: what the sign-in page takes and what it calls the schedulers with;
    # None: no sign-in (loopback development).
    token: str | None = None
    # How long a sign-in lasts.
    session_s: int = 12 * 3600
    # Request bodies larger than this are refused (413) before they are read whole.
    max_body_bytes: int = 1024 * 1024
    # Live streams (SSE) one instance serves at once; more get 429.
    max_streams: int = 200
    # Serve HTTPS with this certificate and key (PEM; also presented to the schedulers when
    # they require client certificates); None: plain HTTP.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # The CA the schedulers' (and the store's) certificates are checked with; None: plain TCP.
    tls_ca: Path | None = None
    # The store service, for the provenance of runs that ended and kept their data; None:
    # only what the schedulers hold.
    store_address: str | None = None
    # The bound address is written here once the service answers.
    ready_file: Path | None = None
    log_level: str = defaults.LOG_LEVEL
