"""Type-check every package with mypy --strict (the settings in pyproject.toml).

The folders are named for the architecture (services/scheduler), the packages for import
(lightflow_scheduler); mypy needs the import names, so this lays symlinks out first.

    python scripts/typecheck.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "lightflow": ROOT / "sdk" / "lightflow",
    "lightflow_common": ROOT / "services" / "common",
    "lightflow_scheduler": ROOT / "services" / "scheduler",
    "lightflow_worker": ROOT / "services" / "worker",
    "lightflow_store": ROOT / "services" / "store",
    "lightflow_web": ROOT / "services" / "web",
    "lightflow_cli": ROOT / "cli",
}


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        for name, folder in PACKAGES.items():
            (Path(tmp) / name).symlink_to(folder)
        command = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")]
        for name in PACKAGES:
            command += ["-p", name]
        return subprocess.run(
            command, cwd=tmp, env={"MYPYPATH": tmp, "PATH": ""}, check=False
        ).returncode


if __name__ == "__main__":
    sys.exit(main())
