-- Stops a DAG instance: nothing new starts in it, it ends `stopped` once none of its tasks
-- runs. ARG: run, instance. Returns the instance's status, or a refusal (REFUSAL).
local r, inst = ARG.run, ARG.instance
if not redis.call('HGET', key_run(r), RUN.STATUS) then
  return redis.error_reply(REFUSAL.RUN_NOT_FOUND)
end
local status = redis.call('HGET', key_run_dags(r), inst)
if not status then
  return redis.error_reply(REFUSAL.DAG_INSTANCE_NOT_FOUND)
end
if status == 'running' and not redis.call('HGET', key_run_dags(r), inst .. DAG.STOP) then
  redis.call('HSET', key_run_dags(r), inst .. DAG.STOP, NOW)
  event(r, 'dag_stopping', {[EVENT.INSTANCE] = inst})
  settle_dag(r, inst)
  settle_run(r)
end
return redis.call('HGET', key_run_dags(r), inst)
