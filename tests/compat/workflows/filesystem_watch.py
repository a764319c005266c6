"""lightflow-filesystem's NotifyTriggerTask (inotify) watching a folder: every two closed
files start a DAG that backs them up and moves them on, until the run is stopped."""

import os

from lightflow.models import Dag, Option, Parameters
from lightflow_filesystem import CopyTask, MakeDirTask, MoveTask, NotifyTriggerTask

parameters = Parameters([Option('root', help='The folder under which to watch "in"')])


def folder(name):
    return lambda data, store: os.path.join(store.get('root'), name)


def start_files_dag(files, data, store, signal, context):
    data['files'] = files
    print('starting', signal.start_dag(files_dag, data=data), 'for',
          ', '.join(sorted(os.path.basename(f) for f in files)))


mkdir_task = MakeDirTask(name='mkdir_task', paths=lambda data, store: [
    folder(name)(data, store) for name in ('in', 'out', 'backup')])
notify_task = NotifyTriggerTask(name='notify_task', path=folder('in'), callback=start_files_dag,
                                aggregate=2, on_file_close=True, stop_polling_rate=1)
watch_dag = Dag('watch_dag')
watch_dag.define({mkdir_task: notify_task})

copy_task = CopyTask(name='copy_task', sources=lambda data, store: data['files'],
                     destination=folder('backup'))
move_task = MoveTask(name='move_task', sources=lambda data, store: data['files'],
                     destination=folder('out'))
files_dag = Dag('files_dag', autostart=False)
files_dag.define({copy_task: move_task})
