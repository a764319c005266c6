-- Lines tasks printed, into their runs' output streams; a run keeps its latest lines, the
-- oldest are trimmed first (its transitions, in run_events, are never trimmed). Lines of runs
-- that are unknown or over are dropped (nobody would remove them).
-- ARG: cap (how many lines a run keeps); REST: per line {run_id, instance, task, attempt,
-- stream, text}. Returns how many lines were kept.
local live, kept = {}, 0
for _, line in ipairs(REST) do
  local r = line.run_id
  if live[r] == nil then
    local status = redis.call('HGET', key_run(r), RUN.STATUS)
    live[r] = status == 'running' or status == 'stopping'
  end
  if live[r] then
    redis.call('XADD', key_run_output(r), 'MAXLEN', '~', ARG.cap, next_event_id(r),
      EVENT.TYPE, 'task_output', EVENT.TIME, NOW, EVENT.INSTANCE, line.instance,
      EVENT.TASK, line.task, EVENT.ATTEMPT, line.attempt, EVENT.STREAM, line.stream,
      EVENT.TEXT, line.text)
    kept = kept + 1
  end
end
return kept
