"""The explorer resubmits an id only to a queue that promises idempotent submit.

A queue without it (``idempotent_submit = False``: taskiq-redis's ``kick`` always adds a
message) turns a second submit of one id into a second task, so two claims and two
completions of that id would be the caller's duplicate, not a race of the queue.
"""

from __future__ import annotations

import redis

from harness.contract import ManualClock, TaskQueue
from harness.explorer.actors import Action
from harness.explorer.world import PRODUCER, World, WorldConfig
from reference_queue import make_queue


class _NoIdempotentSubmit:
    """The safe reference queue, declared as a library without idempotent submit."""

    def __init__(self, queue: TaskQueue) -> None:
        self._queue = queue
        self.idempotent_submit = False

    def __getattr__(self, name: str) -> object:
        return getattr(self._queue, name)


def _world_after_one_submit(queue: TaskQueue, clock: ManualClock) -> World:
    world = World(queue, clock, WorldConfig())
    world.perform(world.options(Action.SUBMIT)[0])
    while world.options(Action.STEP):
        world.perform(world.options(Action.STEP)[0])
    return world


def test_a_queue_with_idempotent_submit_is_offered_resubmits(redis_client: redis.Redis) -> None:
    clock = ManualClock()
    world = _world_after_one_submit(make_queue("safe", redis_client, clock=clock), clock)
    assert [s.task_id for s in world.options(Action.RESUBMIT)] == ["t0"]
    assert [s.actor for s in world.options(Action.RESUBMIT)] == [PRODUCER]


def test_a_queue_without_idempotent_submit_is_never_offered_one(
    redis_client: redis.Redis,
) -> None:
    clock = ManualClock()
    inner = make_queue("safe", redis_client, clock=clock)
    world = _world_after_one_submit(_NoIdempotentSubmit(inner), clock)  # type: ignore[arg-type]
    assert world.submitted == ["t0"]
    assert world.options(Action.RESUBMIT) == []
    assert [s.task_id for s in world.options(Action.SUBMIT)] == ["t1"]
