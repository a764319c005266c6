-- Queues a task again once its retry delay passed. Exactly one caller wins the ZREM, so any
-- number of replicas may try. ARG: member (the delayed member, JSON of RETRY's fields).
-- Returns 'queued', 'cancelled' or 'gone'.
local member = ARG.member
if redis.call('ZREM', key_delayed(), member) == 0 then
  return 'gone'
end
local m = cjson.decode(member)
local r, inst, task, attempt = m[RETRY.RUN], m[RETRY.INSTANCE], m[RETRY.TASK], m[RETRY.ATTEMPT]
local tk = inst .. '/' .. task
if redis.call('HGET', key_run_tasks(r), tk .. TASK.STATUS) ~= 'retrying' then
  return 'gone'
end
local open = redis.call('HGET', key_run(r), RUN.STATUS) == 'running'
  and redis.call('HGET', key_run_dags(r), inst) == 'running'
  and not redis.call('HGET', key_run_dags(r), inst .. DAG.STOP)
if not open then
  redis.call('HSET', key_run_tasks(r), tk .. TASK.STATUS, 'cancelled', tk .. TASK.ENDED, NOW)
  redis.call('HINCRBY', key_run_dags(r), inst .. DAG.LEFT, -1)
  event(r, 'task_ended', {[EVENT.INSTANCE] = inst, [EVENT.TASK] = task,
    [EVENT.ATTEMPT] = attempt, [EVENT.STATUS] = 'cancelled'})
  settle_dag(r, inst)
  settle_run(r)
  return 'cancelled'
end
enqueue(r, inst, m[RETRY.DAG], task, m[RETRY.QUEUE], attempt)
return 'queued'
