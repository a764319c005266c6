"""A BashTask's line callback fails on the command's output."""

from lightflow.models import Dag
from lightflow.tasks import BashTask


def check_line(line, data, store, signal, context):
    if line.startswith("error"):
        raise ValueError("the command reported: " + line.rstrip())


d = Dag("main_dag")
d.define({BashTask(name="bash_task", command="echo ok; echo error 42", callback_stdout=check_line): None})
