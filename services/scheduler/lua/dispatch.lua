-- Hands out entries a worker just read from its queues (XREADGROUP); see dispatch_entry.
-- ARGV: 4 worker id, then per entry 7 values: queue, entry id, run, instance, dag, task, attempt.
-- Returns dispatch_entry's result per entry.
local worker = ARGV[4]
local out = {}
for i = 5, #ARGV, 7 do
  out[#out + 1] = dispatch_entry(worker, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3],
    ARGV[i + 4], ARGV[i + 5], ARGV[i + 6])
end
return out
