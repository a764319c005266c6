-- Records a task's result once (fenced by attempt), releases its successors, and hands the
-- worker its next tasks at once (the fast path: one script per hop, no wake-up of a reader).
-- ARGV: 4 run, 5 instance, 6 task, 7 attempt, 8 status, 9 output, 10 failure JSON,
--       11 queue, 12 entry id, 13 retry jitter factor, 14 has limit (0/1), 15 the limit's
--       task names (JSON list), 16 worker id, 17 credit (how many tasks to hand out),
--       18 the output is in a blob (0/1), 19.. the worker's queues.
-- Returns {outcome, pulled, document}: outcome 'stale' when the attempt is not the current one
-- (a late duplicate), 'retry' when the failed attempt will be tried again, 'ended' when the
-- run ended with it, else 'ok'; pulled what `pull` handed out; document, for an ended run:
-- 'kept' when its store document stays, 'none' when there is none and nothing to clean up
-- (finish_run), else 'remove'.
local r, inst, task, attempt, status, output, failure, queue, entry, jitter, has_limit, limit =
  ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13],
  ARGV[14], ARGV[15]
local worker, credit, in_blob = ARGV[16], tonumber(ARGV[17]), ARGV[18]
local queues = {}
for i = 19, #ARGV do queues[#queues + 1] = ARGV[i] end

local function record()
  local tk = inst .. '/' .. task
  -- The run's clean-up removes its blobs when a result came as one (a late duplicate's too),
  -- or when a task did not succeed: it may have written one before it failed or was ended.
  if (in_blob == '1' or status ~= 'succeeded') and redis.call('EXISTS', key_run(r)) == 1 then
    redis.call('HSET', key_run(r), 'blobs', 1)
  end
  local state = redis.call('HMGET', key_run_tasks(r), tk .. '|s', tk .. '|a', tk .. '|e')
  -- Fenced first: only the current attempt's own entry is acknowledged, so a late or bogus
  -- result can neither change the task nor drop another hand-out's lease.
  if state[1] ~= 'running' or state[2] ~= attempt or state[3] ~= entry then
    return 'stale'
  end
  redis.call('XACK', key_queue(queue), GROUP, entry)
  redis.call('XDEL', key_queue(queue), entry)
  local h = redis.call('HGET', key_run(r), 'def')
  local dag = redis.call('HGET', key_run_dags(r), inst .. '|dag')
  redis.call('HINCRBY', key_run(r), 'running', -1)
  redis.call('HINCRBY', key_run_dags(r), inst .. '|run', -1)

  -- A failed attempt with retries left waits in the delayed set, unless the run or the DAG
  -- instance is stopping.
  if status == 'failed' and redis.call('HGET', key_run(r), 'status') == 'running'
      and not redis.call('HGET', key_run_dags(r), inst .. '|stop') then
    local node = cjson.decode(redis.call('HGET', key_graph(h), dag .. '/' .. task))
    if (node.r or 0) > 0 then
      local failures = redis.call('HINCRBY', key_run_tasks(r), tk .. '|r', 1)
      if failures <= node.r then
        local delay_ms = math.floor(node.rd * 1000 * (2 ^ (failures - 1)) * tonumber(jitter))
        redis.call('HSET', key_run_tasks(r), tk .. '|s', 'retrying', tk .. '|f', failure)
        event(r, 'task_ended', {i = inst, k = task, a = attempt, s = 'failed', f = failure})
        event(r, 'task_retrying', {i = inst, k = task, a = attempt,
          x = 'retry ' .. failures .. ' of ' .. node.r .. ' in ' .. (delay_ms / 1000) .. ' s'})
        local member = cjson.encode({r = r, i = inst, d = dag, t = task,
          q = queue, a = tonumber(attempt) + 1})
        redis.call('ZADD', key_delayed(), tonumber(NOW) + delay_ms, member)
        return 'retry'
      end
    end
  end

  redis.call('HSET', key_run_tasks(r), tk .. '|s', status, tk .. '|t1', NOW)
  if failure ~= '' then
    redis.call('HSET', key_run_tasks(r), tk .. '|f', failure)
  end
  redis.call('HINCRBY', key_run_dags(r), inst .. '|left', -1)
  event(r, 'task_ended', {i = inst, k = task, a = attempt, s = status, f = failure})

  if status == 'succeeded' or status == 'stopped' then
    redis.call('HSET', key_run_data(r), tk, output)
    local selects
    if has_limit == '1' then
      local chosen = {}
      for _, name in ipairs(cjson.decode(limit)) do chosen[name] = true end
      selects = function(name) return chosen[name] == true end
    else
      selects = function(_) return true end
    end
    release_successors(r, h, inst, dag, task, selects)
  else  -- failed or aborted: the run stops
    redis.call('HSET', key_run_dags(r), inst .. '|failed', 1)
    halt(r, status, failure, 'task ' .. tk .. ' ' .. status)
    if redis.call('HGET', key_run(r), 'ended') then
      return 'ended'
    end
  end

  settle_dag(r, inst)
  if settle_run(r) then
    return 'ended'
  end
  return 'ok'
end

local outcome = record()
local pulled = pull(worker, credit, queues)
local document = ''
if outcome == 'ended' then
  local doc = redis.call('HMGET', key_run(r), 'keep', 'doc')
  document = (doc[1] == '1' and 'kept') or (doc[2] == 'none' and 'none') or 'remove'
end
return {outcome, pulled, document}
