-- A line a task printed, as an event of its run; dropped when the run is unknown (a stream
-- nobody would remove). ARGV: 4 run, 5 instance, 6 task, 7 attempt, 8 stream, 9 text.
local r = ARGV[4]
if redis.call('EXISTS', key_run(r)) == 0 then
  return 0
end
event(r, 'task_output', {i = ARGV[5], k = ARGV[6], a = ARGV[7], o = ARGV[8], x = ARGV[9]})
return 1
