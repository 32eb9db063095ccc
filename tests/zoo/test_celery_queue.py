"""Celery 5 + kombu's Redis transport (late ack) driven step by step against a real Redis.

Pins what the versions in the ``zoo`` extra do: an unacknowledged message is redelivered
after the visibility timeout (the documented promise, held), a worker dying between the
``RPOP`` and the unacked record loses the task (celery#7950), and a superseded holder's
late ack erases the redelivered copy's unacked record (the delivery tag is reused).
"""

from __future__ import annotations

import redis

from harness.contract import ManualClock, Outcome, TaskId, TaskStatus, WorkerId, drive
from harness.explorer.machine import queue_factory
from harness.explorer.search import replay
from tests.reference_queue.interleave import start
from zoo.celery_queue import CeleryQueue

T0, W0, W1 = TaskId("t0"), WorkerId("W0"), WorkerId("W1")


def celery_queue(client: redis.Redis) -> tuple[CeleryQueue, ManualClock]:
    clock = ManualClock()
    return CeleryQueue(client, clock=clock), clock


def claimed_then_aged(client: redis.Redis, seconds: float) -> tuple[CeleryQueue, ManualClock]:
    """t0 submitted, claimed by W0 (who then does nothing), and ``seconds`` later."""
    queue, clock = celery_queue(client)
    drive(queue.submit('"x"', T0))
    drive(queue.claim(W0))
    age(queue, clock, seconds)
    return queue, clock


def age(queue: CeleryQueue, clock: ManualClock, seconds: float) -> None:
    clock.advance(seconds)
    queue.on_clock_advance(seconds)


def status(queue: CeleryQueue) -> TaskStatus | None:
    view = drive(queue.inspect(T0))
    return None if view is None else view.status


def test_late_ack_completes_and_clears_the_unacked_record(redis_client: redis.Redis) -> None:
    queue, _ = celery_queue(redis_client)
    assert queue.lease_timeout == 3600.0  # kombu's default visibility_timeout
    drive(queue.submit('"x"', T0))
    assert status(queue) is TaskStatus.PENDING
    claim = drive(queue.claim(W0))
    assert claim is not None
    assert claim.payload == '"x"'
    assert status(queue) is TaskStatus.PROCESSING
    assert drive(queue.complete(T0, W0, None, "done")) is Outcome.COMPLETED
    assert status(queue) is TaskStatus.COMPLETED
    assert drive(queue.stats()).processing == 0


def test_unacked_message_is_redelivered_after_the_visibility_timeout(
    redis_client: redis.Redis,
) -> None:
    queue, clock = claimed_then_aged(redis_client, 3599)
    assert drive(queue.rescue_expired()) == []
    age(queue, clock, 2)
    assert drive(queue.rescue_expired()) == [T0]
    again = drive(queue.claim(W1))
    assert again is not None
    assert again.task_id == T0


def test_retry_resends_under_the_same_id(redis_client: redis.Redis) -> None:
    queue, _ = celery_queue(redis_client)
    drive(queue.submit('"x"', T0))
    drive(queue.claim(W0))
    assert drive(queue.fail(T0, W0, None, "boom", True)) is Outcome.PENDING
    again = drive(queue.claim(W1))
    assert again is not None
    assert again.attempt == 2
    assert drive(queue.fail(T0, W1, None, "boom", False)) is Outcome.FAILED
    assert status(queue) is TaskStatus.FAILED


def test_finding_a_crash_between_rpop_and_the_unacked_record_loses_the_task(
    redis_client: redis.Redis,
) -> None:
    """celery/celery#7950's window, as `harness zoo` reports it for Celery (lost)."""
    world = replay(redis_client, queue_factory("zoo.celery_queue:CeleryQueue"),
                   ["W0 claim", "W0 crash"], setup=["P submit t0", "P step"])  # fmt: skip
    assert [str(f.kind) for f in world.findings if f.task_id == "t0"][:1] == ["lost"]
    view = drive(world.queue.inspect(T0))
    assert view is not None
    assert view.raw_state == "PENDING+nowhere"


def test_a_superseded_holders_ack_erases_the_redelivered_copys_record(
    redis_client: redis.Redis,
) -> None:
    queue, clock = celery_queue(redis_client)
    drive(queue.submit('"x"', T0))
    drive(queue.claim(W0))
    clock.advance(3601)
    queue.on_clock_advance(3601)
    drive(queue.rescue_expired())
    assert drive(queue.claim(W1)) is not None
    assert status(queue) is TaskStatus.PROCESSING  # W1's delivery is unacked
    assert drive(queue.complete(T0, W0, None)) is Outcome.COMPLETED  # W0 was slow, not dead
    view = drive(queue.inspect(T0))
    assert view is not None
    assert view.in_processing is False  # W1 still runs it, but its record is gone
    assert drive(queue.stats()).processing == 0


def test_a_delivery_that_comes_of_age_during_the_restore_is_reported_rescued(
    redis_client: redis.Redis,
) -> None:
    """kombu reads its own ceiling inside ``restore_visible``: a delivery that crossed the
    visibility timeout after the janitor's scan is restored, and must be reported (it was
    not: under load a crashed task came back with no rescue in the history)."""
    queue, clock = claimed_then_aged(redis_client, 3599)  # W0 died holding it
    janitor = start(queue.rescue_expired()).step()  # scanned: nothing old enough yet
    age(queue, clock, 2)  # ... while the restore is still to run
    assert janitor.finish() == [T0]
    again = drive(queue.claim(W1))
    assert again is not None
    assert again.task_id == T0


def test_a_delivery_acked_during_the_restore_is_not_reported_rescued(
    redis_client: redis.Redis,
) -> None:
    queue, _ = claimed_then_aged(redis_client, 3601)
    janitor = start(queue.rescue_expired()).step()  # scanned: W0's delivery is old enough
    assert drive(queue.complete(T0, W0, None, "done")) is Outcome.COMPLETED  # W0 was slow
    assert janitor.finish() == []
    assert status(queue) is TaskStatus.COMPLETED
