-- A run passed its deadline: it stops (nothing new starts) and ends failed once its running
-- tasks ended. ARG: run, failure (JSON). Returns the run's status, or '' when gone.
local r = ARG.run
redis.call('ZREM', key_deadlines(), r)
local status = redis.call('HGET', key_run(r), RUN.STATUS)
if not status then
  return ''
end
halt(r, 'failed', ARG.failure, 'the run passed its deadline')
return redis.call('HGET', key_run(r), RUN.STATUS)
