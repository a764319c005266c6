"""A task raises an error from another one, and its clean-up fails too."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def read_sensor(text):
    return int(text)


def measure(data, store, signal, context):
    try:
        read_sensor("no data")
    except ValueError as err:
        raise RuntimeError("the sensor could not be read") from err


def clean_up(status, data, store, signal, context):
    raise OSError("the sensor could not be released")


d = Dag("main_dag")
d.define({PythonTask(name="measure_task", callback=measure, callback_finally=clean_up): None})
