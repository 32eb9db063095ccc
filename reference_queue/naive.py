"""The design note's queue, line for line, bugs included: this is the specimen.

Every method reproduces a snippet of ``design-note-under-test.md`` (cited by the note's
own line references) and keeps its flaws on purpose:

- claim = ``RPOP`` (note: "get_next_pending_task() - Line 179"), then a separate
  ``get_task_data``, then a separate ``MULTI`` (``start_processing``, "Lines 79-98").
  A worker that dies between them has popped a task that is now nowhere (F1, F2).
- complete / fail are unconditional ``MULTI``s ("Lines 100-118", "Lines 120-141"): no
  ownership check, so a late or stale report is accepted (F5, F8).
- the janitor scans ``queue:processing`` by *age* (start time, not a lease), then
  re-queues each with ``ZREM + LPUSH + HSET`` without looking at what ``ZREM`` returned
  (F4, F6, F7; the note's Scenario 3 assumes the ``ZREM`` no-op makes this safe).
- heartbeat = ``HSET worker:{id} last_active`` ("worker_tasks.py lines 148-153"): it
  protects nothing, because the janitor never reads it.
- submit checks ``EXISTS`` and then writes: a check-then-act window (F3).

Points yielded between round trips (fault points, and steps for the explorer):
``after_exists_check`` (submit), ``after_pop`` and ``after_get_data`` (claim),
``before_complete_write`` / ``before_fail_write`` (after the existence check),
``janitor_between_scan_and_rescue`` and ``janitor_between_rescues`` (rescue_expired).
"""

from __future__ import annotations

import uuid
from typing import Any, cast

import redis

from harness.contract import (
    Claim,
    Clock,
    Outcome,
    QueueStats,
    Steps,
    Submitted,
    TaskId,
    TaskView,
    WallClock,
    WorkerId,
)
from reference_queue.inspect import inspect_task, queue_stats
from reference_queue.keys import Keys


class NaiveQueue:
    """The note's ``queue_service`` plus the worker/janitor flows around it."""

    name = "naive"

    def __init__(
        self,
        client: redis.Redis,
        *,
        clock: Clock | None = None,
        lease_timeout: float = 30.0,
        keys: Keys | None = None,
    ) -> None:
        self.redis = client
        self.clock = clock or WallClock()
        self.lease_timeout = lease_timeout  # the janitor's age limit: the naive queue has no lease
        self.keys = keys or Keys()

    # ---- the note's queue_service methods, verbatim in spirit -------------------------

    def get_next_pending_task(self) -> str | None:
        # Note, line 179: `return self.redis.rpop("queue:pending")` ("✅ ATOMIC").
        return cast(str | None, self.redis.rpop(self.keys.pending))

    def get_task_data(self, task_id: str) -> dict[str, Any]:
        # Note, worker_tasks.py lines 59-71: read between RPOP and start_processing.
        return cast(dict[str, Any], self.redis.hgetall(self.keys.task(task_id)))

    def start_processing(self, task_id: str, worker_id: str) -> int:
        # Note, lines 79-98: `pipe = self.redis.pipeline(transaction=True)` ZADD + HSET.
        start_time = self.clock.now()
        pipe = self.redis.pipeline(transaction=True)
        pipe.zadd(self.keys.processing, {task_id: start_time})
        pipe.hset(
            self.keys.task(task_id),
            mapping={"status": "processing", "worker_id": worker_id, "started_at": start_time},
        )
        pipe.hincrby(self.keys.task(task_id), "attempts", 1)
        attempts: int = pipe.execute()[2]
        return attempts

    def complete_task(self, task_id: str, result: str | None) -> None:
        # Note, lines 100-118: ZREM + HSET in one MULTI, with no ownership check.
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(self.keys.processing, task_id)
        pipe.hset(
            self.keys.task(task_id),
            mapping={
                "status": "completed",
                "completed_at": self.clock.now(),
                "result": result or "",
            },
        )
        pipe.incr(self.keys.completed_count)
        pipe.execute()

    def fail_task(self, task_id: str, error: str) -> None:
        # Note, lines 120-141: ZREM + ZADD queue:failed + HSET, unconditionally.
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(self.keys.processing, task_id)
        pipe.zadd(self.keys.failed, {task_id: self.clock.now()})
        pipe.hset(self.keys.task(task_id), mapping={"status": "failed", "error": error})
        pipe.execute()

    def requeue_task(self, task_id: str, error: str | None = None) -> None:
        # The janitor's rescue (and a retryable failure): ZREM + LPUSH + HSET, ZREM unchecked.
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(self.keys.processing, task_id)
        pipe.lpush(self.keys.pending, task_id)
        pipe.hset(self.keys.task(task_id), mapping={"status": "pending", "error": error or ""})
        pipe.execute()

    # ---- the TaskQueue interface: the note's flows, one round trip per step ------------

    def submit(self, payload: str, task_id: TaskId | None = None) -> Steps[Submitted]:
        task_id = task_id or TaskId(uuid.uuid4().hex)
        if self.redis.exists(self.keys.task(task_id)):
            return Submitted(task_id=task_id, created=False)
        yield "after_exists_check"  # F3: another submit of the same id can pass the check too
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(
            self.keys.task(task_id),
            mapping={"status": "pending", "payload": payload, "attempts": 0,
                     "created_at": self.clock.now()},
        )  # fmt: skip
        pipe.lpush(self.keys.pending, task_id)
        pipe.execute()
        return Submitted(task_id=task_id, created=True)

    def claim(self, worker: WorkerId) -> Steps[Claim | None]:
        # worker_tasks.py lines 59-71, in the note's order.
        task_id = self.get_next_pending_task()
        if task_id is None:
            return None
        yield "after_pop"  # "(context switch possible here)" — and a crash loses the task (F1)
        task_data = self.get_task_data(task_id)
        yield "after_get_data"
        attempts = self.start_processing(task_id, worker)
        return Claim(
            task_id=TaskId(task_id),
            payload=str(task_data.get("payload", "null")),
            attempt=attempts,
            token=None,
            expires_at=None,
        )

    def complete(
        self, task_id: TaskId, worker: WorkerId, token: str | None, result: str | None = None
    ) -> Steps[Outcome]:
        # The endpoint looks the task up (404 for unknown ids), then calls complete_task:
        # the token and the worker are ignored, as in the note.
        if not self.redis.exists(self.keys.task(task_id)):
            return Outcome.NOT_FOUND
        yield "before_complete_write"
        self.complete_task(task_id, result)
        return Outcome.COMPLETED

    def fail(
        self, task_id: TaskId, worker: WorkerId, token: str | None, error: str, retry: bool
    ) -> Steps[Outcome]:
        if not self.redis.exists(self.keys.task(task_id)):
            return Outcome.NOT_FOUND
        yield "before_fail_write"
        if retry:
            self.requeue_task(task_id, error)
            return Outcome.PENDING
        self.fail_task(task_id, error)
        return Outcome.FAILED

    def heartbeat(self, worker: WorkerId) -> Steps[int]:
        # worker_tasks.py lines 148-153: "Last-write-wins is fine for timestamps".
        # Nothing reads it: it extends no lease, so a live slow task is still rescued (F4).
        yield from ()
        self.redis.hset(self.keys.worker(worker), "last_active", self.clock.now())
        return 0

    def rescue_expired(self) -> Steps[list[TaskId]]:
        # The janitor: scan by age, then re-queue each task found, trusting the scan.
        cutoff = self.clock.now() - self.lease_timeout
        stuck = cast(list[str], self.redis.zrangebyscore(self.keys.processing, "-inf", cutoff))
        if not stuck:
            return []
        yield "janitor_between_scan_and_rescue"  # F6: the worker may complete right here
        for i, task_id in enumerate(stuck):
            if i:
                yield "janitor_between_rescues"
            # Note, Scenario 3: "Janitor's zrem on non-existent task is safe (no-op)" —
            # but the LPUSH and HSET that follow it are not no-ops (F6, F7).
            self.requeue_task(task_id)
        return [TaskId(t) for t in stuck]

    def inspect(self, task_id: TaskId) -> Steps[TaskView | None]:
        return inspect_task(self.redis, self.keys, task_id)

    def stats(self) -> Steps[QueueStats]:
        return queue_stats(self.redis, self.keys)
