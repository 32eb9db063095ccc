"""Reading where every known task is, after each step: the explorer's hottest path.

Any queue is read through its own ``inspect`` (one call per task). The two reference
queues share ``reference_queue.inspect`` (record + pending positions + processing
score, one MULTI per task); for them the explorer reads the same three facts for every
task in one server-side script — one round trip and one reply to parse instead of
three commands per task — and turns them into views with the same ``view_of``.
Scripts run atomically, so the answer is one snapshot, as each ``inspect_task`` is.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError

from harness.contract import TaskId, TaskQueue, TaskView, drive
from reference_queue.inspect import view_of
from reference_queue.keys import Keys

# KEYS: pending list, processing set, then one record key per task; ARGV: the task ids.
# Per task: the record as HGETALL's flat list, the number of pending copies, and
# whether it is in the processing set.
_VIEWS_LUA = """
local out = {}
for i, task_id in ipairs(ARGV) do
  local copies = redis.call('LPOS', KEYS[1], task_id, 'COUNT', 0)
  local score = redis.call('ZSCORE', KEYS[2], task_id)
  out[i] = {redis.call('HGETALL', KEYS[i + 2]), #copies, score and 1 or 0}
end
return out
"""

_scripts: weakref.WeakKeyDictionary[redis.Redis, Script] = weakref.WeakKeyDictionary()


def fetch_views(queue: TaskQueue, task_ids: Sequence[str]) -> dict[str, TaskView | None]:
    client, keys = getattr(queue, "redis", None), getattr(queue, "keys", None)
    shared = type(queue).__module__ in ("reference_queue.naive", "reference_queue.safe")
    if shared and isinstance(client, redis.Redis) and isinstance(keys, Keys):
        return _scripted(client, keys, task_ids)
    return {t: drive(queue.inspect(TaskId(t))) for t in task_ids}


def _scripted(
    client: redis.Redis, keys: Keys, task_ids: Sequence[str]
) -> dict[str, TaskView | None]:
    if not task_ids:
        return {}
    script = _scripts.get(client)
    if script is None:
        script = _scripts[client] = client.register_script(_VIEWS_LUA)
    task_keys = [keys.task(t) for t in task_ids]
    replies: list[Any] = _run(client, script, [keys.pending, keys.processing, *task_keys], task_ids)
    views: dict[str, TaskView | None] = {}
    for task_id, (flat, copies, in_processing) in zip(task_ids, replies, strict=True):
        record = dict(zip(flat[::2], flat[1::2], strict=True))
        views[task_id] = (
            view_of(TaskId(task_id), record, int(copies), bool(in_processing)) if record else None
        )
    return views


def _run(client: redis.Redis, script: Script, keys: list[str], args: Sequence[str]) -> Any:
    """The script's reply. On the connection a search holds (``harness.explorer.search``:
    a single-connection client), sent and read directly: redis-py's layers around a
    command (its lock, retry wrapper and argument handling) are about a third of the
    client CPU of a call, on every step."""
    connection = getattr(client, "connection", None)
    if connection is None:
        return script(keys=keys, args=args)
    try:
        connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return connection.read_response()
    except NoScriptError:  # flushed meanwhile: redis-py's own call loads it again
        return script(keys=keys, args=args)
