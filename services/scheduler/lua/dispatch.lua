-- Hands out entries a worker just read from its queues (XREADGROUP): marks each task running
-- and returns its input datasets; drops entries of runs or DAG instances that stopped, and
-- stale duplicates.
-- ARGV: 4 worker id, then per entry 7 values: queue, entry id, run, instance, dag, task, attempt.
-- Returns per entry {entry id, 'run', workflow, definition hash, {{pred, alias, data}, ...}}
-- or {entry id, 'drop'}.
local worker = ARGV[4]
local out = {}
for i = 5, #ARGV, 7 do
  local queue, entry, r, inst, dag, task, attempt =
    ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  local tk = inst .. '/' .. task
  local run = redis.call('HMGET', key_run(r), 'status', 'def', 'wf')
  local dag_state = redis.call('HMGET', key_run_dags(r), inst, inst .. '|stop')
  local state = redis.call('HMGET', key_run_tasks(r), tk .. '|s', tk .. '|a', tk .. '|e')
  local ours = state[1] == 'queued' and state[2] == attempt and state[3] == entry
  if run[1] ~= 'running' or dag_state[1] ~= 'running' or dag_state[2] or not ours then
    redis.call('XACK', key_queue(queue), GROUP, entry)
    redis.call('XDEL', key_queue(queue), entry)
    if ours and run[1] then
      redis.call('HSET', key_run_tasks(r), tk .. '|s', 'cancelled', tk .. '|t1', NOW)
      redis.call('HINCRBY', key_run(r), 'queued', -1)
      event(r, 'task_ended', {i = inst, k = task, a = attempt, s = 'cancelled'})
    end
    out[#out + 1] = {entry, 'drop'}
  else
    redis.call('HSET', key_run_tasks(r), tk .. '|s', 'running', tk .. '|w', worker, tk .. '|t0', NOW)
    redis.call('HINCRBY', key_run(r), 'queued', -1)
    redis.call('HINCRBY', key_run(r), 'running', 1)
    redis.call('HINCRBY', key_run_dags(r), inst .. '|run', 1)
    event(r, 'task_started', {i = inst, k = task, a = attempt, w = worker})
    local node = cjson.decode(redis.call('HGET', key_graph(run[2]), dag .. '/' .. task))
    local inputs = {}
    if #node.p == 0 then
      local given = redis.call('HGET', key_run_data(r), inst .. '/')
      if given then inputs[1] = {'', '', given} end
    else
      -- Predecessors that were skipped have no output and give no dataset.
      for _, pred in ipairs(node.p) do
        local data = redis.call('HGET', key_run_data(r), inst .. '/' .. pred[1])
        if data then inputs[#inputs + 1] = {pred[1], pred[2], data} end
      end
    end
    out[#out + 1] = {entry, 'run', run[3], run[2], inputs}
  end
end
return out
