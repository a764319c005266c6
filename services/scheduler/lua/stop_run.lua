-- A stop request: nothing new starts, the run ends `stopped` when no task runs any more.
-- ARGV: 4 run, 5 reason. Returns the run's status after the request, or an error.
local r, reason = ARGV[4], ARGV[5]
if not redis.call('HGET', key_run(r), 'status') then
  return redis.error_reply('NOT_FOUND run ' .. r)
end
halt(r, 'stopped', '', reason)
return redis.call('HGET', key_run(r), 'status')
