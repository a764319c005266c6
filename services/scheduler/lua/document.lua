-- A run's store document is created late, or never: a run that ends before it is due, keeps
-- no data and whose tasks never touch the store costs the store nothing. start_run.lua puts
-- what the document will hold into the run's hash (RUN.DOC_DATA: BSON) and the run into
-- documents_due; a creator (the replica that started a run with arguments, any replica's
-- timer once it is due, or a store user asking for it) claims it, creates it and reports it
-- created. A claim expires, so a creator that dies is replaced. The run's RUN.DOC field says
-- what became of it: 'created', or 'none' (the run ended without one).
-- ARG: run, action, expiry (for a claim: when it expires, ms since the epoch).
-- Every reply is {state} or {state, data}:
--   claim   -> {'claimed', data}: create it with this data section (its meta section is
--              written when the run ends, if it keeps its data); {'busy'}: a live creator is
--              at it (the store holds calls back until it is done); {'created'}; {'none'};
--              {'unknown'}: no such run
--   created -> {'ok'}: forget what it was to hold
--   release -> {'ok'}: a creator failed; the document is due again
--   finish  -> (the run ended; only clean_up_run) {'created'}: it exists, or may: remove it;
--              {'busy'}: try again later; {'never'}: it was never created and now never
--              will be; {'none'}: finish_run found nothing to clean up
local r, action, now = ARG.run, ARG.action, tonumber(NOW)
local run = key_run(r)

if action == 'created' then
  forget_document(r, 'created')
  return {'ok'}
end
local pending = redis.call('HMGET', run, RUN.DOC_DATA, RUN.DOC_CLAIM, RUN.DOC)
if not pending[1] then
  redis.call('ZREM', key_documents_due(), r)
  if action == 'finish' then return {pending[3] == 'none' and 'none' or 'created'} end
  if action == 'claim' then return {pending[3] or 'unknown'} end
  return {'ok'}
end
local claim = tonumber(pending[2] or '0')
if action == 'claim' then
  if claim > now then return {'busy'} end
  redis.call('HSET', run, RUN.DOC_CLAIM, ARG.expiry)
  -- Due again when the claim expires, so a timer neither spins on it nor forgets it.
  redis.call('ZADD', key_documents_due(), ARG.expiry, r)
  return {'claimed', pending[1]}
elseif action == 'release' then
  redis.call('HDEL', run, RUN.DOC_CLAIM)
  redis.call('ZADD', key_documents_due(), NOW, r)
  return {'ok'}
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
-- Not a refusal: only a bug of ours sends another action.
return redis.error_reply('ERR unknown document action ' .. tostring(action))
