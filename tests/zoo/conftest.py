"""Zoo adapters under test: each built on the per-test flushed real Redis, closed afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pytest
import redis

from harness.contract import ManualClock, TaskId, TaskQueue, TaskStatus, drive

LEASE = 30.0


class Closable(TaskQueue, Protocol):
    def close(self) -> None: ...
    def on_clock_advance(self, seconds: float) -> None: ...


Build = Callable[..., tuple[Any, ManualClock]]


@pytest.fixture
def build(redis_client: redis.Redis) -> Iterator[Build]:
    """``build(Class, **options)`` -> (queue, clock) on a flushed database."""
    made: list[Closable] = []

    def make(cls: type[Any], **options: Any) -> tuple[Any, ManualClock]:
        clock = ManualClock()
        queue = cls(redis_client, clock=clock, lease_timeout=LEASE, **options)
        made.append(queue)
        return queue, clock

    yield make
    for queue in made:
        queue.close()


def advance(queue: Closable, clock: ManualClock, seconds: float) -> None:
    """Move the injected clock and let the adapter age what its library timed in real time."""
    clock.advance(seconds)
    queue.on_clock_advance(seconds)


def submit(queue: TaskQueue, *ids: str) -> None:
    for task_id in ids:
        assert drive(queue.submit("{}", TaskId(task_id))).created


def status(queue: TaskQueue, task_id: str) -> TaskStatus:
    view = drive(queue.inspect(TaskId(task_id)))
    assert view is not None
    return view.status
