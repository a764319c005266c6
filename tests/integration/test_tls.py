"""TLS on every channel: clients, schedulers, workers, tasks and the store, with a throwaway
certificate authority."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
import trustme

from lightflow import Client
from lightflow._grpc import open_channel
from lightflow._tls import TlsOptions, connect
from lightflow.v1 import scheduler_pb2, scheduler_pb2_grpc
from lightflow_cli.stack import LocalStack, StackTls
from tests.conftest import EXAMPLES, dump_logs


def _files(tmp_path: Path, ca: trustme.CA, name: str) -> tuple[Path, Path]:
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    return cert, key


@pytest.fixture
def pki(tmp_path: Path) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return ca, ca_path


def test_a_mutual_tls_stack_runs_workflows_and_refuses_plain_or_anonymous_callers(
    start_stack: Callable[..., LocalStack], pki: tuple[trustme.CA, Path], tmp_path: Path
) -> None:
    ca, ca_path = pki
    cert, key = _files(tmp_path, ca, "service")
    stack = start_stack(tls=StackTls(ca_path, cert, key, client_auth=True))
    client_cert, client_key = _files(tmp_path, ca, "client")
    client = Client(
        stack.scheduler_addresses,
        token=stack.options.token,
        tls_ca=ca_path,
        tls_cert=client_cert,
        tls_key=client_key,
    )
    client.register(EXAMPLES / "data_store.py")  # tasks use the store: TLS there too
    assert client.start("data_store").wait(timeout=60) == "succeeded", dump_logs(stack)

    request = scheduler_pb2.ListWorkflowsRequest()
    plain = scheduler_pb2_grpc.SchedulerServiceStub(
        open_channel(stack.scheduler_addresses[0], stack.options.token)
    )
    with pytest.raises(grpc.RpcError) as refused:
        plain.ListWorkflows(request, timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    anonymous = scheduler_pb2_grpc.SchedulerServiceStub(
        connect(stack.scheduler_addresses[0], stack.options.token, TlsOptions(ca=ca_path))
    )
    with pytest.raises(grpc.RpcError) as refused:
        anonymous.ListWorkflows(request, timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_client_that_does_not_trust_the_ca_is_refused(
    start_stack: Callable[..., LocalStack], pki: tuple[trustme.CA, Path], tmp_path: Path
) -> None:
    ca, ca_path = pki
    cert, key = _files(tmp_path, ca, "service")
    stack = start_stack(tls=StackTls(ca_path, cert, key))
    other = trustme.CA()
    other_path = tmp_path / "other-ca.pem"
    other.cert_pem.write_to_path(str(other_path))
    stub = scheduler_pb2_grpc.SchedulerServiceStub(
        connect(stack.scheduler_addresses[0], stack.options.token, TlsOptions(ca=other_path))
    )
    with pytest.raises(grpc.RpcError) as refused:
        stub.ListWorkflows(scheduler_pb2.ListWorkflowsRequest(), timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    # The right CA works (server-only TLS: no client certificate needed).
    client = Client(stack.scheduler_addresses, token=stack.options.token, tls_ca=ca_path)
    client.register(EXAMPLES / "sequential.py")
    assert client.start("sequential").wait(timeout=60) == "succeeded", dump_logs(stack)


def test_the_dashboard_serves_https_and_calls_a_mutual_tls_stack(
    start_stack: Callable[..., LocalStack], pki: tuple[trustme.CA, Path], tmp_path: Path
) -> None:
    ca, ca_path = pki
    cert, key = _files(tmp_path, ca, "service")
    stack = start_stack(tls=StackTls(ca_path, cert, key, client_auth=True), web_port=0)
    assert stack.web_url.startswith("https://")
    trusted = ssl.create_default_context(cafile=str(ca_path))
    login = urllib.request.Request(
        stack.web_url + "api/v1/login",
        data=json.dumps({"token": stack.options.token}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(login, context=trusted, timeout=30) as response:
        assert "Secure" in response.headers["set-cookie"]
    workers = urllib.request.Request(
        stack.web_url + "api/v1/workers",
        headers={"Authorization": f"Bearer {stack.options.token}"},
    )
    with urllib.request.urlopen(workers, context=trusted, timeout=30) as response:
        assert len(json.load(response)["workers"]) == len(stack.workers)
    with pytest.raises(OSError):  # plain HTTP is not served
        urllib.request.urlopen(stack.web_url.replace("https", "http") + "login", timeout=10)
