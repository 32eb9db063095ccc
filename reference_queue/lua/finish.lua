-- Token-checked completion or failure (compare-and-set on the fencing token).
-- A stale token is a definite rejection: the caller's claim was superseded (F5, F8).
-- KEYS[1] processing, KEYS[2] pending, KEYS[3] failed, KEYS[4] completed counter
-- ARGV: now, prefix, task_id, token, action (complete|fail|retry), text, max_attempts
local now = now_from(ARGV[1])
local prefix, id, token, action = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local tkey = task_key(prefix, id)
local status = redis.call('HGET', tkey, 'status')
if not status then return 'not_found' end
if status ~= 'processing' then return 'not_processing' end
if token == '' or redis.call('HGET', tkey, 'token') ~= token then return 'lease_lost' end
local worker = redis.call('HGET', tkey, 'worker_id')
redis.call('ZREM', KEYS[1], id)
redis.call('SREM', worker_tasks_key(prefix, worker), id)
redis.call('HDEL', tkey, 'token')
if action == 'complete' then
  redis.call('HSET', tkey, 'status', 'completed', 'completed_at', tostring(now), 'result', ARGV[6])
  redis.call('INCR', KEYS[4])
  return 'completed'
end
local attempts = tonumber(redis.call('HGET', tkey, 'attempts') or '0')
if action == 'retry' and attempts < tonumber(ARGV[7]) then
  redis.call('HSET', tkey, 'status', 'pending', 'error', ARGV[6])
  redis.call('LPUSH', KEYS[2], id)
  return 'pending'
end
redis.call('HSET', tkey, 'status', 'failed', 'error', ARGV[6], 'failed_at', tostring(now))
redis.call('ZADD', KEYS[3], now, id)
return 'failed'
