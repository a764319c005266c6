-- ARGV: 4 run id, 5 workflow name, 6 definition hash, 7 keep data (0/1), 8 deadline in ms
-- since the epoch (0: none), 9.. autostart DAGs
local r, wf, h, keep, deadline = ARGV[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])
redis.call('HSET', key_run(r), 'wf', wf, 'def', h, 'status', 'running', 'started', NOW,
  'keep', keep, 'running', 0, 'queued', 0, 'dags_active', 0, 'dag_count', 0)
redis.call('ZADD', key_runs(), NOW, r)
event(r, 'run_started', {})
if deadline > 0 then
  redis.call('HSET', key_run(r), 'deadline', deadline)
  redis.call('ZADD', key_deadlines(), deadline, r)
end
for i = 9, #ARGV do
  start_dag_instance(r, h, ARGV[i], ARGV[i])
end
if tonumber(redis.call('HGET', key_run(r), 'dags_active')) == 0 then
  finish_run(r)
end
return r
