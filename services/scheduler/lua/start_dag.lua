-- Starts a new instance "dag:N" of a DAG of the run's workflow (signal.start_dag).
-- ARG: run, dag (its name), data (input data, may be empty), request (request id, may be
-- empty), in_blob (the data is in a blob, 0/1), max_instances (how many instances the run may
-- start this way), by (the calling task, "<instance>/<task>", may be empty).
-- Returns the instance name, '' when the run is not running, or a refusal (REFUSAL). A
-- request id seen before returns the instance it started (a retry after a replica died
-- mid-call).
local r, dag, data, rid = ARG.run, ARG.dag, ARG.data, ARG.request
if rid ~= '' then
  local earlier = redis.call('HGET', key_run_dags(r), DAG.REQUEST .. rid)
  if earlier then
    return earlier
  end
end
local run = redis.call('HMGET', key_run(r), RUN.STATUS, RUN.DEFINITION)
if not run[1] then
  return redis.error_reply(REFUSAL.RUN_NOT_FOUND)
end
-- The run's clean-up removes its blobs: this one too when the start is refused below, as
-- the task wrote it before asking.
if ARG.in_blob == '1' then
  redis.call('HSET', key_run(r), RUN.BLOBS, 1)
end
if run[1] ~= 'running' then
  return ''
end
if redis.call('HEXISTS', key_graph(run[2]), dag .. '/') == 0 then
  return redis.error_reply(REFUSAL.UNKNOWN_DAG)
end
if redis.call('HINCRBY', key_run(r), RUN.STARTED_DAGS, 1) > tonumber(ARG.max_instances) then
  redis.call('HINCRBY', key_run(r), RUN.STARTED_DAGS, -1)
  return redis.error_reply(REFUSAL.TOO_MANY_DAGS)
end
local inst = dag .. ':' .. redis.call('HINCRBY', key_run(r), RUN.DAG_SEQ .. dag, 1)
if data ~= '' then
  redis.call('HSET', key_run_data(r), inst .. '/', data)
end
start_dag_instance(r, run[2], inst, dag)
if ARG.by ~= '' then
  redis.call('HSET', key_run_dags(r), inst .. DAG.STARTED_BY, ARG.by)
end
if rid ~= '' then
  redis.call('HSET', key_run_dags(r), DAG.REQUEST .. rid, inst)
end
return inst
