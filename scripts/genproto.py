"""Regenerate the Python protobuf/gRPC code under sdk/lightflow/v1 from protos/.

    python scripts/genproto.py            # write the generated files
    python scripts/genproto.py --check    # exit 1 when the committed files are stale

Generated code lands at the path of its proto package (lightflow.v1 -> lightflow/v1), so no
import rewriting is needed. Needs grpcio-tools (pinned in the `test` extra).
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = ROOT / "sdk"
PACKAGE = Path("lightflow") / "v1"


def generate(out: Path) -> None:
    import grpc_tools  # noqa: PLC0415
    from grpc_tools import protoc  # noqa: PLC0415 - only needed here

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    sources = sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / PACKAGE).glob("*.proto"))
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def generated_files(root: Path) -> dict[str, Path]:
    pkg = root / PACKAGE
    return {
        p.name: p for p in pkg.iterdir() if p.name.endswith(("_pb2.py", "_pb2.pyi", "_pb2_grpc.py"))
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when committed code is stale")
    options = parser.parse_args()
    if not options.check:
        generate(OUT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh, committed = generated_files(Path(tmp)), generated_files(OUT)
        stale = sorted(
            name
            for name in fresh.keys() | committed.keys()
            if name not in fresh
            or name not in committed
            or not filecmp.cmp(fresh[name], committed[name], shallow=False)
        )
    if stale:
        print("stale generated code (run: python scripts/genproto.py):", *stale, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
