-- The janitor, in one script: only tasks whose lease really expired AND that are still
-- processing are re-queued (or dead-lettered after max attempts). Scan and rescue are
-- one atomic step, so a completion cannot slip between them (F6) and two janitors
-- cannot both re-queue one task (F7).
-- KEYS[1] processing, KEYS[2] pending, KEYS[3] failed
-- ARGV: now, prefix, max_attempts, limit
local now = now_from(ARGV[1])
local prefix = ARGV[2]
local requeued, dead = {}, {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))) do
  local tkey = task_key(prefix, id)
  redis.call('ZREM', KEYS[1], id)
  if redis.call('HGET', tkey, 'status') == 'processing' then
    local worker = redis.call('HGET', tkey, 'worker_id')
    if worker then redis.call('SREM', worker_tasks_key(prefix, worker), id) end
    redis.call('HDEL', tkey, 'token')  -- the old owner's token is void from now on
    if tonumber(redis.call('HGET', tkey, 'attempts') or '0') >= tonumber(ARGV[3]) then
      redis.call('HSET', tkey, 'status', 'failed', 'error', 'max_attempts_exceeded',
                 'failed_at', tostring(now))
      redis.call('ZADD', KEYS[3], now, id)
      table.insert(dead, id)
    else
      redis.call('HSET', tkey, 'status', 'pending')
      redis.call('LPUSH', KEYS[2], id)
      table.insert(requeued, id)
    end
  end
end
return {requeued, dead}
