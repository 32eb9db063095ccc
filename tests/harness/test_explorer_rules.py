"""The explorer's state machine: one rule per actor and kind of step, chosen by
Hypothesis without its per-rule feature flags.

``machine._EveryRule`` replaces Hypothesis's rule strategy through two of its internals
(``RuleBasedStateMachine._rules_strategy`` and ``RuleStrategy.enabled_rules_strategy``,
hypothesis 6.170). Were they renamed, the replacement would be ignored silently and the
search would lose power without any error: this test fails instead.
"""

from __future__ import annotations

import pytest
import redis
from hypothesis import settings

from harness.explorer import machine
from harness.explorer.actors import Action
from harness.explorer.machine import Exploration, Sink, machine_for, queue_factory
from harness.explorer.oracle import Target
from harness.explorer.rules import WORKER_RULES
from harness.explorer.search import search
from harness.explorer.world import World, WorldConfig


def test_every_actor_gets_its_own_rules(redis_client: redis.Redis) -> None:
    cls = machine_for(Exploration(client=redis_client, factory=queue_factory("naive"), sink=Sink()))
    for name in ("w0_claim", "w1_complete", "w0_fail", "w0_step", "w1_crash", "j0_rescue",
                 "j1_step", "p_submit", "p_resubmit", "clock_advance"):  # fmt: skip
        assert callable(getattr(cls, name, None)), name


def test_rules_are_chosen_without_hypothesis_feature_flags(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def is_enabled(self: object, name: str) -> bool:
        asked.append(name)
        return True

    monkeypatch.setattr(machine._EveryFlag, "is_enabled", is_enabled)
    chosen = settings(settings.get_profile("dev"), max_examples=3, stateful_step_count=5)
    search(redis_client, queue_factory("safe"), target=Target(), settings=chosen, seed=0)
    assert asked, "Hypothesis no longer draws rules through machine._EveryRule"
    assert "w0_claim" in asked or "p_submit" in asked


def test_each_precondition_is_computed_once_per_step(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hypothesis asks a rule's precondition many times while it picks a rule (about 24
    calls a step); the machine answers from what it computed since the last step."""
    computed = 0
    claimable = WORKER_RULES[Action.CLAIM]

    def counted(world: World, actor: object) -> bool:
        nonlocal computed
        computed += 1
        return claimable(world, actor)

    monkeypatch.setitem(WORKER_RULES, Action.CLAIM, counted)
    chosen = settings(settings.get_profile("dev"), max_examples=20, stateful_step_count=20)
    result = search(redis_client, queue_factory("safe"), target=Target(), settings=chosen, seed=0)
    workers = WorldConfig().workers  # a claim rule each: one computation each per step at most
    assert 0 < computed <= workers * (result.steps + result.examples)
