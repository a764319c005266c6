"""`BashTask`: run a bash command as a task, its output lines handed to callbacks.

Names, arguments and callback signatures follow the original Lightflow
(`lightflow/tasks/bash_task.py`), so workflow files written for it run unchanged.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import queue
import signal as signals
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any, Final

from lightflow._action import Action
from lightflow._errors import LightflowError
from lightflow._parameters import TaskParameters
from lightflow._task import BaseTask, FinallyCallback, InitCallback, StopTask

if TYPE_CHECKING:
    from lightflow._context import TaskContext

__all__ = [
    "BASH",
    "BashTask",
    "BashTaskError",
    "EndCallback",
    "LineCallback",
    "ProcessCallback",
]

BASH: Final = "/bin/bash"
# How long a stopped command has to end after SIGTERM before it gets SIGKILL.
_KILL_GRACE_S: Final = 3.0

# callback_process(pid, data, store, signal, context)
ProcessCallback = Callable[[int, Any, Any, Any, "TaskContext"], object]
# callback_stdout / callback_stderr(line, data, store, signal, context)
LineCallback = Callable[[str, Any, Any, Any, "TaskContext"], object]
# callback_end(returncode, stdout_file, stderr_file, data, store, signal, context)
EndCallback = Callable[
    [int, "IO[bytes] | None", "IO[bytes] | None", Any, Any, Any, "TaskContext"], object
]

# What the reader threads put on the queue: (stream, a line | None at the end | an error).
_Item = tuple[str, bytes | BaseException | None]


class BashTaskError(LightflowError):
    """A parameter of a `BashTask` is unusable: not a str command, an unknown user, ..."""


class BashTask(BaseTask):
    """A task that runs a bash command (`/bin/bash -c command`).

    Every parameter from `command` to `capture_stderr` may be a callable
    `(data, store) -> value`, called just before the process starts (see
    `TaskParameters`). Output lines reach `callback_stdout` / `callback_stderr` while the
    command runs; output nobody captures or handles is passed on to the task's own
    stdout/stderr, so it shows with the task's printed lines. The return code does not
    decide the task's outcome: `callback_end` sees it and may raise. When the task's DAG
    or the run is stopped, the command gets SIGTERM (SIGKILL after a few seconds), as does
    every process it started, and the task ends with `StopTask`.
    """

    def __init__(
        self,
        name: str,
        command: str | Callable[[Any, Any], str],
        cwd: Any = None,
        env: Any = None,
        user: Any = None,
        group: Any = None,
        stdin: Any = None,
        refresh_time: Any = 0.1,
        capture_stdout: Any = False,
        capture_stderr: Any = False,
        callback_process: ProcessCallback | None = None,
        callback_end: EndCallback | None = None,
        callback_stdout: LineCallback | None = None,
        callback_stderr: LineCallback | None = None,
        *,
        queue: str = "task",
        callback_init: InitCallback | None = None,
        callback_finally: FinallyCallback | None = None,
        force_run: bool = False,
        propagate_skip: bool = True,
        retries: int = 0,
        retry_delay: float = 1.0,
        timeout: float | None = None,
    ) -> None:
        """Create a task running a bash command.

        Args:
            name: The task's name, unique within its DAG.
            command: The bash command (or script file) to run.
            cwd: The working directory; None: the task process's.
            env: The command's whole environment as a dict; None: the task process's.
            user: Run as this user, by name or id (the group defaults to the user's
                primary group). Needs the privilege to switch users.
            group: Run with this group, by name or id.
            stdin: Text (or bytes) written to the command's standard input; None: the
                command reads an empty input.
            refresh_time: Seconds between checks whether the task was stopped.
            capture_stdout: Keep the standard output in a temporary file for
                `callback_end`.
            capture_stderr: Keep the standard error in a temporary file for `callback_end`.
            callback_process: Called as `(pid, data, store, signal, context)` once the
                process started.
            callback_end: Called as `(returncode, stdout_file, stderr_file, data, store,
                signal, context)` after the process ended. The files are binary, readable
                from the start, or None when not captured.
            callback_stdout: Called as `(line, data, store, signal, context)` for each line
                of standard output, as str with its line ending (the last line may have
                none).
            callback_stderr: The same for the standard error.
            queue, callback_init, callback_finally, force_run, propagate_skip, retries,
                retry_delay, timeout: As for `BaseTask`.
        """
        super().__init__(
            name,
            queue=queue,
            callback_init=callback_init,
            callback_finally=callback_finally,
            force_run=force_run,
            propagate_skip=propagate_skip,
            retries=retries,
            retry_delay=retry_delay,
            timeout=timeout,
        )
        for label, callback in [
            ("callback_process", callback_process),
            ("callback_end", callback_end),
            ("callback_stdout", callback_stdout),
            ("callback_stderr", callback_stderr),
        ]:
            if callback is not None and not callable(callback):
                raise TypeError(f"the {label} of task {name!r} is not callable: {callback!r}")
        self.params = TaskParameters(
            command=command,
            cwd=cwd,
            env=env,
            user=user,
            group=group,
            stdin=stdin,
            refresh_time=refresh_time,
            capture_stdout=capture_stdout,
            capture_stderr=capture_stderr,
        )
        # values known now are checked now, so a mistake shows when the workflow loads
        self._check(TaskParameters({k: v for k, v in self.params.items() if not callable(v)}))
        self._callback_process = callback_process
        self._callback_end = callback_end
        self._callback_stdout = callback_stdout
        self._callback_stderr = callback_stderr

    @property
    def callback_process(self) -> ProcessCallback | None:
        """Called with the process id once the command started, or None."""
        return self._callback_process

    @property
    def callback_end(self) -> EndCallback | None:
        """Called with the return code and the captured output, or None."""
        return self._callback_end

    @property
    def callback_stdout(self) -> LineCallback | None:
        """Called for each line of standard output, or None."""
        return self._callback_stdout

    @property
    def callback_stderr(self) -> LineCallback | None:
        """Called for each line of standard error, or None."""
        return self._callback_stderr

    def _check(self, params: TaskParameters) -> None:
        def fail(what: str) -> BashTaskError:
            return BashTaskError(f"task {self.name!r}: {what}")

        if "command" in params and not isinstance(params.command, str):
            raise fail(f"the command must be a str, got {params.command!r}")
        if "cwd" in params and not (
            params.cwd is None or isinstance(params.cwd, str | os.PathLike)
        ):
            raise fail(f"cwd must be a path or None, got {params.cwd!r}")
        if "env" in params and not (params.env is None or isinstance(params.env, Mapping)):
            raise fail(f"env must be a dict or None, got {params.env!r}")
        for key in ("user", "group"):
            value = params.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
                raise fail(f"{key} must be a name, an id or None, got {value!r}")
        if "stdin" in params and not (
            params.stdin is None or isinstance(params.stdin, str | bytes)
        ):
            raise fail(f"stdin must be a str, bytes or None, got {params.stdin!r}")
        if "refresh_time" in params:
            refresh = params.refresh_time
            if isinstance(refresh, bool) or not isinstance(refresh, int | float) or refresh <= 0:
                raise fail(f"refresh_time must be a number of seconds > 0, got {refresh!r}")

    def _credentials(self, params: TaskParameters) -> dict[str, Any]:
        """The user=, group= and extra_groups= arguments of Popen for `user` / `group`."""
        credentials: dict[str, Any] = {}
        gid: int | None = None
        if params.group is not None:
            if isinstance(params.group, str):
                try:
                    gid = grp.getgrnam(params.group).gr_gid
                except KeyError:
                    raise BashTaskError(f"task {self.name!r}: no group {params.group!r}") from None
            else:
                gid = params.group
        if params.user is not None:
            entry: pwd.struct_passwd | None
            if isinstance(params.user, str):
                try:
                    entry = pwd.getpwnam(params.user)
                except KeyError:
                    raise BashTaskError(f"task {self.name!r}: no user {params.user!r}") from None
            else:
                try:
                    entry = pwd.getpwuid(params.user)
                except KeyError:
                    entry = None  # a bare id is fine, it just brings no group along
            credentials["user"] = entry.pw_uid if entry is not None else params.user
            if entry is not None and gid is None:
                gid = entry.pw_gid
            # Without this a command started by root keeps root's supplementary groups.
            if os.geteuid() == 0:
                credentials["extra_groups"] = (
                    os.getgrouplist(entry.pw_name, gid if gid is not None else entry.pw_gid)
                    if entry is not None
                    else []
                )
        if gid is not None:
            credentials["group"] = gid
        return credentials

    def run(self, data: Any, store: Any, signal: Any, context: TaskContext) -> Action | None:
        """Run the command and call the callbacks; return `Action(data)`.

        Raises:
            StopTask: The task's DAG or the run was stopped (`signal.is_stopped`), or a
                callback raised it; the command was terminated.
            AbortWorkflow: A callback raised it; the command was terminated.
            BashTaskError: A parameter is unusable.
        """
        params = self.params.eval(data, store)
        self._check(params)
        credentials = self._credentials(params)
        capture = {"stdout": bool(params.capture_stdout), "stderr": bool(params.capture_stderr)}
        callbacks = {"stdout": self._callback_stdout, "stderr": self._callback_stderr}
        files: dict[str, IO[bytes] | None] = {
            name: tempfile.TemporaryFile() if capture[name] else None  # noqa: SIM115
            for name in ("stdout", "stderr")
        }
        try:
            # a session of its own: stopping the task reaches every process the command starts
            process = subprocess.Popen(
                [BASH, "-c", params.command],
                cwd=params.cwd,
                env=params.env,
                stdin=subprocess.DEVNULL if params.stdin is None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                **credentials,
            )
            returncode = self._follow(
                process, params, files, callbacks, data, store, signal, context
            )
            if self._callback_end is not None:
                for file in files.values():
                    if file is not None:
                        file.seek(0)
                self._callback_end(
                    returncode, files["stdout"], files["stderr"], data, store, signal, context
                )
        finally:
            for file in files.values():
                if file is not None:
                    file.close()
        return Action(data)

    def _follow(
        self,
        process: subprocess.Popen[bytes],
        params: TaskParameters,
        files: Mapping[str, IO[bytes] | None],
        callbacks: Mapping[str, LineCallback | None],
        data: Any,
        store: Any,
        signal: Any,
        context: TaskContext,
    ) -> int:
        """Hand the output lines to the callbacks until the process ended and its output is
        read; watch for a stop meanwhile. Returns the return code."""
        lines: queue.Queue[_Item] = queue.Queue()
        readers = []
        streams = {"stdout": process.stdout, "stderr": process.stderr}
        for name, stream in streams.items():
            assert stream is not None  # piped
            reader = threading.Thread(
                target=_read_lines,
                args=(stream, name, files[name], lines),
                name=f"bash-{name}-{process.pid}",
                daemon=True,
            )
            reader.start()
            readers.append(reader)
        if process.stdin is not None:
            stdin = params.stdin.encode() if isinstance(params.stdin, str) else params.stdin
            threading.Thread(target=_write_input, args=(process.stdin, stdin), daemon=True).start()
        open_streams = set(streams)
        refresh = float(params.refresh_time)
        try:
            if self._callback_process is not None:
                self._callback_process(process.pid, data, store, signal, context)
            next_check = time.monotonic() + refresh
            while open_streams or process.poll() is None:
                try:
                    name, item = lines.get(timeout=refresh)
                except queue.Empty:
                    pass
                else:
                    if item is None:
                        open_streams.discard(name)
                    elif isinstance(item, BaseException):
                        raise item
                    else:
                        self._dispatch(name, item, files, callbacks, data, store, signal, context)
                # checked at most every refresh_time, however fast the lines come
                if time.monotonic() >= next_check:
                    if signal is not None and signal.is_stopped:
                        raise StopTask(
                            f"task {self.name!r} stopped: its DAG or the workflow run was stopped"
                        )
                    next_check = time.monotonic() + refresh
        except BaseException:
            _terminate(process)
            for reader in readers:
                reader.join(timeout=_KILL_GRACE_S)
            raise
        for reader in readers:
            reader.join()
        return process.wait()

    def _dispatch(
        self,
        name: str,
        line: bytes,
        files: Mapping[str, IO[bytes] | None],
        callbacks: Mapping[str, LineCallback | None],
        data: Any,
        store: Any,
        signal: Any,
        context: TaskContext,
    ) -> None:
        # with its line ending, as read: the original Lightflow's contract
        text = line.decode(errors="replace")
        callback = callbacks[name]
        if callback is not None:
            callback(text, data, store, signal, context)
        elif files[name] is None:
            # output nobody asked for shows with the task's printed lines, not in the
            # worker's own log
            end = "" if text.endswith("\n") else "\n"
            (sys.stdout if name == "stdout" else sys.stderr).write(text + end)


def _read_lines(
    stream: IO[bytes], name: str, file: IO[bytes] | None, lines: queue.Queue[_Item]
) -> None:
    try:
        for line in iter(stream.readline, b""):
            if file is not None:
                file.write(line)
            lines.put((name, line))
    except Exception as err:  # handed to the task's thread, which raises it
        lines.put((name, err))
    finally:
        lines.put((name, None))
        stream.close()


def _write_input(pipe: IO[bytes], text: bytes) -> None:
    try:
        pipe.write(text)
    except BrokenPipeError:
        pass  # the command did not read all of its input; not an error
    finally:
        with contextlib.suppress(BrokenPipeError):
            pipe.close()


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command's process group, SIGKILL after the grace period."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signals.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=_KILL_GRACE_S)
    # also whatever the command left running in its group, once bash itself is gone
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signals.SIGKILL)
    process.wait()
