"""The Python Client's own behaviour against real processes: balancing over replicas,
fail-over, errors with the server's message, and TLS channels."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2_grpc

from lightflow import Client, ClientError, LightflowError
from lightflow_cli.stack import LocalStack
from tests.conftest import EXAMPLES, dump_logs


def test_calls_are_spread_over_the_replicas_and_fail_over(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(schedulers=2)
    with Client(stack.scheduler_addresses, token=stack.options.token) as client:
        client.register(EXAMPLES / "sequential.py")
        runs = [client.start("sequential") for _ in range(4)]
        assert [run.wait(timeout=60) for run in runs] == ["succeeded"] * 4, dump_logs(stack)
        logs = [p.read_text() for p in sorted(stack.log_dir.glob("scheduler-*.log"))]
        assert all("run_started" in log for log in logs)  # both replicas started runs

        stack.schedulers[0].kill()
        run = client.start("sequential")  # whichever replica is next, the call lands
        assert run.wait(timeout=60) == "succeeded"
        assert client.get_run(run.id).status == "succeeded"


def test_errors_carry_the_servers_message_and_code(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(schedulers=1, workers=0)
    with Client(stack.scheduler_addresses, token=stack.options.token) as client:
        with pytest.raises(ClientError) as not_found:
            client.start("nope")
        assert not_found.value.code == "NOT_FOUND"
        assert "nope" in str(not_found.value)
        with pytest.raises(ClientError, match="unknown run status 'happy'"):
            client.list_runs(status="happy")
    with Client(stack.scheduler_addresses, token="wrong") as client:
        with pytest.raises(ClientError) as denied:
            client.list_workflows()
        assert denied.value.code == "UNAUTHENTICATED"
    unreachable = Client("127.0.0.1:1", failover_timeout=0.5)
    with pytest.raises(ClientError, match=r"no scheduler replica answers at 127\.0\.0\.1:1"):
        unreachable.list_runs()
    unreachable.close()


# -- TLS ------------------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for localhost signed by it, and a client certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not on PATH")
    folder = tmp_path_factory.mktemp("certs")
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.pem", cwd=folder,
    )  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name in ("server", "client"):
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=folder,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", f"{name}.pem",
            cwd=folder,
        )  # fmt: skip
    return folder


@pytest.fixture
def tls_server(certificates: Path) -> Iterator[str]:
    """A gRPC server with TLS that requires a client certificate, serving health only."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    credentials = grpc.ssl_server_credentials(
        [((certificates / "server.key").read_bytes(), (certificates / "server.pem").read_bytes())],
        root_certificates=(certificates / "ca.pem").read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(0)


def test_a_client_with_tls_options_speaks_tls(certificates: Path, tls_server: str) -> None:
    tls = {
        "tls_ca": certificates / "ca.pem",
        "tls_cert": certificates / "client.pem",
        "tls_key": certificates / "client.key",
    }
    client = Client(tls_server, token="t", **tls)  # type: ignore[arg-type]
    with pytest.raises(ClientError) as reached:
        client.list_workflows()
    client.close()
    # The handshake worked and the call reached the server, which has no SchedulerService.
    assert reached.value.code == "UNIMPLEMENTED"

    client = Client(tls_server, tls_ca=certificates / "ca.pem", failover_timeout=0.5)
    with pytest.raises(ClientError) as refused:
        client.list_workflows()  # no client certificate: the server refuses the handshake
    client.close()
    assert refused.value.code == "UNAVAILABLE"

    with Client(tls_server, failover_timeout=0.5) as client, pytest.raises(ClientError):
        client.list_workflows()  # plain text to a TLS server

    with pytest.raises(LightflowError, match="cannot read the TLS CA certificate"):
        Client(tls_server, tls_ca=certificates / "missing.pem")
    with pytest.raises(LightflowError, match="needs its key"):
        Client(tls_server, tls_cert=certificates / "client.pem")

    probe = subprocess.run(
        [sys.executable, "-m", "lightflow_cli", "--tls-ca", str(certificates / "ca.pem"),
         "--tls-cert", str(certificates / "client.pem"),
         "--tls-key", str(certificates / "client.key"), "health", tls_server],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == f"{tls_server}: SERVING"
