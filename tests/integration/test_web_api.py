"""The HTTP API of lightflow-web against a real stack (two web instances over it): what a
script with curl sees, the errors of bad input, and that nothing changes when refused."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from lightflow import Client
from lightflow_cli._procs import ServiceProcess, start_service
from lightflow_cli.stack import LocalStack, StackOptions
from tests.conftest import EXAMPLES, dump_logs

TOKEN = "web-api-test-token"  # a test-only shared token


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    folder = tmp_path_factory.mktemp("web-api")
    (folder / "logs").mkdir()
    started = LocalStack(StackOptions(log_dir=folder / "logs", token=TOKEN, web_port=0)).start()
    try:
        with Client(started.scheduler_addresses, token=TOKEN) as client:
            client.register(EXAMPLES / "parameters.py")
            client.register(EXAMPLES / "sequential.py")
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def second_web(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Another instance of the web service over the same schedulers."""
    process: ServiceProcess = start_service(
        "web-2",
        "lightflow_web",
        ["--scheduler", ",".join(stack.scheduler_addresses)],
        log_dir=tmp_path_factory.mktemp("web-2"),
        env={"LIGHTFLOW_TOKEN": TOKEN},
    )
    yield f"http://{process.address}/"
    process.stop()


def call(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    token: str | None = TOKEN,
) -> tuple[int, dict[str, str], Any]:
    sent = dict(headers or {})
    if token is not None:
        sent.setdefault("Authorization", f"Bearer {token}")
    if body is not None:
        sent.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=body, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw, status, got = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as err:
        with err:
            raw, status, got = err.read(), err.code, dict(err.headers)
    kind = got.get("content-type", "")
    return status, got, json.loads(raw) if kind.startswith("application/json") and raw else raw


def api(stack: LocalStack) -> str:
    return stack.web_url + "api/v1"


def test_a_script_starts_a_run_follows_it_and_reads_it(stack: LocalStack) -> None:
    body = json.dumps({"workflow": "parameters", "arguments": {"name": "Ada", "count": 2}})
    status, _, started = call(f"{api(stack)}/runs", "POST", body.encode())
    assert status == 201, started
    run_id = started["id"]
    # The event stream replays the run and ends with its end.
    status, headers, raw = call(f"{api(stack)}/runs/{run_id}/events")
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    messages = [m for m in raw.decode().split("\n\n") if m.startswith("id: ")]
    events = [json.loads(m.split("data: ", 1)[1]) for m in messages]
    assert events[0]["type"] == "run_started"
    assert events[-1]["type"] == "run_ended"
    assert events[-1]["run_status"] == "succeeded", dump_logs(stack)
    assert raw.decode().rstrip().endswith("event: end\ndata: {}")
    status, _, run = call(f"{api(stack)}/runs/{run_id}")
    assert (status, run["status"], run["workflow"]) == (200, "succeeded", "parameters")
    assert {t["task"]: t["status"] for t in run["tasks"]} == {
        "arguments_task": "succeeded",
        "greet_task": "succeeded",
    }
    status, _, page = call(f"{api(stack)}/runs?workflow=parameters&limit=1")
    assert page["runs"][0]["id"] == run_id
    status, _, output = call(f"{api(stack)}/runs/{run_id}/output")
    assert any("Ada" in line["text"] for line in output["lines"]), output
    # Its provenance, and so its arguments, while the schedulers retain the ended run.
    status, _, provenance = call(f"{api(stack)}/runs/{run_id}/provenance")
    assert (status, provenance["status"], provenance["arguments"]["name"]) == (
        200,
        "succeeded",
        "Ada",
    )
    assert run["arguments"] == {"name": "Ada", "count": 2, "loud": False}
    status, _, graph = call(f"{api(stack)}/runs/{run_id}/graph")
    (instance,) = graph["instances"]
    assert {n["status"] for n in instance["nodes"]} == {"succeeded"}


def test_resuming_the_event_stream_gives_only_what_came_after(stack: LocalStack) -> None:
    with Client(stack.scheduler_addresses, token=TOKEN) as client:
        run = client.start_and_wait("sequential")
    _, _, raw = call(f"{api(stack)}/runs/{run.id}/events")
    ids = [m.split("\n", 1)[0][4:] for m in raw.decode().split("\n\n") if m.startswith("id: ")]
    _, _, rest = call(f"{api(stack)}/runs/{run.id}/events", headers={"Last-Event-ID": ids[-3]})
    again = [m.split("\n", 1)[0][4:] for m in rest.decode().split("\n\n") if m.startswith("id: ")]
    assert again == ids[-2:]


def test_another_instance_answers_alike_and_takes_the_same_session(
    stack: LocalStack, second_web: str
) -> None:
    status, headers, _ = call(
        f"{api(stack)}/login", "POST", json.dumps({"token": TOKEN}).encode(), token=None
    )
    assert status == 204
    cookie = headers["set-cookie"].split(";", 1)[0]
    assert "HttpOnly" in headers["set-cookie"]
    assert "SameSite=strict" in headers["set-cookie"]
    first = call(f"{api(stack)}/workflows", headers={"Cookie": cookie}, token=None)
    second = call(f"{second_web}api/v1/workflows", headers={"Cookie": cookie}, token=None)
    assert first[0] == second[0] == 200
    assert first[2] == second[2]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "code", "message"),
    [
        ("GET", "/runs/0123456789abcdef0123456789abcdef", None, {}, 404, "NOT_FOUND", "not found"),
        ("GET", "/runs/<script>", None, {}, 404, "NOT_FOUND", "32 hex digits"),
        ("GET", "/workflows/nope", None, {}, 404, "NOT_FOUND", "'nope' is not registered"),
        ("GET", "/runs?limit=ten", None, {}, 400, "INVALID_ARGUMENT", "limit must be"),
        ("GET", "/runs?status=sleepy", None, {}, 400, "INVALID_ARGUMENT", "unknown run status"),
        ("GET", "/runs?page_token=x", None, {}, 400, "INVALID_ARGUMENT", "invalid page_token"),
        ("POST", "/runs", b"{not json", {}, 400, "INVALID_ARGUMENT", "not JSON"),
        ("POST", "/runs", b"[1, 2]", {}, 400, "INVALID_ARGUMENT", "JSON object"),
        ("POST", "/runs", b'{"workflow": 3}', {}, 400, "INVALID_ARGUMENT", "name the workflow"),
        (
            "POST",
            "/runs",
            b'{"workflow": "parameters", "arguments": {"name": "Ada", "count": "three"}}',
            {},
            400,
            "INVALID_ARGUMENT",
            "option 'count'",
        ),
        ("POST", "/runs", b'{"workflow": "nope"}', {}, 404, "NOT_FOUND", "nope"),
        (
            "POST",
            "/runs",
            b'{"workflow": "parameters"}',
            {"Content-Type": "text/plain"},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "application/json",
        ),
        ("POST", "/runs/0123456789abcdef0123456789abcdef/stop", b"", {}, 404, "NOT_FOUND", ""),
        ("GET", "/nothing/here", None, {}, 404, "NOT_FOUND", "no API"),
    ],
)
def test_bad_input_gets_a_clear_json_error_and_changes_nothing(
    stack: LocalStack,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    status: int,
    code: str,
    message: str,
) -> None:
    with Client(stack.scheduler_addresses, token=TOKEN) as client:
        before = [r.id for r in client.list_runs(limit=1000)]
        got, _, answer = call(f"{api(stack)}{path}", method, body, headers)
        assert got == status, answer
        assert answer["error"]["code"] == code
        assert message in answer["error"]["message"]
        assert [r.id for r in client.list_runs(limit=1000)] == before


def test_an_oversize_body_is_refused_before_it_is_read(stack: LocalStack) -> None:
    # The headers alone: the answer comes before a byte of the 3 MiB is sent (a client that
    # sends it all first may find the connection closed under it, the body unread).
    host, port = stack.web_url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.putrequest("POST", "/api/v1/runs")
        connection.putheader("Authorization", f"Bearer {TOKEN}")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(3 << 20))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"]["code"] == "PAYLOAD_TOO_LARGE"
    finally:
        connection.close()
    # Sent in chunks with no length, it is counted as it comes and refused past the limit.
    chunks = (b"x" * 65536 for _ in range(48))
    request = urllib.request.Request(
        f"{api(stack)}/runs",
        data=chunks,
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with pytest.raises((urllib.error.HTTPError, ConnectionError)) as refused:
        urllib.request.urlopen(request, timeout=30)
    if isinstance(refused.value, urllib.error.HTTPError):
        with refused.value:
            assert refused.value.code == 413


def test_without_the_token_nothing_is_answered(stack: LocalStack) -> None:
    for token in (None, "wrong"):
        status, _, answer = call(f"{api(stack)}/runs", token=token)
        assert status == 401
        assert answer["error"]["code"] == "UNAUTHENTICATED"
    status, _, answer = call(
        f"{api(stack)}/login", "POST", json.dumps({"token": "wrong"}).encode(), token=None
    )
    assert status == 401
    # A page sends the browser to sign in; its static files and the sign-in page are open.
    request = urllib.request.Request(stack.web_url + "runs")
    opener = urllib.request.build_opener(_NoRedirect())
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(request, timeout=30)
    with redirect.value:
        assert redirect.value.code == 303
        assert redirect.value.headers["location"] == "/login?next=/runs"
    assert call(stack.web_url + "login", token=None)[0] == 200


def test_a_state_change_from_another_site_is_refused(stack: LocalStack) -> None:
    status, _, answer = call(
        f"{api(stack)}/runs",
        "POST",
        json.dumps({"workflow": "sequential"}).encode(),
        headers={"Origin": "https://evil.example"},
    )
    assert status == 403
    assert answer["error"]["code"] == "PERMISSION_DENIED"


def test_every_answer_carries_the_content_security_policy(stack: LocalStack) -> None:
    for url in (stack.web_url + "login", f"{api(stack)}/runs", stack.web_url + "static/app.js"):
        _, headers, _ = call(url)
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_the_api_describes_itself_in_openapi(stack: LocalStack) -> None:
    status, _, document = call(f"{api(stack)}/openapi.json", token=None)
    assert status == 200
    assert document["openapi"].startswith("3.1")
    assert {"/runs", "/runs/{run_id}", "/runs/{run_id}/events", "/workflows", "/workers"} <= set(
        document["paths"]
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
