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

from lightflow._grpc import SERVER_OPTIONS
from lightflow._wire.headers import BEARER_PREFIX, TOKEN_HEADER, bearer
from lightflow_common.credentials import RUN_CREDENTIAL_PREFIX, RunCredentials, run_of
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
    # The largest message a caller may send, in bytes: what the service's largest RPC
    # needs. gRPC refuses a longer one from its length prefix, before reading it.
    max_receive_bytes: int = 4 * 1024 * 1024
    # Full method names a task's run credential opens (for its own run only: the servicer
    # checks the run, see `credential_run`); every other method needs the stack token.
    run_credential_methods: frozenset[str] = frozenset()


def _deny(message: str, code: grpc.StatusCode = grpc.StatusCode.UNAUTHENTICATED) -> Any:
    """A handler refusing a call without reading its request: a request-streaming handler
    is given no message until it asks for one, so an unauthenticated 500 MB message costs
    the service nothing but the flow-control window."""

    def deny(_requests: Any, context: grpc.ServicerContext) -> None:
        context.abort(code, message)

    return grpc.stream_stream_rpc_method_handler(deny)


class _TokenCheck(grpc.ServerInterceptor):  # type: ignore[misc]
    """The stack token opens every method; a run credential opens `run_methods`. Checked on
    the call's headers, before its request is read."""

    def __init__(self, token: str, run_methods: frozenset[str]) -> None:
        self._expected = bearer(token).encode()
        self._run_methods = run_methods
        self._credentials = RunCredentials(token)
        self._run_prefix = bearer(RUN_CREDENTIAL_PREFIX)
        self._deny_token = _deny("missing or wrong Lightflow token")
        self._deny_scope = _deny(
            "a task's run credential does not open this call", grpc.StatusCode.PERMISSION_DENIED
        )

    def intercept_service(self, continuation: Callable[..., Any], details: Any) -> Any:
        if details.method in _OPEN_METHODS:
            return continuation(details)
        for key, value in details.invocation_metadata or ():
            if key != TOKEN_HEADER:
                continue
            text = value if isinstance(value, str) else value.decode(errors="replace")
            if hmac.compare_digest(text.encode(), self._expected):
                return continuation(details)
            if text.startswith(self._run_prefix):
                if self._credentials.verify(text[len(BEARER_PREFIX) :]) is None:
                    return self._deny_token
                if details.method not in self._run_methods:
                    return self._deny_scope
                return continuation(details)
        return self._deny_token


def credential_run(context: grpc.ServicerContext) -> str | None:
    """The run whose credential the call carries (the token check verified it), or None when
    the caller holds the stack token (or the service has none)."""
    for key, value in context.invocation_metadata() or ():
        if key == TOKEN_HEADER:
            text = value if isinstance(value, str) else value.decode(errors="replace")
            return run_of(text.removeprefix(BEARER_PREFIX))
    return None


def check_run_access(context: grpc.ServicerContext, run_id: str) -> None:
    """Refuses (PERMISSION_DENIED) a call on `run_id` made with another run's credential."""
    scope = credential_run(context)
    if scope is not None and scope != run_id:
        context.abort(
            grpc.StatusCode.PERMISSION_DENIED,
            f"a task of run {scope!r} may not touch run {run_id[:100]!r}",
        )


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
    interceptors = (
        [_TokenCheck(options.token, options.run_credential_methods)] if options.token else []
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=options.max_workers, thread_name_prefix="rpc"),
        options=[
            *SERVER_OPTIONS,
            ("grpc.max_receive_message_length", options.max_receive_bytes),
        ],
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
