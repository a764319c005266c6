-- Records a task's result once (fenced by attempt) and makes its ready successors queued.
-- ARGV: 4 run, 5 instance, 6 task, 7 attempt, 8 status, 9 output, 10 failure JSON,
--       11 queue, 12 entry id.
-- Returns 'stale' when the attempt is not the current one (a late duplicate), 'ended' when
-- the run ended with it, else 'ok'.
local r, inst, task, attempt, status, output, failure, queue, entry =
  ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12]
redis.call('XACK', key_queue(queue), GROUP, entry)
redis.call('XDEL', key_queue(queue), entry)
local tk = inst .. '/' .. task
local state = redis.call('HMGET', key_run_tasks(r), tk .. '|s', tk .. '|a')
if state[1] ~= 'running' or state[2] ~= attempt then
  return 'stale'
end
redis.call('HSET', key_run_tasks(r), tk .. '|s', status)
redis.call('HINCRBY', key_run(r), 'running', -1)
event(r, 'task_ended', {i = inst, k = task, a = attempt, s = status, f = failure})
local run = redis.call('HMGET', key_run(r), 'def', 'status')
local dag = redis.call('HGET', key_run_dags(r), inst .. '|dag')

if status == 'succeeded' then
  redis.call('HSET', key_run_data(r), tk, output)
  if run[2] == 'running' then
    local node = cjson.decode(redis.call('HGET', key_graph(run[1]), dag .. '/' .. task))
    for _, succ in ipairs(node.s) do
      -- succ = {name, queue, number of predecessors}
      local done = redis.call('HINCRBY', key_run_tasks(r), inst .. '/' .. succ[1] .. '|d', 1)
      if done == succ[3] then
        enqueue(r, inst, dag, succ[1], succ[2], 1)
      end
    end
  end
elseif status == 'failed' or status == 'aborted' then
  redis.call('HSET', key_run_dags(r), inst .. '|failed', 1)
  halt(r, status, failure, 'task ' .. tk .. ' ' .. status)
  if redis.call('HGET', key_run(r), 'ended') then
    return 'ended'
  end
end

if redis.call('HINCRBY', key_run_dags(r), inst .. '|left', -1) == 0 then
  local dag_status = 'succeeded'
  if redis.call('HEXISTS', key_run_dags(r), inst .. '|failed') == 1 then
    dag_status = 'failed'
  end
  redis.call('HSET', key_run_dags(r), inst, dag_status)
  redis.call('HINCRBY', key_run(r), 'dags_active', -1)
  event(r, 'dag_ended', {i = inst, s = dag_status})
end

local now = redis.call('HMGET', key_run(r), 'status', 'running', 'dags_active')
if (now[1] == 'stopping' and tonumber(now[2]) <= 0)
    or (now[1] == 'running' and tonumber(now[3]) <= 0) then
  finish_run(r)
  return 'ended'
end
return 'ok'
