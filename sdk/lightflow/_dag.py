"""The DAG: tasks as vertices, data flowing along the edges."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, TypeAlias

from lightflow._errors import LightflowError
from lightflow._task import BaseTask

__all__ = ["Dag", "DagDefinitionError", "DagEdge", "Schema"]

# What `Dag.define` accepts for the children of a task: one task, a list of tasks, a dict
# {task: alias or None}, or None (the task has no successor).
Children: TypeAlias = BaseTask | Sequence[BaseTask] | Mapping[BaseTask, str | None] | None
Schema: TypeAlias = Mapping[BaseTask, Children]


class DagDefinitionError(LightflowError):
    """A DAG is malformed: a cycle, no task, a duplicate task name, or not a task."""


class DagEdge(NamedTuple):
    """Data flows from `parent` to `child`; `alias` labels it in the child's input."""

    parent: BaseTask
    child: BaseTask
    alias: str | None


class Dag:
    """A directed acyclic graph of tasks.

    Build it with `define`; a task with no predecessor starts when the DAG starts.
    """

    def __init__(self, name: str, autostart: bool = True, queue: str = "dag") -> None:
        """Create an empty DAG.

        Args:
            name: The DAG's name, unique within its workflow.
            autostart: True: an instance starts with every run. False: only
                `signal.start_dag` starts one.
            queue: The DAG's queue (kept from the original API).
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"a DAG name must be a non-empty str, got {name!r}")
        self._name = name
        self._autostart = autostart
        self._queue = queue
        self._tasks: list[BaseTask] = []
        self._edges: list[DagEdge] = []
        # entries of the schema that are not tasks, reported by validate()
        self._problems: list[str] = []

    @property
    def name(self) -> str:
        """The DAG's name."""
        return self._name

    @property
    def autostart(self) -> bool:
        """Whether an instance of the DAG starts with every run."""
        return self._autostart

    @property
    def queue(self) -> str:
        """The DAG's queue."""
        return self._queue

    @property
    def tasks(self) -> list[BaseTask]:
        """The DAG's tasks, in the order they first appear in the schema."""
        return list(self._tasks)

    @property
    def edges(self) -> list[DagEdge]:
        """The DAG's edges, in schema order."""
        return list(self._edges)

    def define(self, schema: Schema) -> None:
        """Set the graph from a schema, replacing any earlier definition.

        Each key is a parent task, its value the children:

        - a task: `{a: b}`
        - a list of tasks, run in parallel: `{a: [b, c]}`
        - a dict of task to alias, labelling the data a child receives from this parent:
          `{a: {b: 'first', c: None}}` (None or '' means no alias)
        - None: the task has no successor, `{a: None}`

        Problems (entries that are not tasks) are reported by `validate`.
        """
        self._tasks = []
        self._edges = []
        self._problems = []
        seen: set[int] = set()

        def add_task(task: object, where: str) -> bool:
            if not isinstance(task, BaseTask):
                self._problems.append(f"{where} {task!r} is not a task")
                return False
            if id(task) not in seen:
                seen.add(id(task))
                self._tasks.append(task)
            return True

        if not isinstance(schema, Mapping):
            self._problems.append(f"the schema must be a dict, got {type(schema).__name__}")
            return
        for parent, children in schema.items():
            if not add_task(parent, "the key"):
                continue
            pairs: list[tuple[object, object]]
            if children is None:
                pairs = []
            elif isinstance(children, Mapping):
                pairs = list(children.items())
            elif isinstance(children, list | tuple):
                pairs = [(child, None) for child in children]
            else:
                pairs = [(children, None)]
            for child, alias in pairs:
                if not add_task(child, f"the successor of {parent.name!r}"):
                    continue
                assert isinstance(child, BaseTask)  # checked by add_task
                if alias is not None and not isinstance(alias, str):
                    self._problems.append(
                        f"the alias of {parent.name!r} -> {child.name!r} must be a str "
                        f"or None, got {alias!r}"
                    )
                    continue
                self._add_edge(DagEdge(parent, child, alias or None))

    def _add_edge(self, edge: DagEdge) -> None:
        for existing in self._edges:
            if existing.parent is edge.parent and existing.child is edge.child:
                if existing.alias != edge.alias:
                    self._problems.append(
                        f"the edge {edge.parent.name!r} -> {edge.child.name!r} has two "
                        f"aliases: {existing.alias!r} and {edge.alias!r}"
                    )
                return
        self._edges.append(edge)

    def validate(self) -> None:
        """Check the DAG can run.

        Raises:
            DagDefinitionError: An entry of the schema is not a task, the DAG has no task,
                two distinct tasks share a name, or the edges form a cycle. The message
                names the DAG and the tasks involved.
        """
        if self._problems:
            raise DagDefinitionError(f"DAG {self._name!r}: " + "; ".join(self._problems))
        if not self._tasks:
            raise DagDefinitionError(
                f"DAG {self._name!r} has no task: call define() with at least one task"
            )
        by_name: dict[str, BaseTask] = {}
        for task in self._tasks:
            other = by_name.setdefault(task.name, task)
            if other is not task:
                raise DagDefinitionError(
                    f"DAG {self._name!r} has two different tasks named {task.name!r}; "
                    f"task names must be unique within a DAG"
                )
        cycle = self._find_cycle()
        if cycle:
            path = " -> ".join(repr(task.name) for task in cycle)
            raise DagDefinitionError(f"DAG {self._name!r} has a cycle: {path}")

    def _find_cycle(self) -> list[BaseTask] | None:
        """Return the tasks of one cycle, first task repeated at the end, or None."""
        successors: dict[int, list[BaseTask]] = {id(task): [] for task in self._tasks}
        for edge in self._edges:
            successors[id(edge.parent)].append(edge.child)

        # iterative depth-first search: a recursive one would hit the recursion limit on
        # long chains of tasks
        done: set[int] = set()
        for root in self._tasks:
            if id(root) in done:
                continue
            path: list[BaseTask] = [root]
            on_path: dict[int, int] = {id(root): 0}
            iterators = [iter(successors[id(root)])]
            while iterators:
                child = next(iterators[-1], None)
                if child is None:
                    iterators.pop()
                    finished = path.pop()
                    del on_path[id(finished)]
                    done.add(id(finished))
                elif id(child) in on_path:
                    return [*path[on_path[id(child)] :], child]
                elif id(child) not in done:
                    on_path[id(child)] = len(path)
                    path.append(child)
                    iterators.append(iter(successors[id(child)]))
        return None

    def __repr__(self) -> str:
        return (
            f"Dag(name={self._name!r}, autostart={self._autostart!r}, "
            f"tasks={[task.name for task in self._tasks]!r})"
        )
