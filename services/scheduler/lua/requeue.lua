-- Hands a task out again after its lease expired (its worker died or hung), or re-queues an
-- entry that was read but never handed out. After `max attempts` lost leases the task fails.
-- ARGV: 4 queue, 5 entry id, 6 run, 7 instance, 8 dag, 9 task, 10 attempt, 11 max attempts,
-- 12 why: 'expired' (lost lease) or 'released' (given back unrun by a stopping worker).
-- Returns 'requeued', 'failed', 'cancelled' or 'stale'.
local queue, entry, r, inst, dag, task, attempt, max_attempts, why =
  ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], tonumber(ARGV[11]), ARGV[12]
redis.call('XACK', key_queue(queue), GROUP, entry)
redis.call('XDEL', key_queue(queue), entry)
local tk = inst .. '/' .. task
local state = redis.call('HMGET', key_run_tasks(r), tk .. '|s', tk .. '|a', tk .. '|e')
if state[2] ~= attempt or state[3] ~= entry
    or (state[1] ~= 'running' and state[1] ~= 'queued') then
  return 'stale'
end
local status = redis.call('HGET', key_run(r), 'status')
local dag_open = redis.call('HGET', key_run_dags(r), inst) == 'running'
  and not redis.call('HGET', key_run_dags(r), inst .. '|stop')
if state[1] == 'queued' then
  redis.call('HINCRBY', key_run(r), 'queued', -1)
  if status ~= 'running' or not dag_open then
    redis.call('HSET', key_run_tasks(r), tk .. '|s', 'cancelled', tk .. '|t1', NOW)
    return 'cancelled'
  end
  enqueue(r, inst, dag, task, queue, attempt)
  return 'requeued'
end
redis.call('HINCRBY', key_run(r), 'running', -1)
redis.call('HINCRBY', key_run_dags(r), inst .. '|run', -1)
-- The lost attempt may have written task data to a blob before its worker went away.
redis.call('HSET', key_run(r), 'blobs', 1)
if status ~= 'running' or not dag_open then
  redis.call('HSET', key_run_tasks(r), tk .. '|s', 'cancelled', tk .. '|t1', NOW)
  event(r, 'task_ended', {i = inst, k = task, a = attempt, s = 'cancelled'})
  settle_dag(r, inst)
  settle_run(r)
  return 'cancelled'
end
if tonumber(attempt) >= max_attempts then
  local failure = cjson.encode({type = 'WorkerLost', message = 'task ' .. tk ..
    ' lost its worker ' .. attempt .. ' times (the worker died or stopped answering)',
    stack_trace = ''})
  redis.call('HSET', key_run_tasks(r), tk .. '|s', 'failed', tk .. '|t1', NOW, tk .. '|f', failure)
  redis.call('HINCRBY', key_run_dags(r), inst .. '|left', -1)
  redis.call('HSET', key_run_dags(r), inst .. '|failed', 1)
  event(r, 'task_ended', {i = inst, k = task, a = attempt, s = 'failed', f = failure})
  halt(r, 'failed', failure, 'task ' .. tk .. ' failed')
  return 'failed'
end
if why == 'expired' then
  event(r, 'task_lease_expired', {i = inst, k = task, a = attempt})
end
enqueue(r, inst, dag, task, queue, tonumber(attempt) + 1)
return 'requeued'
