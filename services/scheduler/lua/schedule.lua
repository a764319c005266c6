-- A schedule's state (JSON, schedules.py) in the schedules hash, and its next due time in
-- the due set: both change together, here.
-- ARG: name, action, state (JSON), due (ms since the epoch; '' for none), expected (for
-- 'advance': the due time the caller read).
--   create  -> 1; REFUSAL.SCHEDULE_EXISTS when the name is taken
--   advance -> 1, or 0 when the schedule's due time is no longer `expected` (another replica
--              fired the tick, or it was paused, resumed or deleted meanwhile)
--   update  -> 1 (pause, resume); REFUSAL.SCHEDULE_NOT_FOUND
--   delete  -> 1; REFUSAL.SCHEDULE_NOT_FOUND
local name, action = ARG.name, ARG.action
local exists = redis.call('HEXISTS', key_schedules(), name) == 1
if action == 'create' then
  if exists then
    return redis.error_reply(REFUSAL.SCHEDULE_EXISTS .. ' ' .. name)
  end
elseif not exists then
  if action == 'advance' then return 0 end
  return redis.error_reply(REFUSAL.SCHEDULE_NOT_FOUND .. ' ' .. name)
end
if action == 'advance' then
  local due = redis.call('ZSCORE', key_schedule_due(), name)
  if due ~= ARG.expected then return 0 end
end
if action == 'delete' then
  redis.call('HDEL', key_schedules(), name)
  redis.call('ZREM', key_schedule_due(), name)
  return 1
end
redis.call('HSET', key_schedules(), name, ARG.state)
if ARG.due == '' then
  redis.call('ZREM', key_schedule_due(), name)
else
  redis.call('ZADD', key_schedule_due(), ARG.due, name)
end
return 1
