-- A scheduled run's start time came (any replica's timer): its DAGs start, once.
-- ARG: run. Returns its status after the call ('running', or what it became before).
local r = ARG.run
redis.call('ZREM', key_run_starts(), r)
local run = redis.call('HMGET', key_run(r), RUN.STATUS, RUN.DEFINITION, RUN.AUTOSTART)
if run[1] ~= 'scheduled' then
  return run[1] or ''
end
redis.call('HDEL', key_run(r), RUN.AUTOSTART)
begin_run(r, run[2], cjson.decode(run[3]))
return redis.call('HGET', key_run(r), RUN.STATUS)
