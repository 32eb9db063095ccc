"""The test deployments' queue: token fencing refuses a superseded worker, status-only
fencing lets it complete while the new holder works (F5 with a narrow window)."""

from __future__ import annotations

import time

from tests.deployments.memory_queue import Fencing, MemoryQueue, Refusal


def superseded(fencing: Fencing) -> tuple[MemoryQueue, str, str]:
    """A's lease on t1 expires and B claims t1: (queue, A's token, B's token)."""
    queue = MemoryQueue(lease_timeout=0.05, fencing=fencing)
    queue.submit("t1", None)
    first = queue.claim("A")
    time.sleep(0.1)
    second = queue.claim("B")
    assert first is not None
    assert second is not None
    assert (second.task_id, second.attempt) == ("t1", 2)
    return queue, first.token, second.token


def test_token_fencing_refuses_the_superseded_worker() -> None:
    queue, a, b = superseded(Fencing.TOKEN)
    assert queue.finish("t1", a, "completed") is Refusal.LEASE_LOST
    assert queue.finish("t1", b, "completed") == "completed"


def test_status_fencing_accepts_the_superseded_worker_while_the_task_is_held() -> None:
    queue, a, b = superseded(Fencing.STATUS)
    assert queue.finish("t1", a, "completed") == "completed"  # B is still working on it
    assert queue.finish("t1", b, "completed") is Refusal.NOT_PROCESSING


def test_status_fencing_refuses_once_the_task_is_no_longer_processing() -> None:
    queue = MemoryQueue(lease_timeout=0.05, fencing=Fencing.STATUS)
    queue.submit("t1", None)
    queue.claim("A")
    time.sleep(0.1)  # expired and back in pending: nobody holds it
    assert queue.finish("t1", "1", "completed") is Refusal.NOT_PROCESSING
    assert queue.counts() == {"pending": 1, "processing": 0, "completed": 0, "failed": 0}


def test_a_heartbeat_extends_only_the_workers_own_leases() -> None:
    queue = MemoryQueue(lease_timeout=0.2)
    for task in ("t1", "t2"):
        queue.submit(task, None)
    queue.claim("A")
    queue.claim("B")
    assert queue.heartbeat("A") == 1
    assert queue.heartbeat("nobody") == 0
