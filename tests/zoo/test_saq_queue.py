"""saq 0.26.4 against what it documents, on a real Redis, one round trip per step.

saq documents a heartbeat monitor and sweeping of stuck jobs, and ``retries`` defaulting to 1:
by default a swept job is aborted, not run again (at most once). What these scripts show:
heartbeats hold off the sweep; a dead worker's job is aborted (or retried with ``retries``);
but a sweep that lands between a worker's BLMOVE and its status update re-queues a job that
worker goes on to run, so it runs twice; and with retries, a swept slow worker's late finish
is accepted and removes the new holder's entry from the active list.
"""

from __future__ import annotations

from harness.contract import DeliveryPromise, Outcome, TaskId, TaskStatus, WorkerId, drive
from tests.reference_queue.interleave import start
from tests.zoo.conftest import LEASE, Build, advance, status, submit
from zoo.saq_queue import SWEEP_LOCK_S, SaqQueue

A, B = WorkerId("worker-A"), WorkerId("worker-B")
PAST_SWEEP = SWEEP_LOCK_S + 1  # past the sweep lock and past the heartbeat lease


def test_declarations() -> None:
    assert SaqQueue.promise.kind is DeliveryPromise.AT_MOST_ONCE
    assert SaqQueue.decode_responses is False


def test_claim_has_three_crash_points_between_saqs_round_trips(build: Build) -> None:
    q, _ = build(SaqQueue)
    submit(q, "t1")
    claim = start(q.claim(A))
    claim.finish()
    assert claim.points == ["after_blmove", "after_get", "after_set"]


def test_heartbeats_hold_off_the_sweep(build: Build) -> None:
    q, clock = build(SaqQueue)
    submit(q, "t1")
    drive(q.claim(A))
    swept: list[str] = []
    for _ in range(8):  # four lease periods, a heartbeat every half lease
        advance(q, clock, LEASE / 2)
        assert drive(q.heartbeat(A)) == 1
        swept += drive(q.rescue_expired())
    assert swept == []
    assert status(q, "t1") is TaskStatus.PROCESSING


def test_a_dead_workers_job_is_aborted_by_default(build: Build) -> None:
    q, clock = build(SaqQueue)
    submit(q, "t1")
    drive(q.claim(A))  # ... and A dies
    advance(q, clock, PAST_SWEEP)
    assert drive(q.rescue_expired()) == ["t1"]
    view = drive(q.inspect(TaskId("t1")))
    assert view is not None
    assert (view.status, view.raw_state) == (TaskStatus.FAILED, "aborted")
    assert drive(q.claim(B)) is None  # at most once: not run again


def test_with_retries_a_dead_workers_job_runs_again(build: Build) -> None:
    q, clock = build(SaqQueue, retries=2)
    submit(q, "t1")
    drive(q.claim(A))
    advance(q, clock, PAST_SWEEP)
    assert drive(q.rescue_expired()) == ["t1"]
    again = drive(q.claim(B))
    assert (again.task_id, again.attempt) == ("t1", 2)


def test_a_sweep_between_blmove_and_the_status_update_runs_the_job_twice(build: Build) -> None:
    """The active list holds the job while its record still says "queued": the sweep takes
    ``status != ACTIVE`` as stuck and re-queues it (attempts is still 0, so it is retryable),
    while worker A goes on and runs it. Two workers run one job: against at-most-once."""
    q, _ = build(SaqQueue)
    submit(q, "t1")
    a = start(q.claim(A)).step()  # BLMOVE done: t1 in active, its record "queued"
    assert drive(q.rescue_expired()) == ["t1"]  # no clock advance needed
    ca = a.finish()
    cb = drive(q.claim(B))
    assert ca.task_id == cb.task_id == "t1"
    assert drive(q.complete(ca.task_id, A, None)) is Outcome.COMPLETED
    assert drive(q.complete(cb.task_id, B, None)) is Outcome.COMPLETED


def test_with_retries_a_swept_workers_late_finish_erases_the_new_holder(build: Build) -> None:
    q, clock = build(SaqQueue, retries=2)
    submit(q, "t1")
    ca = drive(q.claim(A))
    advance(q, clock, PAST_SWEEP)  # A is paused: no heartbeat
    assert drive(q.rescue_expired()) == ["t1"]
    cb = drive(q.claim(B))
    assert drive(q.complete(ca.task_id, A, ca.token)) is Outcome.COMPLETED  # no fencing
    view = drive(q.inspect(TaskId("t1")))
    assert view is not None
    assert not view.in_processing  # B's entry left the active list with A's finish
    assert view.status is TaskStatus.COMPLETED
    assert drive(q.complete(cb.task_id, B, cb.token)) is Outcome.COMPLETED  # ... and twice


def test_fail_retries_only_while_saq_says_retryable(build: Build) -> None:
    q, _ = build(SaqQueue, retries=2)
    submit(q, "t1")
    c1 = drive(q.claim(A))
    assert drive(q.fail(c1.task_id, A, None, "boom", retry=True)) is Outcome.PENDING
    c2 = drive(q.claim(B))
    assert drive(q.fail(c2.task_id, B, None, "boom", retry=True)) is Outcome.FAILED  # 2 tries
    assert status(q, "t1") is TaskStatus.FAILED


def test_submit_by_key_is_idempotent(build: Build) -> None:
    q, _ = build(SaqQueue)
    submit(q, "t1")
    assert not drive(q.submit("{}", TaskId("t1"))).created
    assert drive(q.stats()).pending == 1
