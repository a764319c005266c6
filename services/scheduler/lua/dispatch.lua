-- Hands out entries a worker just read from its queues (XREADGROUP); see dispatch_entry.
-- ARG: worker; REST: per entry {queue, entry_id, run_id, instance, dag, task, attempt}.
-- Returns dispatch_entry's result per entry.
local out = {}
for _, e in ipairs(REST) do
  out[#out + 1] = dispatch_entry(ARG.worker, e.queue, e.entry_id, e.run_id, e.instance, e.dag,
    e.task, e.attempt)
end
return out
