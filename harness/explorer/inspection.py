"""Reading where every known task is, after each step: the explorer's hottest path.

Any queue is read through its own ``inspect`` (one call per task). The two reference
queues share ``reference_queue.inspect`` (record + pending positions + processing
score, one MULTI per task); for them the explorer reads the same three facts for every
task in one server-side script — one round trip and one reply to parse instead of
three commands per task — and turns them into views with the same ``view_of``.
Scripts run atomically, so the answer is one snapshot, as each ``inspect_task`` is.
On a search's connections the script is sent behind the queue's own command
(:mod:`harness.explorer.riding`); its reply is used when the step's last command
carried it, and read with a round trip of its own otherwise.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError

from harness.contract import TaskId, TaskQueue, TaskView, drive
from harness.explorer.riding import Armed, rides_of
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


class _Views:
    """One client's views script, its commands packed once per task list (an example's
    list grows t0, t1, ...; the same lists come back example after example), and the
    latest reply with the views made of it: a step that moved nothing of the tasks gets
    the same views back (views are read, never changed, so records may share them)."""

    _PACKED_KEPT = 512

    def __init__(self, client: redis.Redis) -> None:
        self.script: Script = client.register_script(_VIEWS_LUA)
        self.packed: dict[tuple[str, tuple[str, ...]], Any] = {}
        self.task_ids: tuple[str, ...] = ()
        self.reply: Any = None
        self.views: dict[str, TaskView | None] = {}

    def command(self, connection: Any, keys: Keys, task_ids: tuple[str, ...]) -> Any:
        """EVALSHA with its keys and arguments, as the connection packs it."""
        found = self.packed.get((keys.pending, task_ids))
        if found is None:
            if len(self.packed) >= self._PACKED_KEPT:
                self.packed.clear()
            key_list = _key_list(keys, task_ids)
            found = connection.pack_command(
                "EVALSHA", self.script.sha, len(key_list), *key_list, *task_ids
            )
            self.packed[(keys.pending, task_ids)] = found
        return found


_scripts: weakref.WeakKeyDictionary[redis.Redis, _Views] = weakref.WeakKeyDictionary()


def fetch_views(queue: TaskQueue, task_ids: Sequence[str]) -> dict[str, TaskView | None]:
    client, keys = _shared(queue)
    if client is not None and keys is not None:
        return _scripted(client, keys, tuple(task_ids))
    return {t: drive(queue.inspect(TaskId(t))) for t in task_ids}


def riding(queue: TaskQueue, task_ids: Sequence[str]) -> Armed:
    """Arms the search's connections for one step (``with riding(...)``): the views of
    ``task_ids`` ride on the queue's commands (:mod:`harness.explorer.riding`)."""
    client, keys = _shared(queue)
    rides = rides_of(client)
    connection = getattr(client, "connection", None)
    if client is None or keys is None or rides is None or connection is None:
        return Armed()
    views = _views_of(client)
    return Armed(rides, lambda known: views.command(connection, keys, known), task_ids)


def _shared(queue: TaskQueue) -> tuple[redis.Redis | None, Keys | None]:
    """The client and keys of a reference queue (both read with ``reference_queue.inspect``)."""
    client, keys = getattr(queue, "redis", None), getattr(queue, "keys", None)
    shared = type(queue).__module__ in ("reference_queue.naive", "reference_queue.safe")
    if shared and isinstance(client, redis.Redis) and isinstance(keys, Keys):
        return client, keys
    return None, None


def _views_of(client: redis.Redis) -> _Views:
    views = _scripts.get(client)
    if views is None:
        views = _scripts[client] = _Views(client)
    return views


def _scripted(
    client: redis.Redis, keys: Keys, task_ids: tuple[str, ...]
) -> dict[str, TaskView | None]:
    if not task_ids:
        return {}
    script = _views_of(client)
    rides = rides_of(client)
    replies: Any = None
    if rides is not None:
        replies = rides.kept(task_ids)
        rides.outdated()  # used once: a later step without a command reads afresh
    if replies is None:
        replies = _run(client, script, keys, task_ids)
    if replies == script.reply and task_ids == script.task_ids:
        return script.views
    views: dict[str, TaskView | None] = {}
    for task_id, (flat, copies, in_processing) in zip(task_ids, replies, strict=True):
        record = dict(zip(flat[::2], flat[1::2], strict=True))
        views[task_id] = (
            view_of(TaskId(task_id), record, int(copies), bool(in_processing)) if record else None
        )
    script.task_ids, script.reply, script.views = task_ids, replies, views
    return views


def _run(client: redis.Redis, views: _Views, keys: Keys, task_ids: tuple[str, ...]) -> Any:
    """The script's reply. On the connection a search holds (``harness.explorer.search``:
    a single-connection client), its packed bytes are sent and the reply read directly:
    redis-py's layers around a command (its lock, retry wrapper and argument packing) are
    about a third of the client CPU of a call, on every step."""
    connection = getattr(client, "connection", None)
    if connection is None:
        return _called(views, keys, task_ids)
    try:
        connection.send_packed_command(views.command(connection, keys, task_ids))
        return connection.read_response()
    except NoScriptError:  # flushed meanwhile: redis-py's own call loads it again
        return _called(views, keys, task_ids)


def _called(views: _Views, keys: Keys, task_ids: tuple[str, ...]) -> Any:
    return views.script(keys=_key_list(keys, task_ids), args=task_ids)


def _key_list(keys: Keys, task_ids: tuple[str, ...]) -> list[str]:
    """The views script's KEYS (see ``_VIEWS_LUA``)."""
    return [keys.pending, keys.processing, *(keys.task(t) for t in task_ids)]
