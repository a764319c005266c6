"""grpc's transport settings (lightflow_common.transport) are made by a service process at
its start, before grpc is imported (grpc reads them then, once), and never by importing a
package: a program that imports a Lightflow module keeps its environment."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lightflow_common.transport import IOMGR_EXPERIMENTS

# Reports the transport variables as they are when grpc is first imported, then runs MODULE
# as `python -m MODULE --help` does.
_WATCH_GRPC_IMPORT = """
import os, runpy, sys

class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "grpc":
            sys.meta_path.remove(self)
            names = ("GRPC_EXPERIMENTS", "GRPC_POLL_STRATEGY")
            print("at grpc import:", [os.environ.get(n) for n in names], file=sys.stderr)
        return None

sys.meta_path.insert(0, Watch())
sys.argv = [sys.argv[1], "--help"]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def _clean_env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("GRPC_")}


@pytest.mark.parametrize(
    "module", ["lightflow_scheduler", "lightflow_store", "lightflow_worker", "lightflow_cli"]
)
def test_a_service_sets_the_transport_before_grpc_is_imported(module: str) -> None:
    """lfctl too: `lfctl scheduler|store|worker start` serve in its process."""
    result = subprocess.run(
        [sys.executable, "-c", _WATCH_GRPC_IMPORT, module],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"at grpc import: [{IOMGR_EXPERIMENTS!r}, 'poll']" in result.stderr


def test_importing_lightflow_modules_leaves_the_environment_alone() -> None:
    modules = [
        "lightflow",
        "lightflow_common.server",
        "lightflow_scheduler",
        "lightflow_scheduler.app",
        "lightflow_scheduler.__main__",
        "lightflow_store",
        "lightflow_store.app",
        "lightflow_store.__main__",
        "lightflow_worker",
        "lightflow_worker.app",
        "lightflow_worker.__main__",
        "lightflow_cli.__main__",
        "lightflow_cli.main",
        "lightflow_cli.stack",
    ]
    code = (
        "import importlib, os, sys\n"
        "before = dict(os.environ)\n"
        "for name in sys.argv[1:]:\n"
        "    importlib.import_module(name)\n"
        "changed = sorted(set(os.environ.items()) ^ set(before.items()))\n"
        "print(changed)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *modules],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
