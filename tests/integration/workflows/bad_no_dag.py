"""A workflow file without a DAG."""

from lightflow.tasks import PythonTask


def lonely(data, store, signal, context):
    print("nobody runs me")


lonely_task = PythonTask(name="lonely_task", callback=lonely)
