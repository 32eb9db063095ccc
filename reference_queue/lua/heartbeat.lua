-- Extend the leases this worker really holds. ZADD XX never re-inserts a task that left
-- the processing set, so a late heartbeat cannot resurrect a finished task (F11).
-- KEYS[1] processing; ARGV: now, prefix, worker_id, lease_seconds
local now = now_from(ARGV[1])
local prefix, worker = ARGV[2], ARGV[3]
local set = worker_tasks_key(prefix, worker)
local extended = 0
for _, id in ipairs(redis.call('SMEMBERS', set)) do
  local tkey = task_key(prefix, id)
  if redis.call('HGET', tkey, 'status') == 'processing'
     and redis.call('HGET', tkey, 'worker_id') == worker then
    if redis.call('ZSCORE', KEYS[1], id) then
      local deadline = now + tonumber(ARGV[4])
      redis.call('ZADD', KEYS[1], 'XX', deadline, id)
      redis.call('HSET', tkey, 'lease_expires_at', tostring(deadline))
      extended = extended + 1
    end
  else
    redis.call('SREM', set, id)
  end
end
redis.call('HSET', prefix .. 'worker:' .. worker, 'last_active', tostring(now))
return extended
