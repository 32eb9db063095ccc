"""BullMQ (Python client 3.4.4) against its promise, on a real Redis, one round trip per step.

BullMQ promises "exactly once ... at least once in the worst case". What these scripts show:
its completion is fenced by the lock token (a worker whose lock was taken over is refused),
heartbeats keep a slow job from being rescued, a dead worker's job comes back through the
stalled-jobs check; and (a divergence of the Python client from BullMQ's docs) a job that
stalls more than ``maxStalledCount`` times is run again instead of failed.
"""

from __future__ import annotations

from harness.contract import (
    DeliveryPromise,
    ManualClock,
    Outcome,
    TaskId,
    TaskStatus,
    WorkerId,
    drive,
)
from tests.reference_queue.interleave import start
from tests.zoo.conftest import LEASE, Build, advance, status, submit
from zoo.bullmq_queue import BullmqQueue

A, B = WorkerId("worker-A"), WorkerId("worker-B")


def stall(q: BullmqQueue, clock: ManualClock) -> list[TaskId]:
    """The stalled-jobs check, once per stalledInterval, until it moves something.

    It is two-phase: one check marks the active jobs, a later one moves those whose lock is
    gone; a check within stalledInterval of the last does nothing. At most three are needed.
    """
    for _ in range(3):
        moved = drive(q.rescue_expired())
        if moved:
            return moved
        advance(q, clock, LEASE + 1)
    return []


def test_declarations_name_the_promise_and_real_time() -> None:
    assert BullmqQueue.promise.kind is DeliveryPromise.AT_LEAST_ONCE
    assert "at least once in the worst case" in BullmqQueue.promise.quote
    assert BullmqQueue.status_map["active"] is TaskStatus.PROCESSING


def test_token_fenced_completion_refuses_a_worker_whose_lock_was_taken_over(build: Build) -> None:
    q, clock = build(BullmqQueue)
    submit(q, "t1")
    ca = drive(q.claim(A))
    assert stall(q, clock) == ["t1"]  # A stopped renewing: its lock expired, the job stalled
    cb = drive(q.claim(B))
    assert (cb.task_id, cb.attempt) == ("t1", 2)
    assert ca.token != cb.token
    assert drive(q.heartbeat(A)) == 0  # extendLocks refuses A's token too
    assert drive(q.complete(ca.task_id, A, ca.token)) is Outcome.LEASE_LOST  # "Lock mismatch"
    assert status(q, "t1") is TaskStatus.PROCESSING  # B's claim is untouched
    assert drive(q.complete(cb.task_id, B, cb.token)) is Outcome.COMPLETED
    assert drive(q.stats()).completed == 1


def test_stale_failure_is_refused_too(build: Build) -> None:
    q, clock = build(BullmqQueue)
    submit(q, "t1")
    ca = drive(q.claim(A))
    stall(q, clock)
    cb = drive(q.claim(B))
    assert drive(q.fail(ca.task_id, A, ca.token, "late", retry=False)) is Outcome.LEASE_LOST
    assert drive(q.complete(cb.task_id, B, cb.token)) is Outcome.COMPLETED


def test_an_expired_lock_refuses_completion_even_before_any_stalled_check(build: Build) -> None:
    q, clock = build(BullmqQueue)
    submit(q, "t1")
    ca = drive(q.claim(A))
    advance(q, clock, LEASE + 1)  # no renewal: the lock key is gone, the job still "active"
    assert drive(q.complete(ca.task_id, A, ca.token)) is Outcome.LEASE_LOST  # "Missing lock"
    assert status(q, "t1") is TaskStatus.PROCESSING
    assert stall(q, clock) == ["t1"]  # ... and the stalled check runs it again
    assert drive(q.claim(B)).task_id == "t1"


def test_heartbeats_keep_a_slow_job_from_being_rescued(build: Build) -> None:
    q, clock = build(BullmqQueue)
    submit(q, "t1")
    drive(q.claim(A))
    rescued: list[str] = []
    for _ in range(6):  # three lease periods, renewing every half lease like LockManager
        advance(q, clock, LEASE / 2)
        assert drive(q.heartbeat(A)) == 1
        rescued += drive(q.rescue_expired())
    assert rescued == []
    assert drive(q.claim(B)) is None


def test_a_dead_workers_job_comes_back_with_the_next_attempt(build: Build) -> None:
    q, clock = build(BullmqQueue)
    submit(q, "t1")
    drive(q.claim(A))  # ... and A dies holding the lock
    assert stall(q, clock) == ["t1"]
    again = drive(q.claim(B))
    assert (again.task_id, again.attempt) == ("t1", 2)
    assert drive(q.complete(again.task_id, B, again.token)) is Outcome.COMPLETED


def test_a_job_that_stalls_twice_is_handed_out_again_by_the_python_client(build: Build) -> None:
    """BullMQ's docs: a job that stalls more than maxStalledCount (default 1) "will be failed
    permanently". The Lua marks it (``defa``, a deferred failure) and requeues it; the Node
    worker then fails it, but the Python client 3.4.4 never reads ``defa``: it runs it again."""
    q, clock = build(BullmqQueue)
    submit(q, "t1")
    drive(q.claim(A))
    stall(q, clock)
    drive(q.claim(B))  # ... and B dies too
    assert stall(q, clock) == ["t1"]  # second stall
    view = drive(q.inspect(TaskId("t1")))
    assert view is not None
    assert view.extra["deferred_failure"] == "job stalled more than allowable limit"
    third = drive(q.claim(A))
    assert (third.task_id, third.attempt) == ("t1", 3)  # not failed: processed a third time
    assert drive(q.complete(third.task_id, A, third.token)) is Outcome.COMPLETED


def test_fail_with_retry_requeues_and_without_retry_is_terminal(build: Build) -> None:
    q, _ = build(BullmqQueue)
    submit(q, "t1")
    c1 = drive(q.claim(A))
    assert drive(q.fail(c1.task_id, A, c1.token, "boom", retry=True)) is Outcome.PENDING
    assert status(q, "t1") is TaskStatus.PENDING
    c2 = drive(q.claim(B))
    assert drive(q.fail(c2.task_id, B, c2.token, "boom", retry=False)) is Outcome.FAILED
    assert status(q, "t1") is TaskStatus.FAILED


def test_submit_by_id_is_idempotent_and_steps_between_its_two_scripts(build: Build) -> None:
    q, _ = build(BullmqQueue)
    producer = start(q.submit("{}", TaskId("t1")))
    assert producer.step().points == ["after_getStateV2"]  # state read done, add not yet
    producer.crash()
    assert drive(q.inspect(TaskId("t1"))) is None  # died before adding: nothing enqueued
    submit(q, "t1")
    assert not drive(q.submit("{}", TaskId("t1"))).created
    assert drive(q.stats()).pending == 1
