"""AbortWorkflow ends the run as aborted: nothing new starts, the message reaches the user."""

from lightflow.models import AbortWorkflow, Dag
from lightflow.tasks import PythonTask


def check(data, store, signal, context):
    print('the input is missing, aborting')
    raise AbortWorkflow('input file not found')


def never(data, store, signal, context):
    print('this never runs')


d = Dag('main_dag')
d.define({PythonTask(name='check_task', callback=check): PythonTask(name='never_task', callback=never)})
