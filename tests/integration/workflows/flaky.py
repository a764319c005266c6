"""A task that fails twice, then succeeds: retries with backoff carry it through."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def flaky(data, store, signal, context):
    attempt = store.increment("attempts")
    print("attempt", attempt)
    if attempt < 3:
        raise ConnectionError(f"the service is busy (attempt {attempt})")
    data["done"] = attempt


def after(data, store, signal, context):
    print("after sees", data["done"])


d = Dag("main_dag")
d.define(
    {
        PythonTask(name="flaky_task", callback=flaky, retries=3, retry_delay=0.2): PythonTask(
            name="after_task", callback=after
        )
    }
)
