"""The safe queue's own guarantees beyond the race catalogue."""

from __future__ import annotations

import redis

from harness.contract import ManualClock, Outcome, TaskId, TaskStatus, WorkerId, drive
from reference_queue import make_queue

W = WorkerId("w")


def test_tokens_are_fresh_and_increasing(redis_client: redis.Redis) -> None:
    q = make_queue("safe", redis_client)
    for i in range(3):
        drive(q.submit("{}", TaskId(f"t{i}")))
    tokens = [int(drive(q.claim(W)).token or 0) for _ in range(3)]
    assert tokens == sorted(tokens)
    assert len(set(tokens)) == 3


def test_lease_deadline_comes_from_redis_time(redis_client: redis.Redis) -> None:
    q = make_queue("safe", redis_client, lease_timeout=30.0)
    drive(q.submit("{}", TaskId("t")))
    claim = drive(q.claim(W))
    seconds, micros = redis_client.time()
    assert claim.expires_at is not None
    assert abs(claim.expires_at - (seconds + micros / 1e6 + 30.0)) < 5.0


def test_missing_token_cannot_complete(redis_client: redis.Redis) -> None:
    q = make_queue("safe", redis_client)
    drive(q.submit("{}", TaskId("t")))
    drive(q.claim(W))
    assert drive(q.complete(TaskId("t"), W, None)) is Outcome.LEASE_LOST
    assert drive(q.complete(TaskId("nope"), W, "1")) is Outcome.NOT_FOUND


def test_dead_letter_after_max_attempts(redis_client: redis.Redis) -> None:
    clock = ManualClock()
    q = make_queue("safe", redis_client, clock=clock, lease_timeout=10.0, max_attempts=2)
    drive(q.submit("{}", TaskId("t")))
    drive(q.claim(W))
    clock.advance(11)
    assert drive(q.rescue_expired()) == ["t"]  # attempt 1 expired: re-queued
    drive(q.claim(W))
    clock.advance(11)
    assert drive(q.rescue_expired()) == []  # attempt 2 expired: dead-lettered
    view = drive(q.inspect(TaskId("t")))
    assert view is not None
    assert view.status is TaskStatus.FAILED
    assert drive(q.stats()).failed == 1


def test_retry_then_terminal_failure(redis_client: redis.Redis) -> None:
    q = make_queue("safe", redis_client, max_attempts=2)
    drive(q.submit("{}", TaskId("t")))
    c = drive(q.claim(W))
    assert drive(q.fail(c.task_id, W, c.token, "boom", retry=True)) is Outcome.PENDING
    c = drive(q.claim(W))
    assert drive(q.fail(c.task_id, W, c.token, "boom", retry=True)) is Outcome.FAILED


def test_scripts_reload_after_noscript(redis_client: redis.Redis) -> None:
    """After a Redis restart the script cache is empty; the queue must carry on."""
    q = make_queue("safe", redis_client)
    drive(q.submit("{}", TaskId("a")))
    redis_client.script_flush()
    assert drive(q.submit("{}", TaskId("b"))).created
    assert drive(q.claim(W)) is not None
