"""taskiq-redis 1.2.4's stream broker against its promise, on a real Redis.

The README recommends the stream broker "in cases when data durability is required"
(acknowledgements: at least once). What these scripts show: an acknowledged message is done,
an unacknowledged one comes back through XAUTOCLAIM, but only inside a worker's ``listen()``
loop after it read a *new* message; so a dead worker's message stays stuck while nothing new
is published. XACK has no owner check: a superseded holder's ack erases the new holder's entry.
The reclaim lock is queued in the same MULTI as XAUTOCLAIM, so a lock left behind by a killed
worker (upstream #131) does not block reclaiming in this version.
"""

from __future__ import annotations

import redis

from harness.contract import DeliveryPromise, Outcome, TaskId, TaskStatus, WorkerId, drive
from tests.zoo.conftest import LEASE, Build, advance, status, submit
from zoo.taskiq_queue import GROUP, STREAM, TaskiqQueue

A, B = WorkerId("worker-A"), WorkerId("worker-B")


def test_declarations() -> None:
    assert TaskiqQueue.promise.kind is DeliveryPromise.AT_LEAST_ONCE
    assert "durability" in TaskiqQueue.promise.quote


def test_claim_then_ack_completes(build: Build) -> None:
    q, _ = build(TaskiqQueue)
    submit(q, "t1")
    claim = drive(q.claim(A))
    assert claim.task_id == "t1"
    assert status(q, "t1") is TaskStatus.PROCESSING
    assert drive(q.complete(claim.task_id, A, claim.token)) is Outcome.COMPLETED
    assert status(q, "t1") is TaskStatus.COMPLETED
    assert drive(q.claim(B)) is None


def test_a_dead_workers_message_is_stuck_until_something_new_is_published(build: Build) -> None:
    q, clock = build(TaskiqQueue)
    submit(q, "t1")
    drive(q.claim(A))  # ... and A dies
    advance(q, clock, LEASE + 1)  # long past idle_timeout
    assert drive(q.claim(B)) is None  # listen(): empty XREADGROUP -> `continue`, no XAUTOCLAIM
    assert status(q, "t1") is TaskStatus.PROCESSING  # still A's pending entry: stuck
    submit(q, "t2")
    assert drive(q.claim(B)).task_id == "t2"  # a non-empty read ...
    again = drive(q.claim(B))  # ... then the broker's XAUTOCLAIM hands B the dead one
    assert (again.task_id, again.attempt) == ("t1", 2)


def test_a_superseded_holders_ack_erases_the_new_holders_entry(build: Build) -> None:
    q, clock = build(TaskiqQueue)
    submit(q, "t1")
    ca = drive(q.claim(A))
    advance(q, clock, LEASE + 1)  # A is slow: its entry looks idle
    submit(q, "t2")
    drive(q.claim(B))
    cb = drive(q.claim(B))
    assert cb.task_id == "t1"
    assert cb.token == ca.token  # same stream entry: XAUTOCLAIM moved it to B
    assert drive(q.complete(ca.task_id, A, ca.token)) is Outcome.COMPLETED  # XACK: no owner check
    view = drive(q.inspect(TaskId("t1")))
    assert view is not None
    assert not view.in_processing  # B still runs t1, but its entry is gone
    assert drive(q.complete(cb.task_id, B, cb.token)) is Outcome.COMPLETED  # a no-op XACK


def test_a_reclaim_lock_left_by_a_killed_worker_does_not_block_reclaiming(
    build: Build, redis_client: redis.Redis
) -> None:
    q, clock = build(TaskiqQueue)
    redis_client.set(f"autoclaim:{GROUP}:{STREAM}", "held-by-a-killed-worker")
    submit(q, "t1")
    drive(q.claim(A))
    advance(q, clock, LEASE + 1)
    submit(q, "t2")
    drive(q.claim(B))
    assert drive(q.claim(B)).task_id == "t1"
    assert redis_client.get(f"autoclaim:{GROUP}:{STREAM}") == "held-by-a-killed-worker"


def test_fail_with_retry_re_kicks_a_copy_then_acks(build: Build) -> None:
    q, _ = build(TaskiqQueue)
    submit(q, "t1")
    c1 = drive(q.claim(A))
    assert drive(q.fail(c1.task_id, A, c1.token, "boom", retry=True)) is Outcome.PENDING
    c2 = drive(q.claim(B))
    assert c2.task_id == "t1"
    assert c2.token != c1.token  # a new message
    assert drive(q.fail(c2.task_id, B, c2.token, "boom", retry=False)) is Outcome.FAILED
    assert status(q, "t1") is TaskStatus.FAILED
