"""lfctl's modules form no import cycle: each room (context, config, stack, views, one module
per command group) can be read, and imported, on its own. Imports under TYPE_CHECKING and
inside functions count too."""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
CLI = ROOT / "cli"
PACKAGE = "lightflow_cli"


def _module_name(path: Path) -> str:
    parts = path.relative_to(CLI).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def import_graph() -> dict[str, set[str]]:
    """Each lightflow_cli module and the lightflow_cli modules it imports."""
    modules = {_module_name(path): path for path in CLI.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {other for other in imported if other in modules and other != name}
    return graph


def test_the_cli_has_no_import_cycle() -> None:
    graph = import_graph()
    assert "lightflow_cli.context" in graph
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as err:
        raise AssertionError(f"import cycle: {' -> '.join(err.args[1])}") from err
    assert set(order) == set(graph)


def test_every_cli_module_imports_on_its_own() -> None:
    names = sorted(name for name in import_graph() if not name.endswith("__main__"))
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    for name in names:  # a fresh interpreter each: the first import of a cycle fails alone
        result = subprocess.run(
            [sys.executable, "-c", code, name], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{name}: {result.stderr}"
