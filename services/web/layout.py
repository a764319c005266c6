"""DAG drawings: where each task's box goes, left to right, laid out by grandalf's Sugiyama
layout (layers, then fewer edge crossings). A layout depends on the definition only, so it is
made once per (definition, DAG) and kept; a run's statuses are painted on it by the pages."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout

# DAGs with more tasks are not drawn: the pages show counts by status instead.
MAX_DRAWN_TASKS = 400
_NODE_HEIGHT = 36
_CHAR_WIDTH = 7.5
_MIN_WIDTH, _MAX_WIDTH = 96, 240
_MARGIN = 24
# Gap between the layers (columns) and between boxes of one layer.
_LAYER_GAP, _NODE_GAP = 72, 18
_KEPT = 256


@dataclass(frozen=True)
class Box:
    task: str
    x: float  # centre
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Arrow:
    parent: str
    child: str
    alias: str


@dataclass(frozen=True)
class Drawing:
    width: float
    height: float
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]


class _View:
    """What grandalf reads of a vertex: its size, here with the axes swapped, since grandalf
    lays out top to bottom and the pages draw left to right."""

    def __init__(self, width: float, height: float) -> None:
        self.w, self.h = height, width
        self.xy = (0.0, 0.0)


def _width(task: str) -> float:
    return min(_MAX_WIDTH, max(_MIN_WIDTH, 28 + _CHAR_WIDTH * len(task)))


def draw(tasks: Sequence[str], edges: Iterable[tuple[str, str, str]]) -> Drawing:
    """Lays out a DAG of `tasks` with `edges` (parent, child, alias)."""
    arrows = tuple(Arrow(p, c, a) for p, c, a in edges)
    vertices = {name: Vertex(name) for name in tasks}
    for name, vertex in vertices.items():
        vertex.view = _View(_width(name), _NODE_HEIGHT)
    graph = Graph(
        list(vertices.values()),
        [Edge(vertices[a.parent], vertices[a.child]) for a in arrows],
    )
    boxes: list[Box] = []
    top = float(_MARGIN)
    width = 0.0
    for component in graph.C:  # a DAG of unconnected parts: one band each, top to bottom
        layout = SugiyamaLayout(component)
        layout.xspace, layout.yspace = _NODE_GAP, _LAYER_GAP
        layout.init_all()
        layout.draw()
        placed = [(v.data, v.view.xy[1], v.view.xy[0]) for v in component.sV]
        # grandalf's y (layers) becomes x, its x becomes y.
        min_x = min(x - _width(name) / 2 for name, x, _ in placed)
        min_y = min(y for _, _, y in placed) - _NODE_HEIGHT / 2
        max_y = max(y for _, _, y in placed) + _NODE_HEIGHT / 2
        for name, x, y in placed:
            box = Box(name, x - min_x + _MARGIN, y - min_y + top, _width(name), _NODE_HEIGHT)
            boxes.append(box)
            width = max(width, box.x + box.w / 2 + _MARGIN)
        top += max_y - min_y + _LAYER_GAP / 2
    order = {name: i for i, name in enumerate(tasks)}
    boxes.sort(key=lambda b: order[b.task])
    height = top - _LAYER_GAP / 2 + _MARGIN if boxes else 2 * _MARGIN
    return Drawing(round(width, 1), round(height, 1), tuple(boxes), arrows)


class Drawings:
    """Layouts kept by (definition hash, DAG): the latest few hundred."""

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[str, str], Drawing] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        definition_hash: str,
        dag: str,
        tasks: Sequence[str],
        edges: Iterable[tuple[str, str, str]],
    ) -> Drawing:
        key = (definition_hash, dag)
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        drawing = draw(tasks, edges)
        with self._lock:
            self._kept[key] = drawing
            while len(self._kept) > _KEPT:
                self._kept.popitem(last=False)
        return drawing
