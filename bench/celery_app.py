"""The Celery app of the suite: `celery -A bench.celery_app worker` runs it; the broker and
the result backend are the redis at $LIGHTFLOW_BENCH_CELERY_URL. Pickle serialization, so
numpy arrays travel as they do in the other engines."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt
from celery import Celery

from bench import shapes

URL = os.environ.get("LIGHTFLOW_BENCH_CELERY_URL", "redis://127.0.0.1:6379/0")


def new_app(url: str) -> Celery:
    """An app on the redis at `url`: the worker's below, and one per round for the client
    (an app keeps its result backend, and so the first redis it was given)."""
    made = Celery("lightflow_bench", broker=url, backend=url)
    made.conf.update(
        task_serializer="pickle",
        result_serializer="pickle",
        accept_content=["pickle"],
        result_accept_content=["pickle"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return made


app = new_app(URL)


@app.task(name="bench.hop")
def hop(payload: dict[str, Any]) -> dict[str, Any]:
    return shapes.hop(payload)


@app.task(name="bench.source")
def source() -> dict[str, Any]:
    return shapes.source()


@app.task(name="bench.fan")
def fan(upstream: dict[str, Any]) -> dict[str, Any]:
    return shapes.fan(upstream)


@app.task(name="bench.join")
def join(results: list[Any]) -> int:
    return shapes.join(results)


@app.task(name="bench.make_array")
def make_array(items: int) -> npt.NDArray[np.float64]:
    return shapes.make_array(items)


@app.task(name="bench.step_array")
def step_array(array: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return shapes.step_array(array)


@app.task(name="bench.summarize")
def summarize(array: npt.NDArray[np.float64]) -> float:
    return shapes.summarize(array)
