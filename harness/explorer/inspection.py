"""Reading where every known task is, after each step: the explorer's hottest path.

Any queue is read through its own ``inspect`` (one call per task). The two reference
queues share ``reference_queue.inspect`` (record + pending positions + processing
score); for them all tasks are read in one pipelined round trip and turned into views
by the same ``view_of`` — the same answer, a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from reference_queue.inspect import view_of
from reference_queue.keys import Keys
from reference_queue.types import TaskId, TaskQueue, TaskView, drive


def fetch_views(queue: TaskQueue, task_ids: Sequence[str]) -> dict[str, TaskView | None]:
    client, keys = getattr(queue, "redis", None), getattr(queue, "keys", None)
    shared = type(queue).__module__ in ("reference_queue.naive", "reference_queue.safe")
    if shared and isinstance(client, redis.Redis) and isinstance(keys, Keys):
        return _pipelined(client, keys, task_ids)
    return {t: drive(queue.inspect(TaskId(t))) for t in task_ids}


def _pipelined(
    client: redis.Redis, keys: Keys, task_ids: Sequence[str]
) -> dict[str, TaskView | None]:
    pipe = client.pipeline(transaction=True)  # one snapshot, as each inspect_task is
    for task_id in task_ids:
        pipe.hgetall(keys.task(task_id))
        pipe.lpos(keys.pending, task_id, count=0)
        pipe.zscore(keys.processing, task_id)
    replies = pipe.execute() if task_ids else []
    views: dict[str, TaskView | None] = {}
    for i, task_id in enumerate(task_ids):
        record, positions, score = replies[3 * i : 3 * i + 3]
        views[task_id] = (
            view_of(TaskId(task_id), record, len(positions or []), score is not None)
            if record
            else None
        )
    return views
