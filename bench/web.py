"""The dashboard's API and pages at size: a history of many runs and one run of many tasks.

    python -m bench.web [--runs 10000] [--tasks 5000] [--repeat 20] [--browser]

Starts a local stack with its web service (as `lfctl up` does), fills its history with
`--runs` one-task runs and one run of a DAG of `--tasks` tasks (one task fanning out to the
rest), then times each API call the pages make (median and max of `--repeat`, ms). With
`--browser` (Debian's chromium and Playwright), also the time from navigation to a page
showing its data. Not a test: numbers depend on the machine (docs/benchmarks.md, "The
dashboard at size").
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from playwright.sync_api import sync_playwright

from lightflow import Client
from lightflow_cli.stack import LocalStack, StackOptions
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS

TOKEN = "bench-token"  # noqa: S105 - a benchmark-only shared token

ONE_TASK = """
from lightflow.models import Dag
from lightflow.tasks import PythonTask


def noop(data, store, signal, context):
    pass


d = Dag('main')
d.define({PythonTask(name='noop', callback=noop): None})
"""

WIDE = """
from lightflow.models import Dag
from lightflow.tasks import PythonTask


def noop(data, store, signal, context):
    pass


root = PythonTask(name='root', callback=noop)
d = Dag('main')
d.define({{root: [PythonTask(name=f't{{i}}', callback=noop) for i in range({rest})]}})
"""


def _get(url: str) -> tuple[float, int]:
    # The stack's own loopback address: no other scheme or host reaches here.
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})  # noqa: S310
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
        size = len(response.read())
    return (time.perf_counter() - started) * 1000, size


def _time(url: str, repeat: int) -> tuple[float, float, int]:
    times, size = [], 0
    for _ in range(repeat):
        elapsed, size = _get(url)
        times.append(elapsed)
    return statistics.median(times), max(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "logs").mkdir()
        stack = LocalStack(
            StackOptions(log_dir=folder / "logs", token=TOKEN, web_port=0, concurrency=8)
        ).start()
        try:
            _measure(stack, folder, args)
        finally:
            stack.stop()


def _measure(stack: LocalStack, folder: Path, args: argparse.Namespace) -> None:
    client = Client(stack.scheduler_addresses, token=TOKEN)
    (folder / "one_task.py").write_text(ONE_TASK)
    (folder / "wide.py").write_text(WIDE.format(rest=args.tasks - 1))
    client.register(folder / "one_task.py")
    client.register(folder / "wide.py")
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        runs = list(pool.map(lambda _: client.start("one_task"), range(args.runs)))
    for run in runs:
        run.wait(timeout=600)
    print(f"history: {args.runs} runs in {time.monotonic() - started:.0f} s", flush=True)
    big = client.start("wide")
    big.wait(timeout=900)
    print(f"a run of {args.tasks} tasks: {big.id}", flush=True)

    base = stack.web_url + "api/v1"
    token = client.runs_page(limit=50).next_page_token
    deep = client.runs_page(limit=1000)
    for _ in range(4):  # a page 5,000 runs deep
        deep = client.runs_page(limit=1000, page_token=deep.next_page_token)
    calls = {
        "runs, first page (50)": f"{base}/runs?limit=50",
        "runs, second page": f"{base}/runs?limit=50&page_token={token}",
        "runs, a page 5,000 runs deep": f"{base}/runs?limit=50&page_token={deep.next_page_token}",
        "runs of one workflow (the rarer)": f"{base}/runs?limit=50&workflow=wide",
        "runs, failed only (none)": f"{base}/runs?limit=50&status=failed",
        f"one run of {args.tasks} tasks": f"{base}/runs/{big.id}",
        f"its graph ({args.tasks} tasks: collapsed)": f"{base}/runs/{big.id}/graph",
        "one run of one task": f"{base}/runs/{runs[-1].id}",
        "its graph": f"{base}/runs/{runs[-1].id}/graph",
        "workflows": f"{base}/workflows",
        "one workflow": f"{base}/workflows/one_task",
        "workers": f"{base}/workers",
    }
    results = {}
    print(f"{'call':48} {'median ms':>10} {'max ms':>8} {'bytes':>10}")
    for name, url in calls.items():
        median, worst, size = _time(url, args.repeat)
        results[name] = {"median_ms": round(median, 1), "max_ms": round(worst, 1), "bytes": size}
        print(f"{name:48} {median:10.1f} {worst:8.1f} {size:10,}", flush=True)
    if args.browser:
        results |= _browser(stack, big.id, runs[-1].id)
    (folder / "results.json").write_text(json.dumps(results, indent=2))
    client.close()


def _browser(stack: LocalStack, big: str, small: str) -> dict[str, dict[str, float]]:
    pages = {
        "runs page": ("runs", "[data-testid=run-row]"),
        "run page, one task": (f"runs/{small}", "[data-testid=task-node]"),
        "run page, big run": (f"runs/{big}", "[data-testid=run-status]"),
        "workflows page": ("workflows", "text=one_task"),
    }
    shown = {}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(stack.web_url + "login")
        page.get_by_test_id("login-token").fill(TOKEN)
        page.get_by_test_id("login-submit").click()
        page.get_by_test_id("runs-table").wait_for()
        for name, (path, ready) in pages.items():
            times = []
            for _ in range(5):
                started = time.perf_counter()
                page.goto(stack.web_url + path)
                page.locator(ready).first.wait_for(timeout=120_000)
                times.append((time.perf_counter() - started) * 1000)
            shown[name] = {"median_ms": round(statistics.median(times), 1)}
            print(f"{name:48} {statistics.median(times):10.1f}", flush=True)
        browser.close()
    return shown


if __name__ == "__main__":
    main()
