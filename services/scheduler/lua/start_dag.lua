-- Starts a new instance "dag:N" of a DAG of the run's workflow (signal.start_dag).
-- ARGV: 4 run, 5 dag name, 6 input data (may be empty), 7 request id (may be empty), 8 the
-- data is in a blob (0/1), 9 how many instances the run may start this way.
-- Returns the instance name, '' when the run is not running, or an error. A request id seen
-- before returns the instance it started (a retry after a replica died mid-call).
local r, dag, data, rid = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if rid ~= '' then
  local earlier = redis.call('HGET', key_run_dags(r), 'req|' .. rid)
  if earlier then
    return earlier
  end
end
local run = redis.call('HMGET', key_run(r), 'status', 'def')
if not run[1] then
  return redis.error_reply('NOT_FOUND run ' .. r)
end
-- The run's clean-up removes its blobs: this one too when the start is refused below, as
-- the task wrote it before asking.
if ARGV[8] == '1' then
  redis.call('HSET', key_run(r), 'blobs', 1)
end
if run[1] ~= 'running' then
  return ''
end
if redis.call('HEXISTS', key_graph(run[2]), dag .. '/') == 0 then
  return redis.error_reply('UNKNOWN_DAG ' .. dag)
end
if redis.call('HINCRBY', key_run(r), 'started_dags', 1) > tonumber(ARGV[9]) then
  redis.call('HINCRBY', key_run(r), 'started_dags', -1)
  return redis.error_reply('TOO_MANY_DAGS ' .. ARGV[9])
end
local inst = dag .. ':' .. redis.call('HINCRBY', key_run(r), 'seq:' .. dag, 1)
if data ~= '' then
  redis.call('HSET', key_run_data(r), inst .. '/', data)
end
start_dag_instance(r, run[2], inst, dag)
if rid ~= '' then
  redis.call('HSET', key_run_dags(r), 'req|' .. rid, inst)
end
return inst
