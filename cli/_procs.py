"""Starting and stopping the service processes of a local stack.

Each service is launched as `python -m <module> --listen 127.0.0.1:0 --ready-file F`; it binds
a free port and writes the bound address to F once it is SERVING, so there is no port race."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


class ProcessStartError(RuntimeError):
    pass


@dataclass
class ServiceProcess:
    """A running service process; `address` is where it listens."""

    name: str
    process: subprocess.Popen[bytes]
    address: str
    log_path: Path | None = None
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout` seconds; returns the exit code."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log_file is not None:
            self._log_file.close()
        return self.process.returncode

    def kill(self) -> None:
        """kill -9, as a crash would."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def start_service(
    name: str,
    module: str,
    args: Sequence[str],
    *,
    listen_host: str = "127.0.0.1",
    port: int = 0,
    log_dir: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
    stdout: int | IO[bytes] | None = None,
) -> ServiceProcess:
    """Launch `python -m module` and wait until it reports its address.

    The service's stderr (its log) goes to `log_dir/<name>.log` when given, else it is
    inherited. Raises ProcessStartError with the log's tail when it dies or times out."""
    ready_dir = Path(tempfile.mkdtemp(prefix="lightflow-ready-"))
    ready_file = ready_dir / f"{name}.addr"
    log_path = log_dir / f"{name}.log" if log_dir is not None else None
    log_file = log_path.open("ab") if log_path is not None else None
    command = [
        sys.executable,
        "-m",
        module,
        "--listen",
        f"{listen_host}:{port}",
        "--ready-file",
        str(ready_file),
        *args,
    ]
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=stdout if stdout is not None else log_file,
        stderr=log_file,
        env={**os.environ, **(env or {})},
        start_new_session=True,  # Ctrl-C in the terminal reaches the launcher only
    )
    if log_file is not None:
        log_file.close()  # the child holds its own descriptor
    service = ServiceProcess(name, process, "", log_path)
    deadline = time.monotonic() + timeout
    while not ready_file.exists():
        if process.poll() is not None:
            raise ProcessStartError(
                f"{name} exited with code {process.returncode} before serving\n{service.log_tail()}"
            )
        if time.monotonic() > deadline:
            service.stop()
            raise ProcessStartError(
                f"{name} did not start within {timeout:.0f}s\n{service.log_tail()}"
            )
        time.sleep(0.02)  # start-up only, never on a task's path
    service.address = ready_file.read_text().strip()
    ready_file.unlink()
    ready_dir.rmdir()
    return service
