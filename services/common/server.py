"""Serving one Lightflow service over gRPC: thread pool, shared-token check, health, server
reflection, a ready file for whoever launched us, and a graceful stop on SIGTERM/SIGINT."""

from __future__ import annotations

import hmac
import os
import signal
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import structlog
from google.protobuf import descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from lightflow._grpc import SERVER_OPTIONS, TOKEN_METADATA_KEY
from lightflow_common.tls import ServerTls

log = structlog.get_logger(__name__)

# RPCs anybody may call without the token: load balancers and orchestrators probe health,
# and tools (grpcurl, generated clients in other languages) discover the services by
# reflection. Neither tells more than the published protos do.
_OPEN_METHODS = frozenset(
    {
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        f"/{reflection.SERVICE_NAME}/ServerReflectionInfo",
    }
)


def _described(name: str) -> bool:
    """Whether the default descriptor pool knows the service (its _pb2 module is loaded)."""
    try:
        descriptor_pool.Default().FindServiceByName(name)
    except KeyError:
        return False
    return True


@dataclass(frozen=True)
class ServeOptions:
    # "host:port"; port 0 picks a free port (written to `ready_file`).
    listen: str
    # When set, every call must carry "authorization: Bearer <token>".
    token: str | None = None
    # The bound address is written here once the service is SERVING.
    ready_file: Path | None = None
    # Handler threads: each open stream (a worker, a watcher) holds one.
    max_workers: int = 256
    # Seconds in-flight calls get to finish on SIGTERM.
    grace_seconds: float = 5.0
    # How often dependencies (redis, the store) are re-checked for the health status.
    health_interval_seconds: float = 2.0
    # Serve TLS with these files; None: plain TCP (loopback development).
    tls: ServerTls | None = None


class _TokenCheck(grpc.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

        def deny(_request: Any, context: grpc.ServicerContext) -> None:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong Lightflow token")

        self._deny_unary = grpc.unary_unary_rpc_method_handler(deny)
        self._deny_stream = grpc.stream_stream_rpc_method_handler(deny)

    def intercept_service(self, continuation: Callable[..., Any], details: Any) -> Any:
        if details.method in _OPEN_METHODS:
            return continuation(details)
        for key, value in details.invocation_metadata or ():
            if key == TOKEN_METADATA_KEY and hmac.compare_digest(
                value.encode() if isinstance(value, str) else value, self._expected
            ):
                return continuation(details)
        handler = continuation(details)
        if handler is not None and (handler.request_streaming or handler.response_streaming):
            return self._deny_stream
        return self._deny_unary


def serve(
    options: ServeOptions,
    register: Callable[[grpc.Server], None],
    *,
    service_names: list[str],
    healthy: Callable[[], bool],
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Run a gRPC server until SIGTERM/SIGINT. `register` adds the servicers; `healthy`
    says whether dependencies are reachable (the health status is SERVING only then)."""
    interceptors = [_TokenCheck(options.token)] if options.token else []
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=options.max_workers, thread_name_prefix="rpc"),
        options=SERVER_OPTIONS,
        interceptors=interceptors,
    )
    register(server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    # Reflection lists only services with a descriptor: a name used for health alone (the
    # worker's) has no RPCs to describe.
    reflection.enable_server_reflection(
        [
            *(name for name in service_names if _described(name)),
            health.SERVICE_NAME,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    if options.tls is not None:
        port = server.add_secure_port(options.listen, options.tls.credentials())
    else:
        port = server.add_insecure_port(options.listen)
    if port == 0:
        raise SystemExit(f"cannot listen on {options.listen}")
    host = options.listen.rsplit(":", 1)[0]
    address = f"{host}:{port}"
    server.start()

    stopped = threading.Event()

    def set_health(ok: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if ok
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ["", *service_names]:
            health_servicer.set(name, status)

    def watch_health() -> None:
        was: bool | None = None
        while not stopped.is_set():
            try:
                ok = healthy()
            except Exception:  # a health probe must never take the service down
                ok = False
            if ok != was:
                set_health(ok)
                log.info("health_changed", serving=ok)
                was = ok
            stopped.wait(options.health_interval_seconds)

    set_health(healthy())
    threading.Thread(target=watch_health, name="health", daemon=True).start()
    log.info("serving", address=address, services=service_names, pid=os.getpid())
    if options.ready_file is not None:
        tmp = options.ready_file.with_suffix(".tmp")
        tmp.write_text(address)
        tmp.replace(options.ready_file)

    def request_stop(signum: int, _frame: object) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        stopped.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stopped.wait()
    set_health(False)
    if on_stop is not None:
        on_stop()
    server.stop(options.grace_seconds).wait()
    log.info("stopped")
