-- ARG: run (its new id), workflow (name), definition (hash), keep (keep data, 0/1), deadline
-- (ms since the epoch, 0: none), request (request id, may be empty), arguments (the run's
-- arguments, sealed BSON: the store document's initial data, and the `arguments` of its
-- provenance), has_arguments (0/1), document_due (when the document is due, ms since the
-- epoch; see document.lua), start_at (ms since the epoch its DAGs start; 0: now); REST: the
-- autostart DAGs. A run with a start time is `scheduled` until begin_run.lua starts it.
-- schedule, tick: the schedule (and its tick, ms) that starts it; '' and 0 for none.
-- Returns the run id; for a request id seen before, the run that request started. Refuses
-- with REFUSAL.STALE_DEFINITION when the workflow is no longer registered with the
-- definition hash.
local r, wf, h, rid = ARG.run, ARG.workflow, ARG.definition, ARG.request
local deadline = tonumber(ARG.deadline)
if rid ~= '' then
  local earlier = redis.call('GET', key_request(rid))
  if earlier then
    return earlier
  end
end
local registered = redis.call('HGET', key_workflows(), wf)
if not registered or cjson.decode(registered)[WORKFLOW.HASH] ~= h then
  return redis.error_reply(REFUSAL.STALE_DEFINITION)
end
if rid ~= '' then
  redis.call('SET', key_request(rid), r, 'EX', RETENTION)
end
redis.call('HSET', key_run(r), RUN.WORKFLOW, wf, RUN.DEFINITION, h, RUN.STATUS, 'running',
  RUN.STARTED, NOW, RUN.KEEP, ARG.keep, RUN.RUNNING, 0, RUN.QUEUED, 0, RUN.DAGS_ACTIVE, 0,
  RUN.DAG_COUNT, 0, RUN.DOC_DATA, ARG.arguments)
if ARG.has_arguments == '1' then
  -- Kept while the run is (the document's copy goes once it is created): its provenance.
  redis.call('HSET', key_run(r), RUN.ARGUMENTS, ARG.arguments)
end
redis.call('ZADD', key_documents_due(), ARG.document_due, r)
redis.call('ZADD', key_runs(), NOW, r)
if ARG.schedule ~= '' then
  redis.call('HSET', key_run(r), RUN.SCHEDULE, ARG.schedule, RUN.TICK, ARG.tick)
end
if deadline > 0 then
  redis.call('HSET', key_run(r), RUN.DEADLINE, deadline)
  redis.call('ZADD', key_deadlines(), deadline, r)
end
local start_at = tonumber(ARG.start_at)
if start_at > 0 then
  redis.call('HSET', key_run(r), RUN.STATUS, 'scheduled', RUN.START_AT, start_at,
    RUN.AUTOSTART, cjson.encode(REST))
  redis.call('HDEL', key_run(r), RUN.STARTED)
  redis.call('ZADD', key_run_starts(), start_at, r)
  return r
end
begin_run(r, h, REST)
return r
