"""Tasks of the lightflow-filesystem extension package (written for the original Lightflow):
make folders, list files with a glob, copy them, move them."""

import os

from lightflow.models import Dag, Option, Parameters
from lightflow_filesystem import CopyTask, GlobTask, MakeDirTask, MoveTask

parameters = Parameters([Option('root', help='A folder holding an "in" folder with files')])


def folder(name):
    return lambda data, store: os.path.join(store.get('root'), name)


def keep_files(files, data, store, signal, context):
    data['files'] = sorted(files)
    print('found', ', '.join(os.path.basename(f) for f in data['files']))


mkdir_task = MakeDirTask(
    name='mkdir_task', paths=lambda data, store: [folder('out')(data, store),
                                                  folder('backup')(data, store)])
glob_task = GlobTask(name='glob_task', paths=folder('in'), callback=keep_files, pattern='*.txt')
copy_task = CopyTask(name='copy_task', sources=lambda data, store: data['files'],
                     destination=folder('backup'))
move_task = MoveTask(name='move_task', sources=lambda data, store: data['files'],
                     destination=folder('out'))

d = Dag('main_dag')
d.define({mkdir_task: glob_task, glob_task: copy_task, copy_task: move_task})
