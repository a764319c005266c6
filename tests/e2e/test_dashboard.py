"""The web dashboard in a real headless Chromium (Debian's `chromium`, driven by Playwright)
against a real stack with its web service: sign in, start from a form, watch a run live,
read output and tracebacks, stop a run, and see refusals and hostile text for what they are.

Screenshots of every page go to test-output/dashboard/ (LIGHTFLOW_TEST_OUTPUT to move it).
Without a browser the tests skip, unless LIGHTFLOW_REQUIRE_BROWSER is set (.ci/run sets it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lightflow import Client
from lightflow_cli.stack import LocalStack, StackOptions
from tests.conftest import EXAMPLES, ROOT, dump_logs
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS

SHOTS = Path(os.environ.get("LIGHTFLOW_TEST_OUTPUT", ROOT / "test-output")) / "dashboard"
TOKEN = "dashboard-test-token"  # a test-only shared token

HOSTILE = '''"""Shows what a run with <b>markup</b> looks like: <script>window.__pwned = 1</script>
<img src=x onerror="window.__pwned = 2"> never runs."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def shout(data, store, signal, context):
    print('<script>window.__pwned = 3</script><img src=x onerror="window.__pwned = 4">')
    print('a plain line')


def fail(data, store, signal, context):
    raise ValueError('the input was bad')


d = Dag('main')
d.define({PythonTask(name='shout', callback=shout): PythonTask(name='fail', callback=fail)})
'''

SLOW = '''"""Waits a minute, unless stopped first."""

import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def wait(data, store, signal, context):
    print('waiting')
    for _ in range(600):
        if signal.is_stopped:
            return
        time.sleep(0.1)


d = Dag('main')
d.define({PythonTask(name='wait', callback=wait): None})
'''

playwright = pytest.importorskip("playwright.sync_api")


def _browser_missing() -> bool:
    return not Path(CHROMIUM).exists()


pytestmark = pytest.mark.skipif(
    _browser_missing() and not os.environ.get("LIGHTFLOW_REQUIRE_BROWSER"),
    reason=f"no chromium at {CHROMIUM} (.ci/run installs Debian's package)",
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    folder = tmp_path_factory.mktemp("dashboard")
    (folder / "logs").mkdir()
    started = LocalStack(
        StackOptions(log_dir=folder / "logs", token=TOKEN, web_port=0, stop_grace_s=1.0)
    ).start()
    try:
        client = Client(started.scheduler_addresses, token=TOKEN)
        for name, source in (("hostile", HOSTILE), ("slow", SLOW)):
            path = folder / f"{name}.py"
            path.write_text(source)
            client.register(path)
        client.register(EXAMPLES / "parameters.py")
        client.register(EXAMPLES / "sub_dag.py")
        client.close()
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, stack: LocalStack) -> Iterator[Any]:
    """A signed-in page (through the sign-in form) that fails the test on a script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda err: errors.append(str(err)))
    opened.on("dialog", lambda dialog: errors.append(f"a dialog: {dialog.message}"))
    opened.goto(stack.web_url + "login")
    opened.get_by_test_id("login-token").fill(TOKEN)
    opened.get_by_test_id("login-submit").click()
    opened.get_by_test_id("runs-page").wait_for()
    yield opened
    context.close()
    assert errors == [], errors


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _client(stack: LocalStack) -> Client:
    return Client(stack.scheduler_addresses, token=TOKEN)


def test_sign_in_refuses_a_wrong_token_and_takes_the_right_one(
    browser: Any, stack: LocalStack
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(stack.web_url + "runs")
    assert "/login" in page.url  # not signed in: sent to sign in
    page.get_by_test_id("login-token").fill("not the token")
    page.get_by_test_id("login-submit").click()
    error = page.get_by_test_id("login-error")
    error.wait_for()
    assert "not the stack's token" in error.inner_text()
    shot(page, "01-sign-in-refused")
    page.get_by_test_id("login-token").fill(TOKEN)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("runs-page").wait_for()
    assert page.url.rstrip("/").endswith("/runs")
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["lightflow_session"]["httpOnly"]
    assert TOKEN not in cookies["lightflow_session"]["value"]
    context.close()


def test_a_run_started_from_its_form_turns_green_live_and_shows_its_output(
    page: Any, stack: LocalStack
) -> None:
    page.goto(stack.web_url + "workflows/parameters")
    form = page.get_by_test_id("start-form")
    form.wait_for()
    shot(page, "02-workflow-with-start-form")
    page.get_by_test_id("param-name").fill("Ada")
    page.get_by_test_id("param-count").fill("3")
    page.get_by_test_id("start-submit").click()
    page.wait_for_url("**/runs/*")
    run_id = page.url.rstrip("/").rsplit("/", 1)[1]
    # Live: the nodes turn green without a reload.
    nodes = page.locator("[data-testid=task-node]")
    nodes.first.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=task-node]')]"
        ".every(n => n.dataset.status === 'succeeded')",
        timeout=60_000,
    )
    page.get_by_test_id("run-status").filter(has_text="succeeded").wait_for()
    assert page.get_by_test_id("run-arguments").inner_text().count("Ada") == 1
    with _client(stack) as client:
        assert client.get_run(run_id).status == "succeeded", dump_logs(stack)
    first = nodes.first.get_attribute("data-task")
    nodes.first.click()
    output = page.get_by_test_id("task-output")
    output.wait_for()
    shot(page, "03-run-succeeded")
    assert first
    assert output.inner_text().strip(), f"task {first} printed nothing on the page"


def test_a_refused_start_shows_the_clis_message_and_starts_nothing(
    page: Any, stack: LocalStack
) -> None:
    with _client(stack) as client:
        before = len(client.list_runs(workflow="parameters", limit=1000))
    page.goto(stack.web_url + "workflows/parameters")
    page.get_by_test_id("param-name").fill("Ada")
    page.get_by_test_id("param-count").fill("three")
    page.get_by_test_id("start-submit").click()
    error = page.get_by_test_id("start-error")
    error.wait_for()
    assert "option 'count'" in error.inner_text()
    assert "three" in error.inner_text()
    assert page.get_by_test_id("param-count").input_value() == "three"  # kept as typed
    shot(page, "04-start-refused")
    with _client(stack) as client:
        assert len(client.list_runs(workflow="parameters", limit=1000)) == before


def test_a_long_run_is_stopped_from_its_page(page: Any, stack: LocalStack) -> None:
    with _client(stack) as client:
        run = client.start("slow")
    page.goto(stack.web_url + f"runs/{run.id}")
    page.locator("[data-testid=task-node][data-status=running]").wait_for(timeout=30_000)
    page.get_by_test_id("run-stop").click()
    page.get_by_test_id("confirm-ok").click()  # the page asks first
    page.get_by_test_id("run-status").filter(has_text="stopped").wait_for(timeout=60_000)
    shot(page, "05-run-stopped")
    assert run.wait(timeout=30) == "stopped"


def test_a_failed_run_shows_its_traceback_and_markup_stays_text(
    page: Any, stack: LocalStack
) -> None:
    with _client(stack) as client:
        run = client.start_and_wait("hostile")
        assert run.wait() == "failed"
    page.goto(stack.web_url + f"runs/{run.id}")
    failure = page.get_by_test_id("run-failure")
    failure.wait_for()
    assert "ValueError" in failure.inner_text()
    assert "the input was bad" in failure.inner_text()
    page.locator("[data-testid=task-node][data-task=shout]").click()
    output = page.get_by_test_id("task-output")
    output.filter(has_text="a plain line").wait_for()
    assert "<script>window.__pwned = 3</script>" in output.inner_text()
    page.locator("[data-testid=task-node][data-task=fail]").click()
    traceback = page.get_by_test_id("task-failure")
    traceback.wait_for()
    assert 'raise ValueError("the input was bad")' in traceback.inner_text().replace("'", '"')
    shot(page, "06-run-failed")
    page.goto(stack.web_url + "workflows/hostile")
    description = page.get_by_test_id("workflow-description")
    description.wait_for()
    assert "<script>window.__pwned = 1</script>" in description.inner_text()
    shot(page, "07-workflow-with-markup")
    assert page.evaluate("() => window.__pwned") is None  # nothing of it ran


def test_the_runs_page_shows_new_runs_without_reload(page: Any, stack: LocalStack) -> None:
    page.goto(stack.web_url + "runs")
    page.get_by_test_id("runs-page").wait_for()
    with _client(stack) as client:
        run = client.start_and_wait("sub_dag")
    row = page.locator(f"[data-testid=run-row][data-run-id='{run.id}']")
    row.wait_for(timeout=30_000)
    row.filter(has_text="succeeded").wait_for(timeout=30_000)
    shot(page, "08-runs")
    page.goto(stack.web_url + f"runs/{run.id}")
    page.locator("[data-testid=dag-graph]").nth(5).wait_for()  # main_dag and five sub-DAGs
    page.get_by_test_id("timeline").wait_for()
    shot(page, "09-run-with-sub-dags")


def test_the_workers_page_lists_the_stacks_worker(page: Any, stack: LocalStack) -> None:
    page.goto(stack.web_url + "workers")
    rows = page.get_by_test_id("worker-row")
    rows.first.wait_for()
    assert rows.count() == len(stack.workers)
    assert "task" in rows.first.inner_text()
    shot(page, "10-workers")
    page.goto(stack.web_url + "workflows")
    page.get_by_text("parameters").first.wait_for()
    shot(page, "11-workflows")


def test_the_sign_in_link_lfctl_up_prints_signs_in_and_leaves_no_token_behind(
    browser: Any, stack: LocalStack
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{stack.web_url}login#token={TOKEN}")
    page.get_by_test_id("runs-page").wait_for()
    assert TOKEN not in page.url
    assert TOKEN not in str(page.evaluate("() => history.length && location.href"))
    context.close()


def test_a_scheduled_run_shows_as_such_and_is_stopped_before_it_starts(
    page: Any, stack: LocalStack
) -> None:
    with _client(stack) as client:
        run = client.start("slow", start_in=120)
    page.goto(stack.web_url + f"runs/{run.id}")
    page.get_by_test_id("run-status").filter(has_text="scheduled").wait_for()
    shot(page, "12-run-scheduled")
    page.get_by_test_id("run-stop").click()
    page.get_by_test_id("confirm-ok").click()
    page.get_by_test_id("run-status").filter(has_text="stopped").wait_for(timeout=30_000)
    assert run.wait(timeout=10) == "stopped"


def test_the_schedules_page_shows_next_ticks_and_pauses_resumes_and_triggers(
    page: Any, stack: LocalStack
) -> None:
    with _client(stack) as client:
        client.create_schedule(
            "nightly-report",
            "parameters",
            {"name": "Ada"},
            cron="0 3 * * *",
            timezone="Europe/Berlin",
        )
        client.create_schedule("sync-every-5-min", "sub_dag", every=300)
        client.pause_schedule("sync-every-5-min")
    try:
        page.goto(stack.web_url + "schedules")
        assert page.get_by_test_id("nav-schedules").get_attribute("aria-current") == "page"
        page.locator("[data-testid=schedule-row][data-state=paused]").wait_for()
        assert "every 5 min" in page.get_by_test_id("schedules-table").inner_text()
        row = page.locator("[data-testid=schedule-row][data-schedule=nightly-report]")
        row.wait_for()
        assert "0 3 * * * (Europe/Berlin)" in row.inner_text()
        assert row.get_by_test_id("schedule-next").inner_text().startswith("in ")
        row.locator("[data-testid=schedule-workflow][href='/workflows/parameters']").wait_for()
        assert row.get_by_test_id("schedule-state").inner_text() == "active"
        shot(page, "13-schedules")
        row.get_by_test_id("schedule-pause").click()
        page.locator(
            "[data-testid=schedule-row][data-schedule=nightly-report][data-state=paused]"
        ).wait_for()
        assert row.get_by_test_id("schedule-state").inner_text() == "paused"
        assert row.locator("td.col-next").inner_text().strip() == "—"
        with _client(stack) as client:
            (paused,) = [s for s in client.list_schedules() if s.name == "nightly-report"]
            assert paused.paused
        row.get_by_test_id("schedule-resume").click()
        page.locator(
            "[data-testid=schedule-row][data-schedule=nightly-report][data-state=active]"
        ).wait_for()
        with _client(stack) as client:
            (resumed,) = [s for s in client.list_schedules() if s.name == "nightly-report"]
            assert not resumed.paused
        row.get_by_test_id("schedule-trigger").click()
        page.wait_for_url("**/runs/*")
        run_id = page.url.rstrip("/").rsplit("/", 1)[1]
        with _client(stack) as client:
            assert client.run(run_id).wait(timeout=60) == "succeeded", dump_logs(stack)
        label = page.get_by_test_id("run-schedule")
        label.wait_for()
        assert "nightly-report" in label.inner_text()
        page.get_by_test_id("run-status").filter(has_text="succeeded").wait_for(timeout=30_000)
        shot(page, "14-run-by-schedule")
        label.click()  # back to the schedules page, that one highlighted
        page.wait_for_url("**/schedules#nightly-report")
        row.wait_for()
        page.goto(stack.web_url + "runs")
        page.locator(
            f"[data-testid=run-row][data-run-id='{run_id}'] [data-testid=run-row-schedule]"
        ).wait_for()
    finally:
        with _client(stack) as client:
            client.delete_schedule("nightly-report")
            client.delete_schedule("sync-every-5-min")
    page.goto(stack.web_url + "schedules")
    page.get_by_test_id("schedules-empty").wait_for()
    assert "lfctl schedule create" in page.get_by_test_id("schedules-empty").inner_text()
