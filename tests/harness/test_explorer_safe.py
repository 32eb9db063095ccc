"""The same generic machine finds nothing in the safe queue — model and history agree.

Runs under the loaded Hypothesis profile (``--hypothesis-profile ci|thorough``; ``ci``
under ``CI=1``), with the analyzer's checks judging every example's history too.
"""

from __future__ import annotations

import redis
from hypothesis import settings

from harness.checks.verdicts import Kind
from harness.contract import Outcome
from harness.explorer.machine import queue_factory
from harness.explorer.oracle import Target
from harness.explorer.search import judge_history, replay, search

SAFE = queue_factory("safe")


def test_safe_queue_keeps_every_promise(redis_client: redis.Redis) -> None:
    result = search(
        redis_client, SAFE, target=Target(), settings=settings(), seed=0, judge=judge_history
    )
    assert result.examples > 10  # it really explored
    found = result.findings()
    assert not result.found, [f"{f.kind} {f.task_id}: {f.explanation}" for f in found]


def test_safe_queue_rejects_the_naive_counterexamples(redis_client: redis.Redis) -> None:
    """The naive queue's minimal races, replayed literally against safe: no finding."""
    races = [
        ["W0 claim", "W0 crash"],  # F1
        ["W0 claim", "clock advance", "J0 rescue", "W0 complete t0"],  # F4/F5
        ["W0 claim", "clock advance", "J0 rescue", "J1 rescue", "W1 claim", "W2 claim"],  # F7
        [
            "W0 claim",
            "clock advance",
            "J0 rescue",
            "W1 claim",
            "W1 complete t0",
            "W0 fail t0",
        ],  # F8
    ]
    for steps in races:
        world = replay(redis_client, SAFE, steps, setup=["P submit"])
        assert world.findings == [], (steps, world.findings)
        assert judge_history(world.history.events, 30.0) == []
    # The naive queue's literal F4/F5 steps (multi-round-trip ops) replay on safe too.
    naive_steps = ["W0 claim", "W0 step", "W0 step", "clock advance", "J0 rescue", "J0 step",
                   "W0 complete t0", "W0 step"]  # fmt: skip
    world = replay(redis_client, SAFE, naive_steps, setup=["P submit", "P step"])
    outcomes = [r.result for r in world.trace.records if r.step.actor == "W0"]
    assert Outcome.NOT_PROCESSING in outcomes
    assert world.findings == []
    assert Kind.LOST not in {f.kind for f in world.findings}


def test_a_dead_lettered_task_is_not_called_lost_by_the_history_checks(
    redis_client: redis.Redis,
) -> None:
    """The safe queue fails a task whose lease expired five times (its dead letter): the
    history alone has no event for that, so the checks read the queue's final state, as
    they read a deployment's ``audit.json``."""
    expire_once = ["W0 claim", "clock advance", "J0 rescue"]
    world = replay(redis_client, SAFE, expire_once * 5, setup=["P submit"])
    assert not world.findings  # the model agrees: failed after five expirations
    final = world.views()
    assert [(str(v.status), v.attempts) for v in final.values() if v] == [("failed", 5)]
    assert judge_history(world.history.events, world.queue.lease_timeout, final) == []
    lost = judge_history(world.history.events, world.queue.lease_timeout)
    assert [f.kind for f in lost] == [Kind.LOST]  # (what it said without the queue's view)
