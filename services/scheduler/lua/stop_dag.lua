-- Stops a DAG instance: nothing new starts in it, it ends `stopped` once none of its tasks
-- runs. ARGV: 4 run, 5 instance. Returns the instance's status, or an error.
local r, inst = ARGV[4], ARGV[5]
if not redis.call('HGET', key_run(r), 'status') then
  return redis.error_reply('NOT_FOUND run ' .. r)
end
local status = redis.call('HGET', key_run_dags(r), inst)
if not status then
  return redis.error_reply('NOT_FOUND dag ' .. inst)
end
if status == 'running' and not redis.call('HGET', key_run_dags(r), inst .. '|stop') then
  redis.call('HSET', key_run_dags(r), inst .. '|stop', NOW)
  event(r, 'dag_stopping', {i = inst})
  settle_dag(r, inst)
  settle_run(r)
end
return redis.call('HGET', key_run_dags(r), inst)
