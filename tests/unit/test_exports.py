"""The public surface of the package, pinned."""

import inspect

import lightflow
from lightflow import Client, Run


def test_top_level_exports() -> None:
    assert lightflow.__all__ == [
        "Client",
        "ClientError",
        "DagInfo",
        "Failure",
        "LightflowError",
        "Run",
        "RunEvent",
        "RunInfo",
        "RunsPage",
        "ScheduleInfo",
        "TaskInfo",
        "WorkerInfo",
        "WorkflowDetails",
        "WorkflowInfo",
        "__version__",
    ]


def _public(cls: type) -> dict[str, str]:
    return {
        name: str(inspect.signature(member))
        for name, member in vars(cls).items()
        if callable(member) and (not name.startswith("_") or name == "__init__")
    }


def test_client_surface() -> None:
    assert _public(Client) == {
        "__init__": "(self, address: 'str | Sequence[str] | None' = None, *,"
        " token: 'str | None' = None, tls_ca: 'PathLike | None' = None,"
        " tls_cert: 'PathLike | None' = None, tls_key: 'PathLike | None' = None,"
        " tls_server_name: 'str | None' = None, balance: 'bool' = True,"
        " failover_timeout: 'float' = 30.0) -> 'None'",
        "close": "(self) -> 'None'",
        "register": "(self, path: 'str | os.PathLike[str]') -> 'str'",
        "start": "(self, name: 'str', args: 'Mapping[str, object] | None' = None, *,"
        " keep_data: 'bool' = False, deadline: 'float | None' = None,"
        " start_at: 'datetime | None' = None, start_in: 'float | timedelta | None' = None)"
        " -> 'Run'",
        "start_and_wait": "(self, name: 'str', args: 'Mapping[str, object] | None' = None, *,"
        " keep_data: 'bool' = False, deadline: 'float | None' = None,"
        " timeout: 'float | None' = None) -> 'Run'",
        "run": "(self, run_id: 'str') -> 'Run'",
        "get_run": "(self, run_id: 'str') -> 'RunInfo'",
        "list_runs": "(self, status: 'str | None' = None, limit: 'int' = 100, *,"
        " workflow: 'str | None' = None) -> 'list[RunInfo]'",
        "runs_page": "(self, status: 'str | None' = None, *, workflow: 'str | None' = None,"
        " limit: 'int' = 100, page_token: 'str' = '') -> 'RunsPage'",
        "get_workflow": "(self, name: 'str') -> 'WorkflowDetails'",
        "create_schedule": "(self, name: 'str', workflow: 'str',"
        " args: 'Mapping[str, object] | None' = None, *, cron: 'str' = '',"
        " timezone: 'str' = '', every: 'float | timedelta | None' = None,"
        " start_at: 'datetime | None' = None, end_at: 'datetime | None' = None,"
        " jitter: 'float' = 0.0, overlap: 'str' = 'skip', catch_up: 'str' = 'none',"
        " catch_up_limit: 'int' = 10, keep_data: 'bool' = False) -> 'ScheduleInfo'",
        "list_schedules": "(self) -> 'list[ScheduleInfo]'",
        "pause_schedule": "(self, name: 'str') -> 'ScheduleInfo'",
        "resume_schedule": "(self, name: 'str') -> 'ScheduleInfo'",
        "trigger_schedule": "(self, name: 'str') -> 'Run'",
        "delete_schedule": "(self, name: 'str') -> 'None'",
        "list_workflows": "(self) -> 'list[WorkflowInfo]'",
        "list_workers": "(self) -> 'list[WorkerInfo]'",
    }


def test_run_surface() -> None:
    assert _public(Run) == {
        "__init__": "(self, client: 'Client', run_id: 'str') -> 'None'",
        "info": "(self) -> 'RunInfo'",
        "status": "(self) -> 'str'",
        "stop": "(self) -> 'str'",
        "events": "(self, after: 'str' = '', *, timeout: 'float | None' = None)"
        " -> 'Iterator[RunEvent]'",
        "wait": "(self, timeout: 'float | None' = None) -> 'str'",
    }


def test_the_public_sdk_is_documented() -> None:
    for name in lightflow.__all__:
        obj = getattr(lightflow, name)
        if inspect.isclass(obj):
            assert obj.__doc__, name
            for member_name, member in vars(obj).items():
                if callable(member) and not member_name.startswith("_"):
                    if member_name in {"from_proto"}:
                        continue
                    assert member.__doc__, f"{name}.{member_name}"
