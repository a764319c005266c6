-- Queues a task again once its retry delay passed. Exactly one caller wins the ZREM, so any
-- number of replicas may try. ARGV: 4 the delayed member (JSON {r, i, d, t, q, a}).
-- Returns 'queued', 'cancelled' or 'gone'.
local member = ARGV[4]
if redis.call('ZREM', key_delayed(), member) == 0 then
  return 'gone'
end
local m = cjson.decode(member)
local r, inst = m.r, m.i
local tk = inst .. '/' .. m.t
if redis.call('HGET', key_run_tasks(r), tk .. '|s') ~= 'retrying' then
  return 'gone'
end
local open = redis.call('HGET', key_run(r), 'status') == 'running'
  and redis.call('HGET', key_run_dags(r), inst) == 'running'
  and not redis.call('HGET', key_run_dags(r), inst .. '|stop')
if not open then
  redis.call('HSET', key_run_tasks(r), tk .. '|s', 'cancelled', tk .. '|t1', NOW)
  redis.call('HINCRBY', key_run_dags(r), inst .. '|left', -1)
  event(r, 'task_ended', {i = inst, k = m.t, a = m.a, s = 'cancelled'})
  settle_dag(r, inst)
  settle_run(r)
  return 'cancelled'
end
enqueue(r, inst, m.d, m.t, m.q, m.a)
return 'queued'
