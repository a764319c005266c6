"""A trigger task: watch a folder and start a DAG for every new file, until stopped.

    lfctl run watch_folder folder=/tmp/inbox

The trigger runs as long as the run does (no timeout ends it). Each file that appears in
the folder starts one instance of 'file_dag', which counts the file's lines; those DAGs run
on the workers while the trigger keeps watching. `lfctl workflow stop <run id>` (or Ctrl-C
on `lfctl run`) stops the run: the trigger sees it within a second and ends, the file DAGs
already started finish their work. Move finished files into the folder (`mv`, a rename)
rather than write them there, so that no DAG sees half a file.
"""

import os
import time

from lightflow.models import Action, BaseTask, Dag, Option, Parameters, TaskParameters
from lightflow.tasks import PythonTask

parameters = Parameters([
    Option('folder', help='The folder to watch; made when missing'),
    Option('interval', default=0.5, type=float, help='Seconds between two looks'),
])


class FolderTrigger(BaseTask):
    """Starts `dag` with data['path'] set, once for each file that appears in `folder`.

    `folder` and `interval` may be values or callables (data, store) -> value, evaluated
    when the task starts, like any TaskParameters."""

    def __init__(self, name, dag, folder, interval=0.5, **kwargs):
        super().__init__(name, **kwargs)
        self.params = TaskParameters(folder=folder, interval=interval)
        self._dag = dag

    def run(self, data, store, signal, context):
        params = self.params.eval(data, store)
        os.makedirs(params.folder, exist_ok=True)
        seen = set()
        # asking the schedulers whether the run or this DAG was stopped is one small call
        while not signal.is_stopped:
            for name in sorted(set(os.listdir(params.folder)) - seen):
                seen.add(name)
                if name.startswith('.'):
                    continue  # hidden and temporary files
                data['path'] = os.path.join(params.folder, name)
                instance = signal.start_dag(self._dag, data=data)
                print('{} -> {}'.format(name, instance))
            time.sleep(params.interval)
        print('stopped after {} files'.format(len(seen)))
        return Action(data)


def count_lines(data, store, signal, context):
    with open(data['path'], 'rb') as file:
        lines = sum(1 for _ in file)
    name = os.path.basename(data['path'])
    store.set('lines.{}'.format(name.replace('.', '_')), lines)
    print('{} has {} lines'.format(name, lines))


file_dag = Dag('file_dag', autostart=False)
file_dag.define({PythonTask(name='count_task', callback=count_lines): None})

watch_dag = Dag('watch_dag')
watch_dag.define({
    FolderTrigger(name='watch_task',
                  dag=file_dag,
                  folder=lambda data, store: store.get('folder'),
                  interval=lambda data, store: store.get('interval')): None,
})
