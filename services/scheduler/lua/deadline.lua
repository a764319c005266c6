-- A run passed its deadline: it stops (nothing new starts) and ends failed once its running
-- tasks ended. ARGV: 4 run, 5 failure JSON. Returns the run's status, or '' when gone.
local r, failure = ARGV[4], ARGV[5]
redis.call('ZREM', key_deadlines(), r)
local status = redis.call('HGET', key_run(r), 'status')
if not status then
  return ''
end
halt(r, 'failed', failure, 'the run passed its deadline')
return redis.call('HGET', key_run(r), 'status')
