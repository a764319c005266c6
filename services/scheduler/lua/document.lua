-- A run's store document is created late, or never: a run that ends before it is due, keeps
-- no data and whose tasks never touch the store costs the store nothing. start_run.lua puts
-- what the document will hold into the run's hash ('docdata': BSON) and the run
-- into documents_due; a creator (the replica that started a run with arguments, any
-- replica's timer once it is due, or a store user asking for it) claims it, creates it and
-- reports it created. A claim expires, so a creator that dies is replaced. The run's 'doc'
-- field says what became of it: 'created', or 'none' (the run ended without one).
-- ARGV: 4 run id, 5 action, 6 (claim) the claim's expiry, ms since the epoch.
--   claim   -> {data}: create it with this data section (its meta section is written when
--              the run ends, if it keeps its data); 'busy': a live creator is at it (the
--              store holds calls back until it is done); 'created'; 'none'; false: no such
--              run
--   created -> 1: forget what it was to hold
--   release -> 1: a creator failed; the document is due again
--   finish  -> (the run ended; only clean_up_run) {'created'}: it exists, or may: remove it;
--              {'busy'}: try again later; {'never'}: it was never created and now never
--              will be; {'none'}: finish_run found nothing to clean up
local r, action, now = ARGV[4], ARGV[5], tonumber(NOW)
local run = key_run(r)

if action == 'created' then
  forget_document(r, 'created')
  return 1
end
local pending = redis.call('HMGET', run, 'docdata', 'docclaim', 'doc')
if not pending[1] then
  redis.call('ZREM', key_documents_due(), r)
  if action == 'finish' then return {pending[3] == 'none' and 'none' or 'created'} end
  if action == 'claim' then return pending[3] or false end
  return 1
end
local claim = tonumber(pending[2] or '0')
if action == 'claim' then
  if claim > now then return 'busy' end
  redis.call('HSET', run, 'docclaim', ARGV[6])
  -- Due again when the claim expires, so a timer neither spins on it nor forgets it.
  redis.call('ZADD', key_documents_due(), ARGV[6], r)
  return {pending[1]}
elseif action == 'release' then
  redis.call('HDEL', run, 'docclaim')
  redis.call('ZADD', key_documents_due(), NOW, r)
  return 1
elseif action == 'finish' then
  if claim > now then return {'busy'} end
  -- An expired claim's creator may have created it before it died.
  if claim > 0 then
    forget_document(r, 'created')
    return {'created'}
  end
  forget_document(r, 'none')
  return {'never'}
end
return redis.error_reply('unknown document action ' .. tostring(action))
