-- Hands a task out again after its lease expired (its worker died or hung), or re-queues an
-- entry that was read but never handed out. After `max_attempts` lost leases the task fails.
-- ARG: queue, entry, run, instance, dag, task, attempt, max_attempts, why: 'expired' (lost
-- lease) or 'released' (given back unrun, by a stopping worker or a closed stream).
-- Returns 'requeued', 'failed', 'cancelled' or 'stale'.
local queue, entry, r, inst, dag, task, attempt =
  ARG.queue, ARG.entry, ARG.run, ARG.instance, ARG.dag, ARG.task, ARG.attempt
redis.call('XACK', key_queue(queue), GROUP, entry)
redis.call('XDEL', key_queue(queue), entry)
local tk = inst .. '/' .. task
local state = redis.call('HMGET', key_run_tasks(r), tk .. TASK.STATUS, tk .. TASK.ATTEMPT,
  tk .. TASK.ENTRY)
if state[2] ~= attempt or state[3] ~= entry
    or (state[1] ~= 'running' and state[1] ~= 'queued') then
  return 'stale'
end
local status = redis.call('HGET', key_run(r), RUN.STATUS)
local dag_open = redis.call('HGET', key_run_dags(r), inst) == 'running'
  and not redis.call('HGET', key_run_dags(r), inst .. DAG.STOP)
if state[1] == 'queued' then
  redis.call('HINCRBY', key_run(r), RUN.QUEUED, -1)
  if status ~= 'running' or not dag_open then
    redis.call('HSET', key_run_tasks(r), tk .. TASK.STATUS, 'cancelled', tk .. TASK.ENDED, NOW)
    return 'cancelled'
  end
  enqueue(r, inst, dag, task, queue, attempt)
  return 'requeued'
end
redis.call('HINCRBY', key_run(r), RUN.RUNNING, -1)
redis.call('HINCRBY', key_run_dags(r), inst .. DAG.RUNNING, -1)
-- The lost attempt may have written task data to a blob before its worker went away, or
-- created the run's store document.
redis.call('HSET', key_run(r), RUN.BLOBS, 1)
document_used(r)
if status ~= 'running' or not dag_open then
  redis.call('HSET', key_run_tasks(r), tk .. TASK.STATUS, 'cancelled', tk .. TASK.ENDED, NOW)
  event(r, 'task_ended', {[EVENT.INSTANCE] = inst, [EVENT.TASK] = task,
    [EVENT.ATTEMPT] = attempt, [EVENT.STATUS] = 'cancelled'})
  settle_dag(r, inst)
  settle_run(r)
  return 'cancelled'
end
if tonumber(attempt) >= tonumber(ARG.max_attempts) then
  local failure = cjson.encode({[FAILURE.TYPE] = 'WorkerLost', [FAILURE.MESSAGE] = 'task '
    .. tk .. ' lost its worker ' .. attempt .. ' times (the worker died or stopped answering)',
    [FAILURE.STACK_TRACE] = ''})
  redis.call('HSET', key_run_tasks(r), tk .. TASK.STATUS, 'failed', tk .. TASK.ENDED, NOW,
    tk .. TASK.FAILURE, failure)
  redis.call('HINCRBY', key_run_dags(r), inst .. DAG.LEFT, -1)
  redis.call('HSET', key_run_dags(r), inst .. DAG.FAILED, 1)
  event(r, 'task_ended', {[EVENT.INSTANCE] = inst, [EVENT.TASK] = task,
    [EVENT.ATTEMPT] = attempt, [EVENT.STATUS] = 'failed', [EVENT.FAILURE] = failure})
  halt(r, 'failed', failure, 'task ' .. tk .. ' failed')
  return 'failed'
end
if ARG.why == 'expired' then
  event(r, 'task_lease_expired', {[EVENT.INSTANCE] = inst, [EVENT.TASK] = task,
    [EVENT.ATTEMPT] = attempt})
end
enqueue(r, inst, dag, task, queue, tonumber(attempt) + 1)
return 'requeued'
