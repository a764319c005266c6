-- Records a task's result once (fenced by attempt), releases its successors, and hands the
-- worker its next tasks at once (the fast path: one script per hop, no wake-up of a reader).
-- ARG (scripts.py): run, instance, task, attempt, status, output, failure (JSON or ''),
-- queue, entry (the lease's entry id), jitter (retry delay factor), has_limit (0/1), limit
-- (the limit's task names, JSON list), worker, credit (how many tasks to hand out), in_blob
-- (the output is in a blob, 0/1), store_used (the attempt called the run's store, 0/1); REST:
-- the worker's queues.
-- Returns {outcome, pulled, document}: outcome 'stale' when the attempt is not the current one
-- (a late duplicate), 'retry' when the failed attempt will be tried again, 'ended' when the
-- run ended with it, else 'ok'; pulled what `pull` handed out; document, for an ended run:
-- 'kept' when its store document stays, 'none' when there is none and nothing to clean up
-- (finish_run), else 'remove'.
local r, inst, task, attempt, status = ARG.run, ARG.instance, ARG.task, ARG.attempt, ARG.status
local output, failure, queue, entry = ARG.output, ARG.failure, ARG.queue, ARG.entry
local worker, credit = ARG.worker, tonumber(ARG.credit)

local function record()
  local tk = inst .. '/' .. task
  -- The run's clean-up removes its blobs when a result came as one (a late duplicate's too),
  -- or when a task did not succeed: it may have written one before it failed or was ended.
  if (ARG.in_blob == '1' or status ~= 'succeeded') and redis.call('EXISTS', key_run(r)) == 1 then
    redis.call('HSET', key_run(r), RUN.BLOBS, 1)
  end
  local state = redis.call('HMGET', key_run_tasks(r), tk .. TASK.STATUS, tk .. TASK.ATTEMPT,
    tk .. TASK.ENTRY)
  -- Fenced first: only the current attempt's own entry is acknowledged, so a late or bogus
  -- result can neither change the task nor drop another hand-out's lease.
  if state[1] ~= 'running' or state[2] ~= attempt or state[3] ~= entry then
    return 'stale'
  end
  redis.call('XACK', key_queue(queue), GROUP, entry)
  redis.call('XDEL', key_queue(queue), entry)
  local h = redis.call('HGET', key_run(r), RUN.DEFINITION)
  local dag = redis.call('HGET', key_run_dags(r), inst .. DAG.DAG)
  redis.call('HINCRBY', key_run(r), RUN.RUNNING, -1)
  redis.call('HINCRBY', key_run_dags(r), inst .. DAG.RUNNING, -1)

  -- A failed attempt with retries left waits in the delayed set, unless the run or the DAG
  -- instance is stopping.
  if status == 'failed' and redis.call('HGET', key_run(r), RUN.STATUS) == 'running'
      and not redis.call('HGET', key_run_dags(r), inst .. DAG.STOP) then
    local node = cjson.decode(redis.call('HGET', key_graph(h), dag .. '/' .. task))
    local retries = node[NODE.RETRIES] or 0
    if retries > 0 then
      local failures = redis.call('HINCRBY', key_run_tasks(r), tk .. TASK.RETRIES, 1)
      if failures <= retries then
        local delay_ms = math.floor(node[NODE.RETRY_DELAY] * 1000 * (2 ^ (failures - 1))
          * tonumber(ARG.jitter))
        redis.call('HSET', key_run_tasks(r), tk .. TASK.STATUS, 'retrying', tk .. TASK.FAILURE,
          failure)
        event(r, 'task_ended', {[EVENT.INSTANCE] = inst, [EVENT.TASK] = task,
          [EVENT.ATTEMPT] = attempt, [EVENT.STATUS] = 'failed', [EVENT.FAILURE] = failure})
        event(r, 'task_retrying', {[EVENT.INSTANCE] = inst, [EVENT.TASK] = task,
          [EVENT.ATTEMPT] = attempt,
          [EVENT.TEXT] = 'retry ' .. failures .. ' of ' .. retries .. ' in ' .. (delay_ms / 1000)
            .. ' s'})
        local member = cjson.encode({[RETRY.RUN] = r, [RETRY.INSTANCE] = inst, [RETRY.DAG] = dag,
          [RETRY.TASK] = task, [RETRY.QUEUE] = queue, [RETRY.ATTEMPT] = tonumber(attempt) + 1})
        redis.call('ZADD', key_delayed(), tonumber(NOW) + delay_ms, member)
        return 'retry'
      end
    end
  end

  redis.call('HSET', key_run_tasks(r), tk .. TASK.STATUS, status, tk .. TASK.ENDED, NOW)
  if failure ~= '' then
    redis.call('HSET', key_run_tasks(r), tk .. TASK.FAILURE, failure)
  end
  redis.call('HINCRBY', key_run_dags(r), inst .. DAG.LEFT, -1)
  event(r, 'task_ended', {[EVENT.INSTANCE] = inst, [EVENT.TASK] = task,
    [EVENT.ATTEMPT] = attempt, [EVENT.STATUS] = status, [EVENT.FAILURE] = failure})

  if status == 'succeeded' or status == 'stopped' then
    redis.call('HSET', key_run_data(r), tk, output)
    local selects
    if ARG.has_limit == '1' then
      local chosen = {}
      for _, name in ipairs(cjson.decode(ARG.limit)) do chosen[name] = true end
      selects = function(name) return chosen[name] == true end
    else
      selects = function(_) return true end
    end
    release_successors(r, h, inst, dag, task, selects)
  else  -- failed or aborted: the run stops
    redis.call('HSET', key_run_dags(r), inst .. DAG.FAILED, 1)
    halt(r, status, failure, 'task ' .. tk .. ' ' .. status)
    if redis.call('HGET', key_run(r), RUN.ENDED) then
      return 'ended'
    end
  end

  settle_dag(r, inst)
  if settle_run(r) then
    return 'ended'
  end
  return 'ok'
end

-- Before the result can end the run: its end then knows the document is there to remove.
if ARG.store_used == '1' then document_used(r) end
local outcome = record()
local pulled = pull(worker, credit, REST)
local document = ''
if outcome == 'ended' then
  local doc = redis.call('HMGET', key_run(r), RUN.KEEP, RUN.DOC)
  document = (doc[1] == '1' and 'kept') or (doc[2] == 'none' and 'none') or 'remove'
end
return {outcome, pulled, document}
