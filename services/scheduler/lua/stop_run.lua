-- A stop request: nothing new starts, the run ends `stopped` when no task runs any more.
-- ARG: run, reason. Returns the run's status after the request, or a refusal (REFUSAL).
local r = ARG.run
local status = redis.call('HGET', key_run(r), RUN.STATUS)
if not status then
  return redis.error_reply(REFUSAL.RUN_NOT_FOUND)
end
if status == 'scheduled' then  -- stopped before its start: it ends now, having run nothing
  redis.call('ZREM', key_run_starts(), r)
  redis.call('HSET', key_run(r), RUN.OUTCOME, 'stopped', RUN.STARTED, NOW)
  event(r, 'run_stopping', {[EVENT.TEXT] = ARG.reason})
  finish_run(r)
  return redis.call('HGET', key_run(r), RUN.STATUS)
end
halt(r, 'stopped', '', ARG.reason)
return redis.call('HGET', key_run(r), RUN.STATUS)
