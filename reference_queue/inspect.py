"""Where a task really is, and queue totals: shared by both queues (one round trip each).

``GET /tasks/{id}`` and the audit rely on this: a task's status comes from membership
of the pending list and the processing set, not only from its record, so the note's
lost tasks (record says "processing", found nowhere) show up as ``missing``.
"""

from __future__ import annotations

from typing import Any

import redis

from harness.contract import QueueStats, Steps, TaskId, TaskStatus, TaskView
from reference_queue.keys import Keys

_LIVE = {"pending", "processing"}


def inspect_task(client: redis.Redis, keys: Keys, task_id: TaskId) -> Steps[TaskView | None]:
    """One MULTI: the record, the positions in the pending list, the processing score."""
    yield from ()  # a single round trip: no intermediate point to stop at
    pipe = client.pipeline(transaction=True)
    pipe.hgetall(keys.task(task_id))
    pipe.lpos(keys.pending, task_id, count=0)
    pipe.zscore(keys.processing, task_id)
    record, positions, score = pipe.execute()
    if not record:
        return None
    return view_of(task_id, record, len(positions or []), score is not None)


def view_of(
    task_id: TaskId, record: dict[str, Any], pending_copies: int, in_processing: bool
) -> TaskView:
    record_status = str(record.get("status", ""))
    if in_processing:
        status = TaskStatus.PROCESSING
    elif pending_copies:
        status = TaskStatus.PENDING
    elif record_status in _LIVE or record_status not in (TaskStatus.COMPLETED, TaskStatus.FAILED):
        status = TaskStatus.MISSING
    else:
        status = TaskStatus(record_status)
    lease = record.get("lease_expires_at")
    return TaskView(
        task_id=task_id,
        status=status,
        record_status=record_status,
        attempts=int(record.get("attempts", 0) or 0),
        worker_id=record.get("worker_id") or None,
        pending_copies=pending_copies,
        in_processing=in_processing,
        lease_expires_at=float(lease) if lease else None,
    )


def queue_stats(client: redis.Redis, keys: Keys) -> Steps[QueueStats]:
    yield from ()
    pipe = client.pipeline(transaction=True)
    pipe.llen(keys.pending)
    pipe.zcard(keys.processing)
    pipe.get(keys.completed_count)
    pipe.zcard(keys.failed)
    pending, processing, completed, failed = pipe.execute()
    return QueueStats(
        pending=int(pending),
        processing=int(processing),
        completed=int(completed or 0),
        failed=int(failed),
    )
