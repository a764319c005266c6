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
from lightflow._grpc import open_channel
from lightflow.v1 import common_pb2, scheduler_pb2, scheduler_pb2_grpc
from lightflow_cli.stack import LocalStack
from tests.conftest import EXAMPLES, dump_logs, output_lines

WORKFLOWS = Path(__file__).parent / "workflows"


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


def test_start_and_wait_starts_a_run_and_returns_it_ended(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(schedulers=2)
    with Client(stack.scheduler_addresses, token=stack.options.token) as client:
        client.register(EXAMPLES / "parameters.py")
        run = client.start_and_wait("parameters", {"name": "Ada", "count": 3}, timeout=60)
        assert run.wait() == "succeeded", dump_logs(stack)
        assert client.get_run(run.id).status == "succeeded"
        lines = output_lines(list(run.events(timeout=60)))
        assert ("main_dag/arguments_task", "name='Ada' count=3 loud=False") in lines
        assert [r.id for r in client.list_runs()] == [run.id]

        with pytest.raises(ClientError) as not_found:
            client.start_and_wait("nope", timeout=60)
        assert not_found.value.code == "NOT_FOUND"
        assert "nope" in str(not_found.value)

        client.register(WORKFLOWS / "slow_chain.py")
        with pytest.raises(TimeoutError, match=r"run \w+ did not end within 0.5 s") as late:
            client.start_and_wait("slow_chain", timeout=0.5)
        slow = next(r for r in client.list_runs() if r.workflow_name == "slow_chain")
        assert slow.id in str(late.value)
        assert client.run(slow.id).wait(timeout=60) == "succeeded"  # the run went on


def test_a_retried_start_and_watch_watches_the_run_the_first_try_started(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(schedulers=2)
    with Client(stack.scheduler_addresses, token=stack.options.token) as client:
        client.register(EXAMPLES / "sequential.py")
    start = scheduler_pb2.StartRunRequest(workflow_name="sequential", request_id="once")
    request = scheduler_pb2.WatchRunRequest(
        start=start, types=[scheduler_pb2.RUN_EVENT_TYPE_RUN_ENDED]
    )
    answers = []
    for address in stack.scheduler_addresses:  # the retry lands on the other replica
        channel = open_channel(address, stack.options.token)
        stub = scheduler_pb2_grpc.SchedulerServiceStub(channel)
        answers.append(list(stub.WatchRun(request, timeout=60)))
        channel.close()
    first, retry = answers
    assert first[0].started_run_id
    assert retry[0].started_run_id == first[0].started_run_id
    assert [a.event.run_status for a in (first[-1], retry[-1])] == [
        common_pb2.RUN_STATUS_SUCCEEDED
    ] * 2
    with Client(stack.scheduler_addresses, token=stack.options.token) as client:
        assert [r.id for r in client.list_runs()] == [first[0].started_run_id]


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
