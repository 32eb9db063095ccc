-- Shared prelude (prepended to every script): the clock and key helpers.
-- `now` is ARGV[1] when the caller injects a clock (the interleaving explorer), else the
-- server's own TIME: one clock for every client, so no skew between hosts (F9).
local function now_from(arg)
  if arg ~= nil and arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function task_key(prefix, id) return prefix .. 'task:' .. id end
local function worker_tasks_key(prefix, w) return prefix .. 'worker:' .. w .. ':tasks' end
