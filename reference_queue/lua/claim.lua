-- Atomic claim: pop, lease, fence, all or nothing. No window in which a popped task is
-- nowhere (F1, F2), and every claim gets a fresh, monotonically increasing token.
-- KEYS[1] pending, KEYS[2] processing, KEYS[3] token sequence
-- ARGV: now, prefix, worker_id, lease_seconds
local now = now_from(ARGV[1])
local prefix, worker = ARGV[2], ARGV[3]
local id = redis.call('RPOP', KEYS[1])
while id do
  local tkey = task_key(prefix, id)
  if redis.call('HGET', tkey, 'status') == 'pending' then
    local attempts = redis.call('HINCRBY', tkey, 'attempts', 1)
    local token = redis.call('INCR', KEYS[3])
    local deadline = now + tonumber(ARGV[4])
    redis.call('ZADD', KEYS[2], deadline, id)
    redis.call('HSET', tkey, 'status', 'processing', 'worker_id', worker, 'token', token,
               'lease_expires_at', tostring(deadline), 'claimed_at', tostring(now))
    redis.call('SADD', worker_tasks_key(prefix, worker), id)
    return {id, redis.call('HGET', tkey, 'payload'), attempts, tostring(token), tostring(deadline)}
  end
  -- A stray id whose record is not pending (cannot happen through this API): drop it.
  id = redis.call('RPOP', KEYS[1])
end
return false
