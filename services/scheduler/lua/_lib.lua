-- Shared by every script (prepended, after `local P = ARGV[1]`, the key builders and GROUP
-- (keys.py)). Every script's ARGV starts with: 1 prefix, 2 now in ms, 3 retention in s (how
-- long an ended run stays readable); its own arguments follow, which it reads by name from
-- ARG (and REST). The names inside keys are written TABLE.NAME (the run's status field is
-- RUN . STATUS): scripts.py writes them out from schema.py, and the arguments as ARGV[n],
-- when it assembles a script. Keys are built here from the prefix rather than passed in
-- KEYS: a task hop touches keys that only the graph names (successors, queues). The
-- deployment is one redis (or a replicated primary), never a cluster.
local NOW = ARGV[2]
local RETENTION = tonumber(ARGV[3])

-- The id of a run's next event: '<ms>-<n>', n counting every event of the run (its event
-- counter), ms never going back (replicas' clocks differ). Transitions and printed lines live
-- in two streams (run_events, run_output) whose ids thus never collide and merge in order.
local event_ms = {}
local function next_event_id(r)
  local n = redis.call('HINCRBY', key_run(r), RUN.EVENT_SEQ, 1)
  local ms = event_ms[r] or tonumber(redis.call('HGET', key_run(r), RUN.EVENT_MS) or '0')
  if tonumber(NOW) > ms then
    ms = tonumber(NOW)
    redis.call('HSET', key_run(r), RUN.EVENT_MS, NOW)
  end
  event_ms[r] = ms
  return string.format('%.0f-%d', ms, n)
end

-- Adds an event of type `ty` to the run's event stream; `fields` maps EVENT names to values.
local function event(r, ty, fields)
  local args = {key_run_events(r), next_event_id(r), EVENT.TYPE, ty, EVENT.TIME, NOW}
  for k, v in pairs(fields or {}) do
    args[#args + 1] = k
    args[#args + 1] = v
  end
  return redis.call('XADD', unpack(args))
end

local function enqueue(r, inst, dag, task, queue, attempt)
  local tk = inst .. '/' .. task
  local entry = redis.call('XADD', key_queue(queue), '*', ENTRY.RUN, r, ENTRY.INSTANCE, inst,
    ENTRY.DAG, dag, ENTRY.TASK, task, ENTRY.ATTEMPT, attempt)
  -- The entry id fences hand-out: only this entry may start this attempt.
  redis.call('HSET', key_run_tasks(r), tk .. TASK.STATUS, 'queued', tk .. TASK.ATTEMPT, attempt,
    tk .. TASK.QUEUE, queue, tk .. TASK.ENTRY, entry)
  redis.call('HINCRBY', key_run(r), RUN.QUEUED, 1)
  event(r, 'task_queued', {[EVENT.INSTANCE] = inst, [EVENT.TASK] = task, [EVENT.ATTEMPT] = attempt})
end

local function start_dag_instance(r, h, inst, dag)
  local summary = cjson.decode(redis.call('HGET', key_graph(h), dag .. '/'))
  local order = redis.call('HINCRBY', key_run(r), RUN.DAG_COUNT, 1)
  redis.call('HSET', key_run_dags(r), inst, 'running', inst .. DAG.DAG, dag,
    inst .. DAG.LEFT, summary[SUMMARY.SIZE], inst .. DAG.ORDER, order, inst .. DAG.RUNNING, 0,
    inst .. DAG.STARTED, NOW)
  redis.call('HINCRBY', key_run(r), RUN.DAGS_ACTIVE, 1)
  event(r, 'dag_started', {[EVENT.INSTANCE] = inst})
  for _, start in ipairs(summary[SUMMARY.START]) do
    enqueue(r, inst, dag, start[1], start[2], 1)
  end
end

local function end_dag(r, inst, status)
  redis.call('HSET', key_run_dags(r), inst, status, inst .. DAG.ENDED, NOW)
  redis.call('HINCRBY', key_run(r), RUN.DAGS_ACTIVE, -1)
  event(r, 'dag_ended', {[EVENT.INSTANCE] = inst, [EVENT.STATUS] = status})
end

-- The run's store document will not be created (any more): what it was to hold goes, and the
-- run's RUN.DOC field says what became of it ('created' or 'none'; see document.lua).
local function forget_document(r, became)
  if redis.call('EXISTS', key_run(r)) == 1 then
    redis.call('HDEL', key_run(r), RUN.DOC_DATA, RUN.DOC_CLAIM)
    redis.call('HSET', key_run(r), RUN.DOC, became)
  end
  redis.call('ZREM', key_documents_due(), r)
end

-- A task called the store of a run without arguments, whose first such call creates its
-- document: the run's end removes it. A run that ended already is cleaned up again. (A run
-- with arguments has its document made by a scheduler, which tracks it: its tasks only wait.)
local function document_used(r)
  local doc = redis.call('HMGET', key_run(r), RUN.DOC, RUN.ENDED, RUN.STATUS)
  if doc[1] == 'created' or not doc[3] then return end
  if redis.call('HEXISTS', key_run(r), RUN.ARGUMENTS) == 1 then return end
  forget_document(r, 'created')
  if doc[2] then redis.call('ZADD', key_cleanup(), NOW, r) end
end

-- finish_run, and begin_run below, which starts a run's DAGs (now, or at its start time).
local finish_run

-- The run starts: its autostart DAGs start, and a run with none ends at once.
local function begin_run(r, h, dags)
  redis.call('HSET', key_run(r), RUN.STATUS, 'running', RUN.STARTED, NOW)
  event(r, 'run_started', {})
  for _, dag in ipairs(dags) do
    start_dag_instance(r, h, dag, dag)
  end
  if tonumber(redis.call('HGET', key_run(r), RUN.DAGS_ACTIVE)) == 0 then
    finish_run(r)
  end
end

function finish_run(r)
  local outcome = redis.call('HGET', key_run(r), RUN.OUTCOME)
  if not outcome then outcome = 'succeeded' end
  redis.call('HSET', key_run(r), RUN.STATUS, outcome, RUN.ENDED, NOW)
  -- DAG instances cut short by a stop or a failure end with the run.
  local dags = redis.call('HGETALL', key_run_dags(r))
  local dag_status = (outcome == 'stopped') and 'stopped' or 'failed'
  for i = 1, #dags, 2 do
    if not string.find(dags[i], '|', 1, true) and dags[i + 1] == 'running' then
      redis.call('HSET', key_run_dags(r), dags[i], dag_status, dags[i] .. DAG.ENDED, NOW)
      event(r, 'dag_ended', {[EVENT.INSTANCE] = dags[i], [EVENT.STATUS] = dag_status})
    end
  end
  local failure = redis.call('HGET', key_run(r), RUN.FAILURE)
  local ended = event(r, 'run_ended', {[EVENT.STATUS] = outcome, [EVENT.FAILURE] = failure or ''})
  -- Who waits only for the end reads this one-entry stream, not every event of the run: it
  -- holds the run_ended event's id (END.EVENT_ID) and its fields.
  redis.call('XADD', key_run_end(r), '*', END.EVENT_ID, ended, EVENT.TYPE, 'run_ended',
    EVENT.TIME, NOW, EVENT.STATUS, outcome, EVENT.FAILURE, failure or '')
  -- A run that keeps no data, whose store document was never created (nor is being created)
  -- and that put no task data in blobs has nothing to clean up.
  local doc = redis.call('HMGET', key_run(r), RUN.KEEP, RUN.DOC_DATA, RUN.DOC_CLAIM, RUN.BLOBS)
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
  if redis.call('HGET', key_run(r), RUN.STATUS) ~= 'running' then
    return
  end
  redis.call('HSET', key_run(r), RUN.STATUS, 'stopping', RUN.OUTCOME, outcome,
    RUN.STOPPING_SINCE, NOW)
  if failure ~= '' then
    redis.call('HSET', key_run(r), RUN.FAILURE, failure)
  end
  event(r, 'run_stopping', {[EVENT.TEXT] = reason})
  if tonumber(redis.call('HGET', key_run(r), RUN.RUNNING)) <= 0 then
    finish_run(r)
  end
end

-- A DAG instance ends when all its tasks ended (ran or were skipped), or, once stopped, when
-- none of its tasks runs any more.
local function settle_dag(r, inst)
  local d = redis.call('HMGET', key_run_dags(r), inst, inst .. DAG.LEFT, inst .. DAG.RUNNING,
    inst .. DAG.STOP, inst .. DAG.FAILED)
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
  local now = redis.call('HMGET', key_run(r), RUN.STATUS, RUN.RUNNING, RUN.DAGS_ACTIVE)
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
  local runnable = redis.call('HGET', key_run(r), RUN.STATUS) == 'running'
    and not redis.call('HGET', key_run_dags(r), inst .. DAG.STOP)
  local work = {{task, selects}}
  while #work > 0 do
    local item = table.remove(work)
    local node = cjson.decode(redis.call('HGET', key_graph(h), dag .. '/' .. item[1]))
    for _, succ in ipairs(node[NODE.SUCCS]) do
      -- succ = {name, queue, number of predecessors, force_run, propagate_skip}
      local sk = inst .. '/' .. succ[1]
      if item[2](succ[1]) then
        redis.call('HINCRBY', key_run_tasks(r), sk .. TASK.VOTES, 1)
      end
      if redis.call('HINCRBY', key_run_tasks(r), sk .. TASK.PREDS_DONE, 1) == succ[3]
          and runnable then
        local votes = tonumber(redis.call('HGET', key_run_tasks(r), sk .. TASK.VOTES) or '0')
        if votes > 0 or succ[4] == 1 then
          enqueue(r, inst, dag, succ[1], succ[2], 1)
        else
          redis.call('HSET', key_run_tasks(r), sk .. TASK.STATUS, 'skipped', sk .. TASK.ENDED, NOW)
          redis.call('HINCRBY', key_run_dags(r), inst .. DAG.LEFT, -1)
          event(r, 'task_ended', {[EVENT.INSTANCE] = inst, [EVENT.TASK] = succ[1],
            [EVENT.STATUS] = 'skipped'})
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
  local run = redis.call('HMGET', key_run(r), RUN.STATUS, RUN.DEFINITION, RUN.WORKFLOW)
  local dag_state = redis.call('HMGET', key_run_dags(r), inst, inst .. DAG.STOP)
  local state = redis.call('HMGET', key_run_tasks(r), tk .. TASK.STATUS, tk .. TASK.ATTEMPT,
    tk .. TASK.ENTRY)
  local ours = state[1] == 'queued' and state[2] == attempt and state[3] == entry
  if run[1] ~= 'running' or dag_state[1] ~= 'running' or dag_state[2] or not ours then
    redis.call('XACK', key_queue(queue), GROUP, entry)
    redis.call('XDEL', key_queue(queue), entry)
    if ours and run[1] then
      redis.call('HSET', key_run_tasks(r), tk .. TASK.STATUS, 'cancelled', tk .. TASK.ENDED, NOW)
      redis.call('HINCRBY', key_run(r), RUN.QUEUED, -1)
      event(r, 'task_ended', {[EVENT.INSTANCE] = inst, [EVENT.TASK] = task,
        [EVENT.ATTEMPT] = attempt, [EVENT.STATUS] = 'cancelled'})
    end
    return {entry, 'drop'}
  else
    redis.call('HSET', key_run_tasks(r), tk .. TASK.STATUS, 'running', tk .. TASK.WORKER, worker,
      tk .. TASK.STARTED, NOW)
    redis.call('HINCRBY', key_run(r), RUN.QUEUED, -1)
    redis.call('HINCRBY', key_run(r), RUN.RUNNING, 1)
    redis.call('HINCRBY', key_run_dags(r), inst .. DAG.RUNNING, 1)
    event(r, 'task_started', {[EVENT.INSTANCE] = inst, [EVENT.TASK] = task,
      [EVENT.ATTEMPT] = attempt, [EVENT.WORKER] = worker})
    local node = cjson.decode(redis.call('HGET', key_graph(run[2]), dag .. '/' .. task))
    local inputs = {}
    if #node[NODE.PREDS] == 0 then
      local given = redis.call('HGET', key_run_data(r), inst .. '/')
      if given then inputs[1] = {'', '', given} end
    else
      -- Predecessors that were skipped have no output and give no dataset.
      for _, pred in ipairs(node[NODE.PREDS]) do
        local data = redis.call('HGET', key_run_data(r), inst .. '/' .. pred[1])
        if data then inputs[#inputs + 1] = {pred[1], pred[2], data} end
      end
    end
    -- A run with arguments has its document made by a scheduler; the task's store calls
    -- wait for it. Without, the task's first store call makes it.
    local has_arguments = redis.call('HEXISTS', key_run(r), RUN.ARGUMENTS)
    return {entry, 'run', run[3], run[2], inputs, has_arguments}
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
          local e = {f[ENTRY.RUN], f[ENTRY.INSTANCE], f[ENTRY.DAG], f[ENTRY.TASK], f[ENTRY.ATTEMPT]}
          local result = dispatch_entry(worker, queue, entry, e[1], e[2], e[3], e[4], e[5])
          out[#out + 1] = {queue, entry, e[1], e[2], e[3], e[4], e[5], result}
          if result[2] == 'run' then credit = credit - 1 end
        end
      end
    end
  end
  return out
end
