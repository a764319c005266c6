"""BashTask.run, called directly with stand-ins for the store and the signal."""

from __future__ import annotations

import grp
import os
import pwd
import threading
import time
from pathlib import Path
from typing import IO, Any

import cloudpickle
import pytest

from lightflow._bash import BashTaskError
from lightflow._workflow import load_workflow
from lightflow.models import AbortWorkflow, Action, MultiTaskData, StopTask, TaskContext, TaskData
from lightflow.tasks import BashTask

CONTEXT = TaskContext("bash_task", "main_dag", "wf", "run-1", "host")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class DictStore:
    """Stands in for the run's data store."""

    def __init__(self, **values: Any) -> None:
        self.values = dict(values)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


class FakeSignal:
    """Stands in for the task's signal: only `is_stopped` is used."""

    def __init__(self) -> None:
        self.is_stopped = False


def new_data(**values: Any) -> MultiTaskData:
    return MultiTaskData(dataset=TaskData(dict(values)), aliases=["bash_task"])


def run(task: BashTask, data: MultiTaskData | None = None, store: Any = None) -> Action | None:
    return task.run(data or new_data(), store or DictStore(), FakeSignal(), CONTEXT)


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie nobody reaped yet does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Recorder:
    """Callbacks that record what they are given."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.end: dict[str, Any] = {}

    def process(self, pid: int, data: Any, store: Any, signal: Any, context: Any) -> None:
        self.events.append(("pid", pid))

    def stdout(self, line: str, data: Any, store: Any, signal: Any, context: Any) -> None:
        assert context is CONTEXT
        self.events.append(("out", line))

    def stderr(self, line: str, data: Any, store: Any, signal: Any, context: Any) -> None:
        self.events.append(("err", line))

    def finish(
        self,
        returncode: int,
        stdout_file: IO[bytes] | None,
        stderr_file: IO[bytes] | None,
        data: Any,
        store: Any,
        signal: Any,
        context: Any,
    ) -> None:
        self.end = {
            "returncode": returncode,
            "stdout": None if stdout_file is None else stdout_file.read(),
            "stderr": None if stderr_file is None else stderr_file.read(),
            "data": data,
        }

    def lines(self, kind: str) -> list[str]:
        """The lines of a stream without their line endings."""
        return [line.rstrip("\r\n") for what, line in self.events if what == kind]

    def raw_lines(self, kind: str) -> list[str]:
        return [line for what, line in self.events if what == kind]


def recording_task(command: Any, recorder: Recorder, **kwargs: Any) -> BashTask:
    return BashTask(
        "bash_task",
        command,
        callback_process=recorder.process,
        callback_stdout=recorder.stdout,
        callback_stderr=recorder.stderr,
        callback_end=recorder.finish,
        **kwargs,
    )


# --- output, return code, capture ----------------------------------------------------------


def test_lines_reach_the_callbacks_in_order_and_stderr_separately() -> None:
    recorder = Recorder()
    command = "for i in 1 2 3 4 5; do echo line $i; echo problem $i >&2; done; printf tail"
    run(recording_task(command, recorder))
    assert recorder.lines("out") == ["line 1", "line 2", "line 3", "line 4", "line 5", "tail"]
    assert recorder.lines("err") == [f"problem {i}" for i in range(1, 6)]
    assert recorder.events[0][0] == "pid"
    assert isinstance(recorder.events[0][1], int)
    assert recorder.end["returncode"] == 0
    # not captured: no files
    assert (recorder.end["stdout"], recorder.end["stderr"]) == (None, None)


def test_lines_keep_their_line_endings_like_the_original() -> None:
    recorder = Recorder()
    run(recording_task("echo one; printf 'two\\r\\n'; printf three", recorder))
    assert recorder.raw_lines("out") == ["one\n", "two\r\n", "three"]


def test_lines_arrive_while_the_process_runs() -> None:
    seen_at: list[float] = []

    def on_line(line: str, data: Any, store: Any, signal: Any, context: Any) -> None:
        seen_at.append(time.monotonic())

    run(BashTask("t", "echo early; sleep 1; echo late", callback_stdout=on_line))
    assert len(seen_at) == 2
    assert seen_at[1] - seen_at[0] > 0.5


def test_captured_output_and_return_code_reach_callback_end() -> None:
    recorder = Recorder()
    data = new_data()
    result = run(
        recording_task(
            "echo first; echo second >&2; exit 3",
            recorder,
            capture_stdout=True,
            capture_stderr=True,
        ),
        data,
    )
    assert recorder.end["returncode"] == 3
    assert recorder.end["stdout"] == b"first\n"
    assert recorder.end["stderr"] == b"second\n"
    assert recorder.lines("out") == ["first"]
    assert recorder.lines("err") == ["second"]
    assert isinstance(result, Action)
    assert result.data is data
    assert result.limit is None


def test_capture_without_line_callbacks() -> None:
    recorder = Recorder()
    task = BashTask(
        "t", "echo out; echo err >&2", capture_stdout=True, callback_end=recorder.finish
    )
    run(task)
    assert recorder.end["stdout"] == b"out\n"
    assert recorder.end["stderr"] is None


def test_non_zero_exit_does_not_raise() -> None:
    assert isinstance(run(BashTask("t", "exit 7")), Action)


def test_signal_death_gives_a_negative_return_code() -> None:
    recorder = Recorder()
    run(BashTask("t", "kill -9 $$", callback_end=recorder.finish))
    assert recorder.end["returncode"] == -9


def test_unhandled_output_is_passed_on_to_the_task_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run(BashTask("t", "echo to-out; echo to-err >&2"))
    captured = capsys.readouterr()
    assert captured.out == "to-out\n"
    assert captured.err == "to-err\n"


def test_captured_or_handled_output_is_not_passed_on(capsys: pytest.CaptureFixture[str]) -> None:
    recorder = Recorder()
    run(BashTask("t", "echo a; echo b >&2", capture_stdout=True, callback_stderr=recorder.stderr))
    assert capsys.readouterr() == ("", "")


def test_undecodable_bytes_are_replaced() -> None:
    recorder = Recorder()
    run(BashTask("t", r"printf 'caf\xe9\r\n'", callback_stdout=recorder.stdout))
    assert recorder.lines("out") == ["caf\N{REPLACEMENT CHARACTER}"]


def test_bash_runs_the_command() -> None:
    recorder = Recorder()
    # [[ ]] and arrays are bash, not sh
    run(
        BashTask(
            "t", 'a=(x y); [[ ${a[1]} == y ]] && echo "$BASH"', callback_stdout=recorder.stdout
        )
    )
    assert recorder.lines("out") == ["/bin/bash"]


# --- parameters ----------------------------------------------------------------------------


def test_parameters_may_be_callables_of_data_and_store(tmp_path: Path) -> None:
    calls: list[tuple[Any, Any]] = []

    def command(data: Any, store: Any) -> str:
        calls.append((data, store))
        return f"echo {data['word']} {store.get('suffix')}; pwd; echo $COLOUR; cat"

    recorder = Recorder()
    data = new_data(word="hello", folder=str(tmp_path))
    store = DictStore(suffix="there", colour="blue")
    task = recording_task(
        command,
        recorder,
        cwd=lambda data, store: data["folder"],
        env=lambda data, store: {"COLOUR": store.get("colour")},
        stdin=lambda data, store: "from stdin\n",
        capture_stdout=lambda data, store: True,
    )
    run(task, data, store)
    assert calls == [(data, store)]
    assert recorder.lines("out") == ["hello there", str(tmp_path), "blue", "from stdin"]
    assert recorder.end["stdout"] == f"hello there\n{tmp_path}\nblue\nfrom stdin\n".encode()


def test_no_stdin_reads_an_empty_input() -> None:
    recorder = Recorder()
    run(BashTask("t", "cat; echo done", callback_stdout=recorder.stdout))
    assert recorder.lines("out") == ["done"]


def test_large_stdin_unread_by_the_command_is_fine() -> None:
    recorder = Recorder()
    run(BashTask("t", "echo ignored", stdin=b"x" * 1_000_000, callback_stdout=recorder.stdout))
    assert recorder.lines("out") == ["ignored"]


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(BashTaskError, match="task 't': the command must be a str, got 5"):
        BashTask("t", 5)  # type: ignore[arg-type]
    with pytest.raises(BashTaskError, match="refresh_time must be a number of seconds > 0"):
        BashTask("t", "true", refresh_time=0)
    with pytest.raises(TypeError, match="the callback_end of task 't' is not callable"):
        BashTask("t", "true", callback_end="nope")  # type: ignore[arg-type]
    no_command: Any = lambda data, store: None  # noqa: E731
    late = BashTask("t", no_command)  # checked once evaluated
    with pytest.raises(BashTaskError, match="the command must be a str, got None"):
        run(late)
    with pytest.raises(BashTaskError, match="task 't': no user 'no-such-user-here'"):
        run(BashTask("t", "true", user="no-such-user-here"))
    with pytest.raises(BashTaskError, match="task 't': no group 'no-such-group-here'"):
        run(BashTask("t", "true", group="no-such-group-here"))


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_user_and_group_by_name_and_id() -> None:
    nobody = pwd.getpwnam("nobody")
    recorder = Recorder()
    run(BashTask("t", "id -u; id -g; id -G", user="nobody", callback_stdout=recorder.stdout))
    expected_groups = sorted(os.getgrouplist("nobody", nobody.pw_gid))
    assert recorder.lines("out")[:2] == [str(nobody.pw_uid), str(nobody.pw_gid)]
    assert sorted(int(g) for g in recorder.lines("out")[2].split()) == expected_groups
    group = grp.getgrgid(nobody.pw_gid).gr_name
    recorder = Recorder()
    run(
        BashTask(
            "t", "id -u; id -g", user=nobody.pw_uid, group=group, callback_stdout=recorder.stdout
        )
    )
    assert recorder.lines("out") == [str(nobody.pw_uid), str(nobody.pw_gid)]


def test_own_user_and_group_by_id() -> None:
    recorder = Recorder()
    task = BashTask(
        "t", "id -u; id -g", user=os.getuid(), group=os.getgid(), callback_stdout=recorder.stdout
    )
    run(task)
    assert recorder.lines("out") == [str(os.getuid()), str(os.getgid())]


# --- stopping and aborting -----------------------------------------------------------------


def test_stopping_terminates_the_process_and_raises_stop_task() -> None:
    signal = FakeSignal()
    pids: list[int] = []
    timer = threading.Timer(0.3, setattr, args=(signal, "is_stopped", True))
    end = Recorder()

    def started(pid: int, data: Any, store: Any, sig: Any, context: Any) -> None:
        pids.append(pid)
        timer.start()

    def child(line: str, data: Any, store: Any, sig: Any, context: Any) -> None:
        pids.append(int(line))

    # a child of bash too: stopping must reach the whole process group
    task = BashTask(
        "sleepy",
        "sleep 30 & echo $!; sleep 30",
        callback_process=started,
        callback_stdout=child,
        callback_end=end.finish,
        refresh_time=0.05,
    )
    began = time.monotonic()
    with pytest.raises(StopTask, match="task 'sleepy' stopped"):
        task.run(new_data(), DictStore(), signal, CONTEXT)
    timer.join()
    assert time.monotonic() - began < 5
    assert len(pids) == 2
    assert not any(alive(pid) for pid in pids)
    assert end.end == {}  # callback_end is not called for a stopped task


def test_a_command_ignoring_sigterm_is_killed() -> None:
    signal = FakeSignal()
    signal.is_stopped = True
    task = BashTask("stubborn", "trap '' TERM; sleep 30", refresh_time=0.05)
    began = time.monotonic()
    with pytest.raises(StopTask):
        task.run(new_data(), DictStore(), signal, CONTEXT)
    assert time.monotonic() - began < 10


@pytest.mark.parametrize("error", [AbortWorkflow("enough"), StopTask("halt")])
def test_a_line_callback_raising_terminates_the_process(error: Exception) -> None:
    pids: list[int] = []
    end = Recorder()

    def on_line(line: str, data: Any, store: Any, signal: Any, context: Any) -> None:
        raise error

    task = BashTask(
        "t",
        "echo go; sleep 30",
        callback_process=lambda pid, *_: pids.append(pid),
        callback_stdout=on_line,
        callback_end=end.finish,
    )
    began = time.monotonic()
    with pytest.raises(type(error)) as info:
        run(task)
    assert info.value is error
    assert time.monotonic() - began < 5
    assert not alive(pids[0])
    assert end.end == {}


def test_callback_process_raising_terminates_the_process() -> None:
    pids: list[int] = []

    def started(pid: int, data: Any, store: Any, signal: Any, context: Any) -> None:
        pids.append(pid)
        raise AbortWorkflow("no")

    began = time.monotonic()
    with pytest.raises(AbortWorkflow):
        run(BashTask("t", "sleep 30", callback_process=started))
    assert time.monotonic() - began < 5
    assert not alive(pids[0])


def test_without_a_signal_the_task_is_never_stopped() -> None:
    recorder = Recorder()
    BashTask("t", "echo ok", callback_stdout=recorder.stdout).run(new_data(), None, None, CONTEXT)
    assert recorder.lines("out") == ["ok"]


# --- the task object -------------------------------------------------------------------------


def test_task_options_and_callbacks() -> None:
    recorder = Recorder()
    task = BashTask(
        "t",
        "true",
        callback_stdout=recorder.stdout,
        queue="shell",
        force_run=True,
        propagate_skip=False,
    )
    assert (task.name, task.queue, task.force_run, task.propagate_skip) == (
        "t",
        "shell",
        True,
        False,
    )
    assert task.callback_stdout == recorder.stdout
    assert task.callback_stderr is None
    assert task.params.command == "true"
    assert task.params.refresh_time == 0.1


def test_bash_task_pickles_with_cloudpickle() -> None:
    task = BashTask(
        "t",
        lambda data, store: f"echo {data['word']}",
        capture_stdout=True,
        callback_end=lambda code, out, err, data, *_: data.default_dataset.set("out", out.read()),
        queue="q",
    )
    copy = cloudpickle.loads(cloudpickle.dumps(task))
    assert (copy.name, copy.queue) == ("t", "q")
    data = new_data(word="hi")
    run(copy, data)
    assert data["out"] == b"hi\n"


def test_bash_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    workflow = load_workflow(EXAMPLES / "bash.py")
    (dag,) = workflow.dags
    prepare, bash = dag.tasks
    data = new_data()
    prepare.run(data, DictStore(), FakeSignal(), CONTEXT)
    result = bash.run(data, DictStore(), FakeSignal(), CONTEXT)
    assert isinstance(result, Action)
    out = capsys.readouterr().out.splitlines()
    # lines of one stream keep their order; stdout and stderr lines may interleave either way
    assert [line for line in out[:3] if line.startswith("stdout")] == ["stdout: first", "stdout: /"]
    assert [line for line in out[:3] if line.startswith("stderr")] == ["stderr: second"]
    assert out[3:] == [
        "return code: 3",
        "lines: 3",
        "captured stdout: 'first\\n/\\n'",
        "captured stderr: 'second\\n'",
    ]
