"""Which of the SDK's private modules the services and lfctl may import.

Open to every package: the public SDK (any `lightflow` module whose path has no segment
starting with "_": `lightflow`, `lightflow.models`, `lightflow.tasks`, ...), the protocol
(`lightflow.v1`) and the facts of the wire (`lightflow._wire`). Anything else of the SDK a
package imports is listed below, name by name, with the reason it needs the SDK's own code.
A new private import fails here: a fact both ends must agree on belongs in lightflow._wire;
machinery a package really runs gets a line below, with its reason."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    "services/worker",
    "services/store",
    "services/common",
    "services/scheduler",
    "services/web",
    "cli",
]

# package -> private module -> (the names it may import from there, why)
ALLOWED: dict[str, dict[str, tuple[set[str], str]]] = {
    "services/worker": {
        "lightflow._grpc": (
            {"CurrentCredential", "split_addresses"},
            "a task process's channels carry the run credential of the lease it runs now;"
            " --scheduler lists addresses as LIGHTFLOW_ADDRESS does for the SDK",
        ),
        "lightflow._replicas": (
            {"Replicas"},
            "the work stream and a task's signals move between scheduler replicas as the"
            " SDK's calls do",
        ),
        "lightflow._store": (
            {"StoreClient", "TaskStore"},
            "the `store` a task callback receives is the SDK's, on the SDK's store client",
        ),
        "lightflow._taskdata": (
            {"BlobClient", "decode_task_data", "encode_task_data"},
            "a task's input and output data are read and written by the SDK's task-data"
            " code (inline, through blobs, or the blob files on the store's host)",
        ),
        "lightflow._tls": (
            {"TlsOptions"},
            "the worker and its task processes call the schedulers and the store with the"
            " SDK's TLS options",
        ),
        "lightflow._workflow": (
            {"SourceEntry", "decode_task", "source_entry"},
            "a task's code is unpickled, and its workflow file's text registered for its"
            " tracebacks, as the SDK pickled and sent them",
        ),
    },
    "services/store": {
        "lightflow._codec": (
            {"ValueDecodingError", "as_wrapper", "wrap"},
            "a value that is not BSON is kept as the codec's wrapper sub-document and given"
            " back from it: one implementation at both ends (pure BSON, nothing unpickled)",
        ),
    },
    "services/common": {
        "lightflow._grpc": (
            {"SERVER_OPTIONS"},
            "the services' keepalive and message options, written beside the SDK's channel"
            " options they must agree with",
        ),
        "lightflow._tls": (
            {"TlsOptions"},
            "a service's own calls (scheduler to store, worker to schedulers) connect with"
            " the SDK's TLS options",
        ),
    },
    "services/web": {
        "lightflow._grpc": (
            {"split_addresses"},
            "--scheduler lists addresses as LIGHTFLOW_ADDRESS does for the SDK",
        ),
        "lightflow._store": (
            {"StoreClient", "StoreError"},
            "the provenance of an ended run that kept its data is its store document's meta"
            " section, read with the SDK's store client",
        ),
    },
    "services/scheduler": {
        "lightflow._tls": (
            {"TlsOptions"},
            "the scheduler's config holds the TLS options of its own calls (to the store),"
            " the SDK's, as every service's does",
        ),
        "lightflow._store": (
            {"StoreClient", "StoreError", "StoreUnavailableError"},
            "creates and removes runs' store documents, and writes a kept run's provenance,"
            " through the SDK's store client (whose errors EnsureDocument answers with)",
        ),
        "lightflow._taskdata": ({"BlobClient"}, "removes an ended run's task-data blobs"),
        "lightflow._codec": (
            {"encode_document"},
            "a run's arguments become the first content of its store document, encoded as"
            " the SDK encodes store values",
        ),
        "lightflow._parameters": (
            {"ArgumentError", "Parameters"},
            "a run's arguments are checked against the workflow's parameters by the SDK's"
            " own rules",
        ),
    },
    "cli": {
        "lightflow._stackfile": (
            {"StackInfo", "read_stack_file", "remove_stack_file", "write_stack_file"},
            "lfctl up writes the stack file through which Client() and lfctl find the stack",
        ),
        "lightflow._workflow": (
            {"WorkflowNotFoundError", "find_workflow", "list_workflows", "load_workflow"},
            "lfctl finds, lists and loads workflow files as Client.register does",
        ),
        "lightflow._tls": ({"TlsOptions", "connect"}, "lfctl connects as the SDK does"),
        "lightflow._grpc": (
            {"split_addresses"},
            "LIGHTFLOW_ADDRESS is read as the SDK reads it",
        ),
        "lightflow._replicas": (
            {"Replicas"},
            "lfctl store get asks the schedulers for a live run's provenance",
        ),
        "lightflow._store": (
            {"StoreClient", "StoreNotFoundError"},
            "lfctl store get reads a run's document through the SDK's store client",
        ),
        "lightflow._codec": (
            {"wrap"},
            "lfctl store get shows a value in its stored layout, without unpickling it",
        ),
    },
}

# What lightflow._wire itself may import of the SDK: nothing but the protocol, so that taking
# a fact from it takes no machinery along.
WIRE_IMPORTS = ("lightflow.v1", "lightflow._wire")


def _sdk_imports(folder: Path) -> Iterator[tuple[str, str, str]]:
    """(where, module, name) for each name a module under `folder` imports from the SDK;
    name "*" for a whole module (`import lightflow._x`, `lightflow._x.y` after `import
    lightflow`)."""
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _is_sdk(alias.name):
                        yield where, alias.name, "*"
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_sdk(node.module):
                for alias in node.names:
                    if node.module == "lightflow" and alias.name.startswith("_"):
                        yield where, f"lightflow.{alias.name}", "*"  # a private submodule
                    else:
                        yield where, str(node.module), alias.name
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "lightflow"
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                yield where, f"lightflow.{node.attr}", "*"


def _is_sdk(module: str | None) -> bool:
    return module is not None and (module == "lightflow" or module.startswith("lightflow."))


def _is_open(module: str) -> bool:
    """Public, the protocol, or the wire."""
    segments = module.split(".")[1:]
    wire = module == "lightflow._wire" or module.startswith("lightflow._wire.")
    return wire or not any(segment.startswith("_") for segment in segments)


def _listed(package: str, module: str) -> set[str]:
    return ALLOWED.get(package, {}).get(module, (set(), ""))[0]


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_imports_only_what_is_listed_of_the_sdks_private_modules(package: str) -> None:
    unlisted = sorted(
        f"{where}: {module}" + ("" if name == "*" else f".{name}")
        for where, module, name in _sdk_imports(ROOT / package)
        if not _is_open(module) and name not in _listed(package, module)
    )
    assert not unlisted, (
        f"{package} imports private SDK names not listed in {__name__}: take a fact of the"
        " wire from lightflow._wire, or list the name in ALLOWED with why it is needed:\n"
        + "\n".join(unlisted)
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_every_listed_name_is_still_imported(package: str) -> None:
    imported = {(module, name) for _, module, name in _sdk_imports(ROOT / package)}
    listed = {
        (module, name) for module, (names, _) in ALLOWED.get(package, {}).items() for name in names
    }
    stale = sorted(listed - imported)
    assert not stale, f"no longer imported by {package}, drop them from the lists: {stale}"


def test_the_wire_takes_no_sdk_machinery_along() -> None:
    wire = ROOT / "sdk" / "lightflow" / "_wire"
    taken = [
        f"{where}: {module}"
        for where, module, _ in _sdk_imports(wire)
        if not module.startswith(WIRE_IMPORTS)
    ]
    assert not taken
