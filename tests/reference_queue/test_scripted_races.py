"""The note's scenarios and the race catalogue (DESIGN.md §10), as scripted interleavings.

Each test runs the *same* script against both queues on a real Redis and states what
each must show: the naive queue (the note, line for line) exhibits the race; the safe
queue does not. Interleavings are written one Redis round trip at a time with
``Actor.step()``; the clock is injected, so "the task runs past the janitor's limit"
is ``clock.advance(...)``, not a sleep.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis

from harness.contract import ManualClock, Outcome, TaskId, TaskQueue, TaskStatus, WorkerId, drive
from reference_queue import make_queue
from tests.reference_queue.interleave import start

LEASE = 30.0
A, B, C = WorkerId("worker-A"), WorkerId("worker-B"), WorkerId("worker-C")

MakeQueue = Callable[[str], tuple[TaskQueue, ManualClock]]


@pytest.fixture
def make(redis_client: redis.Redis) -> MakeQueue:
    def build(impl: str) -> tuple[TaskQueue, ManualClock]:
        clock = ManualClock()
        return make_queue(impl, redis_client, clock=clock, lease_timeout=LEASE), clock

    return build


def submit(q: TaskQueue, *ids: str) -> None:
    for task_id in ids:
        assert drive(q.submit("{}", TaskId(task_id))).created


def status(q: TaskQueue, task_id: str) -> TaskStatus:
    view = drive(q.inspect(TaskId(task_id)))
    assert view is not None
    return view.status


# ---- the note's own scenarios: these hold on both queues ------------------------------


@pytest.mark.parametrize("impl", ["naive", "safe"])
def test_scenario_1_simultaneous_polls_get_distinct_tasks(make: MakeQueue, impl: str) -> None:
    q, _ = make(impl)
    submit(q, "task1", "task2", "task3")
    a, b = start(q.claim(A)), start(q.claim(B))
    a.step(), b.step()  # T1 RPOP → task1, T2 RPOP → task2 (naive); whole claims (safe)
    ca, cb = a.finish(), b.finish()  # T3, T4 start_processing
    assert {ca.task_id, cb.task_id} == {"task1", "task2"}
    assert drive(q.stats()).processing == 2


@pytest.mark.parametrize("impl", ["naive", "safe"])
def test_scenario_2_completion_does_not_disturb_a_poll(make: MakeQueue, impl: str) -> None:
    q, _ = make(impl)
    submit(q, "task1", "task2")
    c1 = drive(q.claim(A))
    b = start(q.claim(B)).step()  # T1 B pops task2
    assert drive(q.complete(c1.task_id, A, c1.token)) is Outcome.COMPLETED  # T2
    c2 = b.finish()  # T3
    assert (c1.task_id, c2.task_id) == ("task1", "task2")
    assert status(q, "task1") is TaskStatus.COMPLETED
    assert status(q, "task2") is TaskStatus.PROCESSING


@pytest.mark.parametrize("impl", ["naive", "safe"])
def test_scenario_3_janitor_scan_then_completion(make: MakeQueue, impl: str) -> None:
    """The note: "Janitor's zrem on non-existent task is safe (no-op)" — refuted on naive."""
    q, clock = make(impl)
    submit(q, "task1")
    claim = drive(q.claim(A))
    clock.advance(LEASE + 1)  # worker A is slow: past the janitor's limit
    drive(q.heartbeat(A))  # ... but alive and saying so
    janitor = start(q.rescue_expired()).step()  # T0 scan stuck tasks
    outcome = drive(q.complete(claim.task_id, A, claim.token))  # T1 complete_task(1)
    janitor.finish()  # T2 try rescue task1
    if impl == "naive":
        # The janitor's scan saw task1; its ZREM was a no-op but LPUSH + HSET were not.
        assert outcome is Outcome.COMPLETED
        assert status(q, "task1") is TaskStatus.PENDING
        assert drive(q.claim(B)).task_id == "task1"  # a completed task runs again
    else:
        # Heartbeats extend the lease; nothing is rescued, the completion stands.
        assert janitor.result == []
        assert outcome is Outcome.COMPLETED
        assert status(q, "task1") is TaskStatus.COMPLETED
        assert drive(q.claim(B)) is None


# ---- the race catalogue ---------------------------------------------------------------


@pytest.mark.parametrize("impl", ["naive", "safe"])
def test_f1_crash_between_pop_and_start_loses_the_task(make: MakeQueue, impl: str) -> None:
    q, clock = make(impl)
    submit(q, "t1")
    a = start(q.claim(A)).step()  # naive: RPOP done, start_processing not yet
    a.crash()
    clock.advance(LEASE + 1)
    drive(q.rescue_expired())
    recovered = drive(q.claim(B))
    if impl == "naive":
        assert status(q, "t1") is TaskStatus.MISSING  # record says pending, list and set empty
        assert recovered is None  # nobody will ever run t1: lost
    else:
        assert recovered is not None
        assert recovered.task_id == "t1"
        assert drive(q.complete(recovered.task_id, B, recovered.token)) is Outcome.COMPLETED


@pytest.mark.parametrize("impl", ["naive", "safe"])
def test_f4_janitor_rescues_a_live_heartbeating_task(make: MakeQueue, impl: str) -> None:
    q, clock = make(impl)
    submit(q, "t1")
    drive(q.claim(A))
    for _ in range(4):  # A works for 2 lease periods, heartbeating every half lease
        clock.advance(LEASE / 2)
        drive(q.heartbeat(A))
    rescued = drive(q.rescue_expired())
    if impl == "naive":
        assert rescued == ["t1"]  # age-based: heartbeats are never read
        assert drive(q.claim(B)).task_id == "t1"  # double claim of a live task
    else:
        assert rescued == []
        assert drive(q.claim(B)) is None


@pytest.mark.parametrize("impl", ["naive", "safe"])
def test_f5_late_completion_after_rescue_is_accepted(make: MakeQueue, impl: str) -> None:
    q, clock = make(impl)
    submit(q, "t1")
    ca = drive(q.claim(A))
    clock.advance(LEASE + 1)  # A stalls with no heartbeat (a paused process)
    assert drive(q.rescue_expired()) == ["t1"]
    cb = drive(q.claim(B))
    assert cb.task_id == "t1"
    late = drive(q.complete(ca.task_id, A, ca.token))  # A wakes up and completes
    current = drive(q.complete(cb.task_id, B, cb.token))
    completions = drive(q.stats()).completed
    if impl == "naive":
        assert (late, current) == (Outcome.COMPLETED, Outcome.COMPLETED)
        assert completions == 2  # stale + duplicate completion
    else:
        assert late is Outcome.LEASE_LOST  # fenced: A's token was superseded
        assert current is Outcome.COMPLETED
        assert completions == 1


@pytest.mark.parametrize("impl", ["naive", "safe"])
def test_f6_rescue_after_completion_resurrects_the_task(make: MakeQueue, impl: str) -> None:
    q, clock = make(impl)
    submit(q, "t1")
    ca = drive(q.claim(A))
    clock.advance(LEASE + 1)
    janitor = start(q.rescue_expired()).step()  # scan: t1 looks stuck
    completion = drive(q.complete(ca.task_id, A, ca.token))
    janitor.finish()  # rescue
    again = drive(q.claim(B))
    if impl == "naive":
        assert completion is Outcome.COMPLETED
        assert again is not None
        assert again.task_id == "t1"
    else:
        # Safe's scan-and-rescue is one script: it finished before the completion, which
        # is therefore a stale report and is refused; B's re-run is the only completion.
        assert completion is Outcome.NOT_PROCESSING
        assert again is not None
        assert again.task_id == "t1"
        assert drive(q.complete(again.task_id, B, again.token)) is Outcome.COMPLETED
        assert drive(q.stats()).completed == 1


@pytest.mark.parametrize("impl", ["naive", "safe"])
def test_f7_two_janitors_push_one_task_twice(make: MakeQueue, impl: str) -> None:
    q, clock = make(impl)
    submit(q, "t1")
    drive(q.claim(A))
    clock.advance(LEASE + 1)
    j1, j2 = start(q.rescue_expired()), start(q.rescue_expired())
    j1.step(), j2.step()  # both scan
    j1.finish(), j2.finish()  # both rescue
    view = drive(q.inspect(TaskId("t1")))
    assert view is not None
    claims = [drive(q.claim(B)), drive(q.claim(C))]
    claimed = [c.task_id for c in claims if c is not None]
    if impl == "naive":
        assert view.pending_copies == 2
        assert claimed == ["t1", "t1"]  # two workers run it at once
    else:
        assert view.pending_copies == 1
        assert claimed == ["t1"]


@pytest.mark.parametrize("impl", ["naive", "safe"])
@pytest.mark.parametrize("retry", [False, True])
def test_f8_stale_failure_flips_a_completed_task(make: MakeQueue, impl: str, retry: bool) -> None:
    q, clock = make(impl)
    submit(q, "t1")
    ca = drive(q.claim(A))
    clock.advance(LEASE + 1)
    drive(q.rescue_expired())
    cb = drive(q.claim(B))
    assert drive(q.complete(cb.task_id, B, cb.token)) is Outcome.COMPLETED
    stale = drive(q.fail(ca.task_id, A, ca.token, "timeout", retry=retry))
    if impl == "naive":
        assert stale is (Outcome.PENDING if retry else Outcome.FAILED)
        assert status(q, "t1") is (TaskStatus.PENDING if retry else TaskStatus.FAILED)
    else:
        assert stale is Outcome.NOT_PROCESSING
        assert status(q, "t1") is TaskStatus.COMPLETED


@pytest.mark.parametrize("impl", ["naive", "safe"])
def test_f11_heartbeats_guard_live_work_and_never_revive_finished_work(
    make: MakeQueue, impl: str
) -> None:
    """A heartbeat must keep a live task leased, and a late one must not re-insert it.

    The naive heartbeat cannot re-insert anything because it touches only
    ``worker:{id}`` — which is also why it protects nothing (the first half fails).
    """
    q, clock = make(impl)
    submit(q, "t1", "t2")
    c1 = drive(q.claim(A))
    assert drive(q.complete(c1.task_id, A, c1.token)) is Outcome.COMPLETED
    drive(q.heartbeat(A))  # late heartbeat for t1
    assert status(q, "t1") is TaskStatus.COMPLETED
    drive(q.claim(A))  # now working on t2, heartbeating
    clock.advance(LEASE * 0.75)
    drive(q.heartbeat(A))
    clock.advance(LEASE * 0.75)
    rescued = drive(q.rescue_expired())
    if impl == "naive":
        assert rescued == ["t2"]  # the heartbeat was ignored
    else:
        assert rescued == []
        assert status(q, "t2") is TaskStatus.PROCESSING
    assert status(q, "t1") is TaskStatus.COMPLETED


@pytest.mark.parametrize("impl", ["naive", "safe"])
def test_f3_concurrent_duplicate_submit(make: MakeQueue, impl: str) -> None:
    q, _ = make(impl)
    s1, s2 = start(q.submit("{}", TaskId("t1"))), start(q.submit("{}", TaskId("t1")))
    s1.step(), s2.step()  # naive: both passed the EXISTS check
    results = [s1.finish(), s2.finish()]
    view = drive(q.inspect(TaskId("t1")))
    assert view is not None
    if impl == "naive":
        assert [r.created for r in results] == [True, True]
        assert view.pending_copies == 2
    else:
        assert sorted(r.created for r in results) == [False, True]
        assert view.pending_copies == 1
