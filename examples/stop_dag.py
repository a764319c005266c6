"""A task stops a sub-DAG it started; the workflow still succeeds. signal.is_stopped tells a
task of the stopped DAG to finish early."""

import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def start_and_stop(data, store, signal, context):
    name = signal.start_dag('worker_dag')
    while store.get('worker_started', False) is not True:
        time.sleep(0.05)
    signal.stop_dag(name)
    signal.join_dags([name])
    print('stopped', name)


def long_running(data, store, signal, context):
    store.set('worker_started', True)
    while not signal.is_stopped:
        time.sleep(0.05)
    print('noticed the stop')


def never(data, store, signal, context):
    print('this never runs')


main_dag = Dag('main_dag')
main_dag.define({PythonTask(name='control_task', callback=start_and_stop): None})

worker_dag = Dag('worker_dag', autostart=False)
worker_dag.define({PythonTask(name='long_task', callback=long_running):
                   PythonTask(name='never_task', callback=never)})
