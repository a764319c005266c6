-- ARGV: 4 run id, 5 workflow name, 6 definition hash, 7 keep data (0/1), 8 deadline in ms
-- since the epoch (0: none), 9 request id (may be empty), 10 the run's arguments (sealed
-- BSON: the store document's initial data, and the `arguments` of its provenance), 11 whether
-- it has any (0/1), 12 when the document is due (ms since the epoch; see document.lua),
-- 13.. autostart DAGs.
-- Returns the run id; for a request id seen before, the run that request started. Fails with
-- STALE_DEFINITION when the workflow is no longer registered with the definition hash.
local r, wf, h, keep, deadline = ARGV[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])
local rid = ARGV[9]
if rid ~= '' then
  local earlier = redis.call('GET', key_request(rid))
  if earlier then
    return earlier
  end
end
local registered = redis.call('HGET', key_workflows(), wf)
if not registered or cjson.decode(registered)['hash'] ~= h then
  return redis.error_reply('STALE_DEFINITION')
end
if rid ~= '' then
  redis.call('SET', key_request(rid), r, 'EX', RETENTION)
end
redis.call('HSET', key_run(r), 'wf', wf, 'def', h, 'status', 'running', 'started', NOW,
  'keep', keep, 'running', 0, 'queued', 0, 'dags_active', 0, 'dag_count', 0,
  'docdata', ARGV[10])
if ARGV[11] == '1' then
  -- Kept while the run is (the document's copy goes once it is created): its provenance.
  redis.call('HSET', key_run(r), 'args', ARGV[10])
end
redis.call('ZADD', key_documents_due(), ARGV[12], r)
redis.call('ZADD', key_runs(), NOW, r)
event(r, 'run_started', {})
if deadline > 0 then
  redis.call('HSET', key_run(r), 'deadline', deadline)
  redis.call('ZADD', key_deadlines(), deadline, r)
end
for i = 13, #ARGV do
  start_dag_instance(r, h, ARGV[i], ARGV[i])
end
if tonumber(redis.call('HGET', key_run(r), 'dags_active')) == 0 then
  finish_run(r)
end
return r
