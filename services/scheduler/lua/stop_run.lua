-- A stop request: nothing new starts, the run ends `stopped` when no task runs any more.
-- ARG: run, reason. Returns the run's status after the request, or a refusal (REFUSAL).
local r = ARG.run
if not redis.call('HGET', key_run(r), RUN.STATUS) then
  return redis.error_reply(REFUSAL.RUN_NOT_FOUND)
end
halt(r, 'stopped', '', ARG.reason)
return redis.call('HGET', key_run(r), RUN.STATUS)
