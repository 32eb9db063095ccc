"""rq 2.x driven step by step against a real Redis: what it keeps, and what it does not.

The adapter calls rq's own worker and registry methods; these tests pin what rq (the
version in the ``zoo`` extra) does at each step, including the finding ``harness zoo``
reports: a worker deemed dead by ``StartedJobRegistry.cleanup`` still has its late
success accepted, leaving a finished job listed in the ``FailedJobRegistry``.
"""

from __future__ import annotations

import redis

from harness.contract import ManualClock, Outcome, TaskId, TaskStatus, WorkerId, drive
from harness.explorer.machine import queue_factory
from harness.explorer.search import replay
from zoo.rq_queue import RqQueue

T0, W0, W1 = TaskId("t0"), WorkerId("W0"), WorkerId("W1")


def rq_queue(client: redis.Redis) -> tuple[RqQueue, ManualClock]:
    clock = ManualClock()
    return RqQueue(client, clock=clock), clock


def advance(queue: RqQueue, clock: ManualClock, seconds: float) -> None:
    clock.advance(seconds)
    queue.on_clock_advance(seconds)


def raw(queue: RqQueue) -> str | None:
    view = drive(queue.inspect(T0))
    return None if view is None else view.raw_state


def test_runs_with_rqs_heartbeat_ttl_and_declares_its_time(redis_client: redis.Redis) -> None:
    queue, _ = rq_queue(redis_client)
    assert queue.lease_timeout == 90.0  # min(job_timeout 180, monitoring 30) + 60
    assert queue.decode_responses is False
    assert queue.promise.kind == "at-least-once"
    assert all(source == "real" for source in queue.time_sources.values())


def test_claim_passes_through_the_intermediate_list_then_completes(
    redis_client: redis.Redis,
) -> None:
    queue, _ = rq_queue(redis_client)
    assert drive(queue.submit('"x"', T0)).created is True
    assert drive(queue.submit('"x"', T0)).created is False  # the job exists already
    claim = queue.claim(W0)
    assert next(claim) == "after_dequeue"
    assert raw(queue) == "queued+intermediate"
    assert next(claim) == "after_prepare_execution"
    got = drive(claim)
    assert got is not None
    assert got.payload == '"x"'
    assert raw(queue) == "started"
    assert drive(queue.complete(T0, W0, None)) is Outcome.COMPLETED
    view = drive(queue.inspect(T0))
    assert view is not None
    assert (view.status, view.raw_state) == (TaskStatus.COMPLETED, "finished")
    assert drive(queue.stats()).completed == 1


def test_fail_is_terminal_without_retry_and_requeues_with_it(redis_client: redis.Redis) -> None:
    queue, _ = rq_queue(redis_client)
    drive(queue.submit('"x"', T0))
    drive(queue.claim(W0))
    assert drive(queue.fail(T0, W0, None, "boom", True)) is Outcome.PENDING
    assert raw(queue) == "queued"
    again = drive(queue.claim(W1))
    assert again is not None
    assert again.attempt == 2
    assert drive(queue.fail(T0, W1, None, "boom", False)) is Outcome.FAILED
    assert raw(queue) == "failed"


def test_abandoned_job_goes_to_the_failed_registry_unless_heartbeats_keep_it(
    redis_client: redis.Redis,
) -> None:
    queue, clock = rq_queue(redis_client)
    drive(queue.submit('"x"', T0))
    drive(queue.claim(W0))
    advance(queue, clock, 60)
    assert drive(queue.heartbeat(W0)) == 1
    advance(queue, clock, 60)  # 120 s since the claim, 60 s since the heartbeat
    assert drive(queue.rescue_expired()) == []
    assert raw(queue) == "started"
    advance(queue, clock, 91)  # rq's promise: an abandoned job is failed, not lost
    assert drive(queue.rescue_expired()) == [T0]
    assert raw(queue) == "failed"


def test_a_worker_dead_after_dequeue_is_failed_by_the_intermediate_cleanup(
    redis_client: redis.Redis,
) -> None:
    queue, clock = rq_queue(redis_client)
    drive(queue.submit('"x"', T0))
    claim = queue.claim(W0)
    next(claim)
    claim.close()  # the worker dies between LMOVE and recording the execution
    assert drive(queue.rescue_expired()) == []  # first seen
    advance(queue, clock, 61)
    assert drive(queue.rescue_expired()) == [T0]
    assert raw(queue) == "failed"


def test_finding_late_success_after_cleanup_leaves_a_finished_job_listed_as_failed(
    redis_client: redis.Redis,
) -> None:
    """What `harness zoo` reports for rq as audit_mismatch (pinned: rq in the zoo extra)."""
    steps = ["W0 claim", "W0 step", "W0 step", "clock advance", "J0 rescue", "J0 step",
             "J0 step", "J0 step", "W0 complete t0", "W0 step"]  # fmt: skip
    world = replay(redis_client, queue_factory("zoo.rq_queue:RqQueue"), steps,
                   setup=["P submit t0", "P step"])  # fmt: skip
    kinds = {str(f.kind) for f in world.findings}
    assert {"stale_completion", "audit_mismatch"} <= kinds
    view = drive(world.queue.inspect(T0))
    assert view is not None
    assert (view.record_status, view.raw_state) == ("finished", "finished+failed_registry")
