"""The engine writes each run's provenance into the store's meta section; tasks can read it.

The run's entry is there from the start; a task's entry follows within a quarter second of
its end (workers write provenance in batches)."""

import time

from lightflow.models import Dag, DataStoreDocumentSection
from lightflow.tasks import PythonTask


def first(data, store, signal, context):
    print('first runs')


def report(data, store, signal, context):
    run = store.get('run', section=DataStoreDocumentSection.Meta)
    print('workflow:', run['workflow'])
    earlier = None
    for _ in range(100):
        earlier = store.get('tasks.main_dag.first_task', section=DataStoreDocumentSection.Meta)
        if earlier is not None:
            break
        time.sleep(0.05)
    print('first_task ran on queue', earlier['queue'], 'with status', earlier['status'])
    print('first_task took seconds:', earlier['duration'] >= 0)
    print('missing key gives the default:', store.get('no.such.key', 'fallback'))


d = Dag('main_dag')
d.define({PythonTask(name='first_task', callback=first): PythonTask(name='report_task',
                                                                   callback=report)})
