"""signal.stop_workflow stops the run: running tasks finish, nothing new starts."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def stop(data, store, signal, context):
    print('stopping the workflow')
    signal.stop_workflow()
    print('still finishing my own work')


def never(data, store, signal, context):
    print('this never runs')


d = Dag('main_dag')
d.define({PythonTask(name='stop_task', callback=stop): PythonTask(name='never_task', callback=never)})
