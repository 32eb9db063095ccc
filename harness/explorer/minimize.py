"""A last, cheap shrinking pass over a counterexample's literal steps.

Hypothesis shrinks choice sequences; a state machine's choices shift meaning when a
step before them disappears, so its result can keep steps that are not needed. This
pass replays the literal steps (deterministic: the clock is manual) with one step —
or one actor's whole operation — left out at a time, keeping every cut after which
the same kind of finding still appears, until no cut helps. Steps that a cut makes
impossible (completing a claim never made) reject that cut.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import redis

from harness.contract import ManualClock
from harness.explorer.actors import Action, Step
from harness.explorer.machine import QueueFactory
from harness.explorer.oracle import Target
from harness.explorer.trace import Stage
from harness.explorer.world import World, WorldConfig


def minimize(
    client: redis.Redis,
    factory: QueueFactory,
    world: World,
    target: Target,
    *,
    config: WorldConfig | None = None,
    max_replays: int = 400,
    deadline: float | None = None,
) -> World:
    """The smallest replay of ``world``'s steps that still has a ``target`` finding
    (the smallest found by ``deadline``, a ``time.perf_counter()`` instant, if given)."""
    config = config or world.config
    setup, steps = world.trace.steps(Stage.SETUP), world.trace.steps(Stage.SEARCH)
    best, replays = world, 0
    improved = True
    while improved and replays < max_replays:
        improved = False
        for new_setup, new_steps in _cuts(setup, steps):
            replays += 1
            candidate = strict_replay(client, factory, new_setup, new_steps, config)
            if candidate is not None and any(target.matches(f) for f in candidate.findings):
                best, setup, steps, improved = candidate, new_setup, new_steps, True
                break
            if replays >= max_replays or (deadline is not None and time.perf_counter() >= deadline):
                break
    return best


def _cuts(setup: list[Step], steps: list[Step]) -> list[tuple[list[Step], list[Step]]]:
    """Candidates, biggest cuts first: an actor's steps from some point on, a whole
    operation, then a single step."""
    out: list[tuple[list[Step], list[Step]]] = []
    for i, step in enumerate(steps):
        rest = [s for j, s in enumerate(steps) if j < i or s.actor != step.actor]
        if len(rest) < len(steps) - 1:
            out.append((setup, rest))
    for i in range(len(steps)):
        op = _operation(steps, i)
        if len(op) > 1:
            out.append((setup, [s for j, s in enumerate(steps) if j not in op]))
    out += [(setup, steps[:i] + steps[i + 1 :]) for i in range(len(steps))]
    starts = [i for i, s in enumerate(setup) if s.action is Action.SUBMIT]
    for i in starts if len(starts) > 1 else []:
        op = _operation(setup, i)
        out.append(([s for j, s in enumerate(setup) if j not in op], steps))
    return out


def _operation(steps: Sequence[Step], start: int) -> set[int]:
    """Index ``start`` and the later ``step``s of the same actor that continue it."""
    actor = steps[start].actor
    if steps[start].action in (Action.STEP, Action.CRASH, Action.ADVANCE):
        return {start}
    op = {start}
    for j in range(start + 1, len(steps)):
        if steps[j].actor != actor:
            continue
        if steps[j].action is not Action.STEP:
            break
        op.add(j)
    return op


def strict_replay(
    client: redis.Redis,
    factory: QueueFactory,
    setup: Sequence[Step],
    steps: Sequence[Step],
    config: WorldConfig,
) -> World | None:
    """Replay, drain and judge; ``None`` if some step is impossible at its turn."""
    client.flushdb()
    clock = ManualClock()
    world = World(factory(client, clock), clock, config)
    for i, step in enumerate([*setup, *steps]):
        if i == len(setup):
            world.stage = Stage.SEARCH
        if not world.allows(step):
            return None
        world.perform(step)
    world.stage = Stage.SEARCH
    world.drain()
    return world
