-- Lines tasks printed, into their runs' output streams; a run keeps its latest lines, the
-- oldest are trimmed first (its transitions, in run_events, are never trimmed). Lines of runs
-- that are unknown or over are dropped (nobody would remove them).
-- ARGV: 4 how many lines a run keeps, then 6 values per line: run, instance, task, attempt,
-- stream, text. Returns how many lines were kept.
local cap = ARGV[4]
local live, kept = {}, 0
for i = 5, #ARGV, 6 do
  local r = ARGV[i]
  if live[r] == nil then
    local status = redis.call('HGET', key_run(r), 'status')
    live[r] = status == 'running' or status == 'stopping'
  end
  if live[r] then
    redis.call('XADD', key_run_output(r), 'MAXLEN', '~', cap, next_event_id(r),
      'ty', 'task_output', 'ts', NOW, 'i', ARGV[i + 1], 'k', ARGV[i + 2], 'a', ARGV[i + 3],
      'o', ARGV[i + 4], 'x', ARGV[i + 5])
    kept = kept + 1
  end
end
return kept
