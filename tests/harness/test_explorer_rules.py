"""The explorer's state machine: one rule per actor and kind of step, drawn by the
machine's own rule strategy (one choice per step, no per-rule feature flags).

``machine._EveryRule`` replaces Hypothesis's rule strategy through one of its internals
(``RuleBasedStateMachine._rules_strategy``, hypothesis 6.170). Were it renamed, the
replacement would be ignored silently and the search would lose power without any
error: the first test fails instead.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from hypothesis import settings

from harness.explorer import machine
from harness.explorer import world as worlds
from harness.explorer.actors import Action
from harness.explorer.machine import Exploration, Sink, machine_for, queue_factory
from harness.explorer.oracle import Target
from harness.explorer.rules import JANITOR_RULES, PRODUCER_RULES, WORKER_RULES, lease_live
from harness.explorer.search import search
from harness.explorer.world import World, WorldConfig


def test_every_actor_gets_its_own_rules(redis_client: redis.Redis) -> None:
    cls = machine_for(Exploration(client=redis_client, factory=queue_factory("naive"), sink=Sink()))
    for name in ("w0_claim", "w1_complete", "w0_fail", "w0_step", "w1_crash", "j0_rescue",
                 "j1_step", "p_submit", "p_resubmit", "clock_advance"):  # fmt: skip
        assert callable(getattr(cls, name, None)), name


def test_rules_are_drawn_by_the_machines_own_rule_strategy(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    draw = machine._EveryRule.do_draw

    def counted(self: machine._EveryRule, data: Any) -> tuple[Any, dict[str, Any]]:
        rule, arguments = draw(self, data)
        asked.append(rule.function.__name__)
        return rule, arguments

    monkeypatch.setattr(machine._EveryRule, "do_draw", counted)
    chosen = settings(settings.get_profile("dev"), max_examples=3, stateful_step_count=5)
    search(redis_client, queue_factory("safe"), target=Target(), settings=chosen, seed=0)
    assert asked, "Hypothesis no longer draws rules through machine._EveryRule"
    assert "w0_claim" in asked or "p_submit" in asked


def test_a_drawn_rule_is_enabled_and_its_arguments_are_among_its_options(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One index into the enabled rules, one into each argument's options: never a rule
    whose precondition is false, never a task the worker does not hold."""
    drawn: list[tuple[str, bool, dict[str, Any], dict[str, list[Any]]]] = []
    draw = machine._EveryRule.do_draw

    def checked(self: machine._EveryRule, data: Any) -> tuple[Any, dict[str, Any]]:
        rule, arguments = draw(self, data)
        m: Any = self.machine
        name = rule.function.__name__
        allowed = {k: list(of(m.world)) for k, of in m.options[name].items()}
        drawn.append((name, all(p(m) for p in rule.preconditions), arguments, allowed))
        return rule, arguments

    monkeypatch.setattr(machine._EveryRule, "do_draw", checked)
    chosen = settings(settings.get_profile("dev"), max_examples=30, stateful_step_count=30)
    search(redis_client, queue_factory("naive"), target=Target(), settings=chosen, seed=0)
    assert {name for name, *_ in drawn} >= {"w0_claim", "w0_complete", "w0_fail", "j0_rescue"}
    for name, enabled, arguments, allowed in drawn:
        assert enabled, name
        assert set(arguments) == set(allowed), name
        assert all(arguments[k] in allowed[k] for k in arguments), (name, arguments, allowed)


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


def test_the_enabled_rules_are_exactly_those_whose_precondition_holds(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The machine asks an actor with an operation in flight nothing but ``step`` and
    ``crash``, and each shared precondition once: the same set as asking every rule's
    precondition on its own, at every step of a search."""
    compared = 0
    draw = machine._EveryRule.do_draw

    def checked(self: machine._EveryRule, data: Any) -> tuple[Any, dict[str, Any]]:
        nonlocal compared
        m: Any = self.machine
        world = m.world
        roles = [(w, WORKER_RULES) for w in worlds.worker_names(world.config)]
        roles += [(j, JANITOR_RULES) for j in worlds.janitor_names(world.config)]
        roles += [(worlds.PRODUCER, PRODUCER_RULES)]
        expected = {
            machine.rule_name(actor, action)
            for actor, table in roles
            for action, when in table.items()
            if action not in m.quiet and when(world, world.actors[actor])
        }
        if not expected or (Action.ADVANCE not in m.quiet and lease_live(world, None)):
            expected.add(machine.rule_name(worlds.CLOCK, Action.ADVANCE))
        assert m.enabled() == expected
        compared += 1
        return draw(self, data)

    monkeypatch.setattr(machine._EveryRule, "do_draw", checked)
    chosen = settings(settings.get_profile("dev"), max_examples=30, stateful_step_count=30)
    for impl in ("naive", "safe"):
        search(redis_client, queue_factory(impl), target=Target(), settings=chosen, seed=0)
    assert compared > 500
