-- Starts a new instance "dag:N" of a DAG of the run's workflow (signal.start_dag).
-- ARGV: 4 run, 5 dag name, 6 input data (may be empty).
-- Returns the instance name, '' when the run is not running, or an error.
local r, dag, data = ARGV[4], ARGV[5], ARGV[6]
local run = redis.call('HMGET', key_run(r), 'status', 'def')
if not run[1] then
  return redis.error_reply('NOT_FOUND run ' .. r)
end
if run[1] ~= 'running' then
  return ''
end
if redis.call('HEXISTS', key_graph(run[2]), dag .. '/') == 0 then
  return redis.error_reply('UNKNOWN_DAG ' .. dag)
end
local inst = dag .. ':' .. redis.call('HINCRBY', key_run(r), 'seq:' .. dag, 1)
if data ~= '' then
  redis.call('HSET', key_run_data(r), inst .. '/', data)
end
start_dag_instance(r, run[2], inst, dag)
return inst
