"""The explorer's one-script read of every task answers exactly what ``inspect`` does.

The explorer reads all tasks after every step through one server-side script (its
hottest path); the API and the audit read one task at a time through the queue's
``inspect``. The two must never disagree, whatever state a task is in — including the
naive queue's lost tasks and duplicated pending copies.
"""

from __future__ import annotations

import pytest
import redis

from harness.contract import ManualClock, TaskId, TaskQueue, TaskStatus, WorkerId, drive
from harness.explorer.inspection import fetch_views
from reference_queue.factory import make_queue
from reference_queue.naive import NaiveQueue

IDS = [f"t{i}" for i in range(6)]


def _per_task(queue: TaskQueue, ids: list[str]) -> dict[str, object]:
    return {t: drive(queue.inspect(TaskId(t))) for t in ids}


def _busy_queue(impl: str, client: redis.Redis, clock: ManualClock) -> TaskQueue:
    """Tasks pending, processing, completed, failed, failed-and-retried, re-queued."""
    queue = make_queue(impl, client, clock=clock, lease_timeout=30.0)
    for t in IDS:
        drive(queue.submit("{}", TaskId(t)))
    claims = [drive(queue.claim(WorkerId(f"w{i}"))) for i in range(4)]
    assert all(c is not None for c in claims)
    c0, c1, c2, _ = (c for c in claims if c is not None)  # the fourth is left to expire
    drive(queue.complete(c0.task_id, WorkerId("w0"), c0.token))
    drive(queue.fail(c1.task_id, WorkerId("w1"), c1.token, "boom", retry=False))
    drive(queue.fail(c2.task_id, WorkerId("w2"), c2.token, "again", retry=True))
    clock.advance(60.0)
    drive(queue.rescue_expired())  # the fourth claim expired: its task goes back to pending
    drive(queue.claim(WorkerId("w4")))
    return queue


@pytest.mark.parametrize("impl", ["naive", "safe"])
def test_every_state_reads_the_same_both_ways(impl: str, redis_client: redis.Redis) -> None:
    queue = _busy_queue(impl, redis_client, ManualClock())
    ids = [*IDS, "never-submitted"]
    views = fetch_views(queue, ids)
    assert views == _per_task(queue, ids)
    statuses = {v.status for v in views.values() if v is not None}
    assert {TaskStatus.PENDING, TaskStatus.PROCESSING, TaskStatus.COMPLETED} <= statuses
    assert TaskStatus.FAILED in statuses
    assert views["never-submitted"] is None


def test_the_naive_queues_lost_and_doubled_tasks_read_the_same(
    redis_client: redis.Redis,
) -> None:
    queue = NaiveQueue(redis_client, clock=ManualClock(), lease_timeout=30.0)
    for t in IDS[:3]:
        drive(queue.submit("{}", TaskId(t)))
    popped = queue.claim(WorkerId("w0"))
    assert next(popped) == "after_pop"  # RPOP done; the worker dies before the MULTI
    popped.close()
    queue.requeue_task("t1")  # a second copy of a pending task (what F7 leaves behind)
    views = fetch_views(queue, IDS[:3])
    assert views == _per_task(queue, IDS[:3])
    lost, doubled = views["t0"], views["t1"]
    assert lost is not None
    assert lost.status is TaskStatus.MISSING
    assert doubled is not None
    assert doubled.pending_copies == 2


def test_no_tasks_no_round_trip(redis_client: redis.Redis) -> None:
    queue = make_queue("safe", redis_client, clock=ManualClock())
    assert fetch_views(queue, []) == {}
