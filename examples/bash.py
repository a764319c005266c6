"""A BashTask: each output line reaches a callback, the captured output and return code the end."""

import os

from lightflow.models import Dag
from lightflow.tasks import BashTask, PythonTask


# choose the folder the command runs in and the word it echoes; the BashTask below reads
# both from the data when it starts
def prepare(data, store, signal, context):
    data['folder'] = os.path.abspath(os.sep)
    data['word'] = 'first'


# called with the process id once the command started
def count_lines(pid, data, store, signal, context):
    data['lines'] = 0


# called for each line the command writes to stdout, with its newline (as in the original)
def print_stdout(line, data, store, signal, context):
    data['lines'] += 1
    print('stdout: {}'.format(line.rstrip()))


# called for each line the command writes to stderr
def print_stderr(line, data, store, signal, context):
    data['lines'] += 1
    print('stderr: {}'.format(line.rstrip()))


# called after the command ended: a non-zero return code does not fail the task, this
# callback decides. The captured output is in binary temporary files.
def print_end(returncode, stdout_file, stderr_file, data, store, signal, context):
    print('return code: {}'.format(returncode))
    print('lines: {}'.format(data['lines']))
    print('captured stdout: {!r}'.format(stdout_file.read().decode()))
    print('captured stderr: {!r}'.format(stderr_file.read().decode()))


d = Dag('main_dag')

prepare_task = PythonTask(name='prepare_task', callback=prepare)

# command and cwd are computed from the data when the task starts
bash_task = BashTask(name='bash_task',
                     command=lambda data, store: 'echo {}; pwd; echo second >&2; exit 3'.format(data['word']),
                     cwd=lambda data, store: data['folder'],
                     capture_stdout=True,
                     capture_stderr=True,
                     callback_process=count_lines,
                     callback_stdout=print_stdout,
                     callback_stderr=print_stderr,
                     callback_end=print_end)

d.define({prepare_task: bash_task})
