"""The public names a project's own tests use to replay a race found by ``harness hunt``.

A regression test written by ``harness hunt`` imports only from here and takes the
fixtures of qharness's pytest plugin (:mod:`harness.pytest_plugin`, registered through
the ``pytest11`` entry point), so it runs unchanged in any project that installs
qharness::

    from harness.testing import QueueFactoryMaker, findings_of, replay

    def test_no_lost(qharness_redis, qharness_queue_factory: QueueFactoryMaker) -> None:
        factory = qharness_queue_factory("my.module:MyQueue", lease_timeout=30.0)
        world = replay(qharness_redis, factory, STEPS, setup=SETUP)
        assert findings_of(world, "lost") == []

Everything else under ``harness.explorer`` may move; these names stay.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.explorer.machine import QueueFactory, queue_factory
from harness.explorer.oracle import Finding
from harness.explorer.search import replay
from harness.explorer.world import World, WorldConfig

# ``queue_factory``'s shape: (impl, *, lease_timeout) -> a factory the replay calls.
QueueFactoryMaker = Callable[..., QueueFactory]


def findings_of(world: World, kind: str) -> list[str]:
    """The explanations of ``world``'s findings of one kind (``[]`` when it held)."""
    return [f"{f.task_id}: {f.explanation}" for f in world.findings if f.kind == kind]


__all__ = [
    "Finding",
    "QueueFactory",
    "QueueFactoryMaker",
    "World",
    "WorldConfig",
    "findings_of",
    "queue_factory",
    "replay",
]
