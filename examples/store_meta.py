"""The engine keeps each run's provenance in the store's meta section, and tasks read it.

The layout is the original Lightflow's:

    name, queue, run_id, arguments, start_time, end_time, duration, status   the run
    log.<dag>: dag, status, start_time, end_time, duration, tasks            each DAG instance
    log.<dag>.tasks.<task>: start_time, end_time, duration, worker, queue,   each task that
                            attempt, status                                  started

A task sees the complete entry of every task that ended before it started (in its DAG and
the run's others), its own entry (start_time, worker, queue: no end yet), and the run's and
the DAGs' entries, at once: no waiting, no polling. Times are UTC datetimes, durations
seconds. A sub-DAG's instance is named '<dag>:<n>' (what signal.start_dag returned)."""

from lightflow.models import Dag, DataStoreDocumentSection
from lightflow.tasks import PythonTask

META = DataStoreDocumentSection.Meta


def first(data, store, signal, context):
    print('first runs')


def report(data, store, signal, context):
    print('workflow:', store.get('name', section=META))
    tasks = 'log.{}.tasks'.format(context.dag_name)
    earlier = store.get(tasks + '.first_task', section=META)
    print('first_task ran on queue', earlier['queue'], 'with status', earlier['status'])
    print('first_task took seconds:', earlier['duration'] >= 0)
    me = store.get('{}.{}'.format(tasks, context.task_name), section=META)
    print('report_task is', me['status'], 'and has no end yet:', 'end_time' not in me)
    print('missing key gives the default:', store.get('no.such.key', 'fallback'))


d = Dag('main_dag')
d.define({PythonTask(name='first_task', callback=first): PythonTask(name='report_task',
                                                                   callback=report)})
