-- Idempotent submit by task id: an existing id is left alone and nothing is re-enqueued.
-- KEYS[1] pending list; ARGV: now, prefix, task_id, payload
local now = now_from(ARGV[1])
local tkey = task_key(ARGV[2], ARGV[3])
if redis.call('EXISTS', tkey) == 1 then return 0 end
redis.call('HSET', tkey, 'status', 'pending', 'payload', ARGV[4], 'attempts', 0,
           'created_at', tostring(now))
redis.call('LPUSH', KEYS[1], ARGV[3])
return 1
