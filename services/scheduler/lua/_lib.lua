-- Shared by every script (prepended, after `local P = ARGV[1]` and the key builders). Every
-- script's ARGV starts with: 1 prefix, 2 now in ms, 3 retention in s (how long an ended run
-- stays readable). Keys are built here from the prefix rather than passed in KEYS: a task hop
-- touches keys that only the graph names (successors, queues). The deployment is one redis
-- (or a replicated primary), never a cluster.
local NOW = ARGV[2]
local RETENTION = tonumber(ARGV[3])
local GROUP = 'workers'

-- The id of a run's next event: '<ms>-<n>', n counting every event of the run (its 'evseq'),
-- ms never going back (replicas' clocks differ). Transitions and printed lines live in two
-- streams (run_events, run_output) whose ids thus never collide and merge in order.
local event_ms = {}
local function next_event_id(r)
  local n = redis.call('HINCRBY', key_run(r), 'evseq', 1)
  local ms = event_ms[r] or tonumber(redis.call('HGET', key_run(r), 'evms') or '0')
  if tonumber(NOW) > ms then
    ms = tonumber(NOW)
    redis.call('HSET', key_run(r), 'evms', NOW)
  end
  event_ms[r] = ms
  return string.format('%.0f-%d', ms, n)
end

local function event(r, ty, fields)
  local args = {key_run_events(r), next_event_id(r), 'ty', ty, 'ts', NOW}
  for k, v in pairs(fields or {}) do
    args[#args + 1] = k
    args[#args + 1] = v
  end
  return redis.call('XADD', unpack(args))
end

local function enqueue(r, inst, dag, task, queue, attempt)
  local tk = inst .. '/' .. task
  local entry = redis.call('XADD', key_queue(queue), '*', 'r', r, 'i', inst, 'd', dag, 't', task,
    'a', attempt)
  -- The entry id fences hand-out: only this entry may start this attempt.
  redis.call('HSET', key_run_tasks(r), tk .. '|s', 'queued', tk .. '|a', attempt, tk .. '|q', queue,
    tk .. '|e', entry)
  redis.call('HINCRBY', key_run(r), 'queued', 1)
  event(r, 'task_queued', {i = inst, k = task, a = attempt})
end

local function start_dag_instance(r, h, inst, dag)
  local summary = cjson.decode(redis.call('HGET', key_graph(h), dag .. '/'))
  local order = redis.call('HINCRBY', key_run(r), 'dag_count', 1)
  redis.call('HSET', key_run_dags(r), inst, 'running', inst .. '|dag', dag,
    inst .. '|left', summary.size, inst .. '|n', order, inst .. '|run', 0, inst .. '|t0', NOW)
  redis.call('HINCRBY', key_run(r), 'dags_active', 1)
  event(r, 'dag_started', {i = inst})
  for _, start in ipairs(summary.start) do
    enqueue(r, inst, dag, start[1], start[2], 1)
  end
end

local function end_dag(r, inst, status)
  redis.call('HSET', key_run_dags(r), inst, status, inst .. '|t1', NOW)
  redis.call('HINCRBY', key_run(r), 'dags_active', -1)
  event(r, 'dag_ended', {i = inst, s = status})
end

-- The run's store document will not be created (any more): what it was to hold goes, and the
-- run's 'doc' field says what became of it ('created' or 'none'; see document.lua).
local function forget_document(r, became)
  if redis.call('EXISTS', key_run(r)) == 1 then
    redis.call('HDEL', key_run(r), 'docdata', 'docclaim')
    redis.call('HSET', key_run(r), 'doc', became)
  end
  redis.call('ZREM', key_documents_due(), r)
end

local function finish_run(r)
  local outcome = redis.call('HGET', key_run(r), 'outcome')
  if not outcome then outcome = 'succeeded' end
  redis.call('HSET', key_run(r), 'status', outcome, 'ended', NOW)
  -- DAG instances cut short by a stop or a failure end with the run.
  local dags = redis.call('HGETALL', key_run_dags(r))
  local dag_status = (outcome == 'stopped') and 'stopped' or 'failed'
  for i = 1, #dags, 2 do
    if not string.find(dags[i], '|', 1, true) and dags[i + 1] == 'running' then
      redis.call('HSET', key_run_dags(r), dags[i], dag_status, dags[i] .. '|t1', NOW)
      event(r, 'dag_ended', {i = dags[i], s = dag_status})
    end
  end
  local failure = redis.call('HGET', key_run(r), 'failure')
  local ended = event(r, 'run_ended', {s = outcome, f = failure or ''})
  -- Who waits only for the end reads this one-entry stream, not every event of the run: it
  -- holds the run_ended event's id ('e') and its fields.
  redis.call('XADD', key_run_end(r), '*', 'e', ended, 'ty', 'run_ended', 'ts', NOW,
    's', outcome, 'f', failure or '')
  -- A run that keeps no data, whose store document was never created (nor is being created)
  -- and that put no task data in blobs has nothing to clean up.
  local doc = redis.call('HMGET', key_run(r), 'keep', 'docdata', 'docclaim', 'blobs')
  if doc[1] ~= '1' and doc[2] and not doc[3] and not doc[4] then
    forget_document(r, 'none')
  else
    redis.call('ZADD', key_cleanup(), NOW, r)
  end
  redis.call('ZREM', key_deadlines(), r)
  redis.call('DEL', key_run_data(r))
  for _, key in ipairs({key_run(r), key_run_tasks(r), key_run_dags(r), key_run_events(r),
      key_run_output(r), key_run_end(r)}) do
    redis.call('EXPIRE', key, RETENTION)
  end
end

-- Nothing new starts; the run ends with `outcome` once no task is running.
local function halt(r, outcome, failure, reason)
  if redis.call('HGET', key_run(r), 'status') ~= 'running' then
    return
  end
  redis.call('HSET', key_run(r), 'status', 'stopping', 'outcome', outcome, 'stopping_since', NOW)
  if failure ~= '' then
    redis.call('HSET', key_run(r), 'failure', failure)
  end
  event(r, 'run_stopping', {x = reason})
  if tonumber(redis.call('HGET', key_run(r), 'running')) <= 0 then
    finish_run(r)
  end
end

-- A DAG instance ends when all its tasks ended (ran or were skipped), or, once stopped, when
-- none of its tasks runs any more.
local function settle_dag(r, inst)
  local d = redis.call('HMGET', key_run_dags(r), inst, inst .. '|left', inst .. '|run',
    inst .. '|stop', inst .. '|failed')
  if d[1] ~= 'running' then
    return
  end
  if d[4] and tonumber(d[3]) <= 0 then
    end_dag(r, inst, 'stopped')
  elseif tonumber(d[2]) <= 0 then
    end_dag(r, inst, d[5] and 'failed' or 'succeeded')
  end
end

-- The run ends when it was halted and nothing runs, or when all its DAG instances ended.
-- Returns true when it ended now.
local function settle_run(r)
  local now = redis.call('HMGET', key_run(r), 'status', 'running', 'dags_active')
  if (now[1] == 'stopping' and tonumber(now[2]) <= 0)
      or (now[1] == 'running' and tonumber(now[3]) <= 0) then
    finish_run(r)
    return true
  end
  return false
end

-- A task of instance `inst` ended; `selects(succ)` says whether it lets a successor run.
-- Counts each successor's finished predecessors; a successor whose predecessors all finished
-- is queued when one of them selected it (or it is force_run), else it is skipped, which
-- finishes it in turn (a worklist, so long skip chains need no recursion).
local function release_successors(r, h, inst, dag, task, selects)
  local runnable = redis.call('HGET', key_run(r), 'status') == 'running'
    and not redis.call('HGET', key_run_dags(r), inst .. '|stop')
  local work = {{task, selects}}
  while #work > 0 do
    local item = table.remove(work)
    local node = cjson.decode(redis.call('HGET', key_graph(h), dag .. '/' .. item[1]))
    for _, succ in ipairs(node.s) do
      -- succ = {name, queue, number of predecessors, force_run, propagate_skip}
      local sk = inst .. '/' .. succ[1]
      if item[2](succ[1]) then
        redis.call('HINCRBY', key_run_tasks(r), sk .. '|v', 1)
      end
      if redis.call('HINCRBY', key_run_tasks(r), sk .. '|d', 1) == succ[3] and runnable then
        local votes = tonumber(redis.call('HGET', key_run_tasks(r), sk .. '|v') or '0')
        if votes > 0 or succ[4] == 1 then
          enqueue(r, inst, dag, succ[1], succ[2], 1)
        else
          redis.call('HSET', key_run_tasks(r), sk .. '|s', 'skipped', sk .. '|t1', NOW)
          redis.call('HINCRBY', key_run_dags(r), inst .. '|left', -1)
          event(r, 'task_ended', {i = inst, k = succ[1], s = 'skipped'})
          if succ[5] == 1 then
            work[#work + 1] = {succ[1], function(_) return false end}
          else
            work[#work + 1] = {succ[1], function(_) return true end}
          end
        end
      end
    end
  end
end

-- Hands out one entry a worker read from its queue: marks the task running and returns
-- {entry, 'run', workflow, definition hash, {{pred, alias, data}, ...}}; drops entries of
-- runs or DAG instances that stopped, and stale duplicates ({entry, 'drop'}).
local function dispatch_entry(worker, queue, entry, r, inst, dag, task, attempt)
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
    return {entry, 'drop'}
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
    return {entry, 'run', run[3], run[2], inputs}
  end
end

-- Reads up to `credit` new entries from the worker's queues, in order and without blocking,
-- and hands them out. Returns per entry {queue, entry, run, instance, dag, task, attempt,
-- dispatch_entry's result}.
local function pull(worker, credit, queues)
  local out = {}
  for _, queue in ipairs(queues) do
    if credit <= 0 then break end
    local reply = redis.call('XREADGROUP', 'GROUP', GROUP, worker, 'COUNT', credit,
      'STREAMS', key_queue(queue), '>')
    if reply then
      for _, item in ipairs(reply[1][2]) do
        local entry, flat = item[1], item[2]
        if flat then
          local f = {}
          for j = 1, #flat, 2 do f[flat[j]] = flat[j + 1] end
          local result = dispatch_entry(worker, queue, entry, f.r, f.i, f.d, f.t, f.a)
          out[#out + 1] = {queue, entry, f.r, f.i, f.d, f.t, f.a, result}
          if result[2] == 'run' then credit = credit - 1 end
        end
      end
    end
  end
  return out
end
