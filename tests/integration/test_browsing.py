"""What a viewer of runs reads through the protocol (the dashboard's calls): runs a page at a
time and by workflow, a workflow's definition without its code, and which task started a
sub-DAG."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lightflow import ClientError
from lightflow_cli.stack import LocalStack
from tests.conftest import EXAMPLES, client_for, dump_logs


def test_runs_come_a_page_at_a_time_newest_first_and_by_workflow(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    client = client_for(stack)
    client.register(EXAMPLES / "simple.py")
    client.register(EXAMPLES / "sequential.py")
    started = []
    for i in range(7):
        run = client.start_and_wait("simple" if i % 2 == 0 else "sequential")
        assert run.wait() == "succeeded", dump_logs(stack)
        started.append(run.id)
    newest_first = list(reversed(started))

    seen, token = [], ""
    for _ in range(10):
        page = client.runs_page(limit=3, page_token=token)
        assert len(page.runs) <= 3
        seen += [r.id for r in page.runs]
        token = page.next_page_token
        if not token:
            break
    assert seen == newest_first

    simple = client.runs_page(workflow="simple", limit=2)
    assert [r.id for r in simple.runs] == newest_first[::2][:2]
    rest = client.runs_page(workflow="simple", limit=2, page_token=simple.next_page_token)
    assert [r.id for r in rest.runs] == newest_first[::2][2:]
    assert rest.next_page_token == ""
    assert client.runs_page("failed").runs == []

    with pytest.raises(ClientError, match="invalid page_token") as refused:
        client.runs_page(page_token="<script>")
    assert refused.value.code == "INVALID_ARGUMENT"


def test_a_workflows_definition_comes_without_its_code(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    client = client_for(stack)
    client.register(EXAMPLES / "parameters.py")
    details = client.get_workflow("parameters")
    assert details.name == "parameters"
    assert details.definition_hash == client.list_workflows()[0].definition_hash
    options = {o.name: (o.type, o.help) for o in details.definition.options}
    assert options["count"] == ("int", "How many greetings")
    tasks = [t for dag in details.definition.dags for t in dag.tasks]
    assert len(tasks) > 1
    assert not any(t.HasField("code") for t in tasks)
    assert details.definition.source == ""
    with pytest.raises(ClientError, match="'nope' is not registered") as unknown:
        client.get_workflow("nope")
    assert unknown.value.code == "NOT_FOUND"


def test_a_sub_dag_names_the_task_that_started_it(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    client = client_for(stack)
    client.register(EXAMPLES / "sub_dag.py")
    run = client.start_and_wait("sub_dag")
    assert run.wait() == "succeeded", dump_logs(stack)
    dags = {d.instance: d.started_by for d in client.get_run(run.id).dag_instances}
    assert dags["main_dag"] is None
    subs = [by for instance, by in dags.items() if instance != "main_dag"]
    assert subs == [("main_dag", "call_dag_task")] * 5, dags
