"""The partial-order reduction: which steps commute, and the sleep sets built on that.

Independence is deliberately narrow, so it can be argued for any queue plugged in
through the contract rather than only for the reference ones:

    a *crash* of actor A is independent of every step of another actor B
    (and of another actor's crash), but not of the clock.

Why that holds: a crash sends nothing to Redis (the explorer abandons A's generator
and starts a new incarnation), does not call the model, and does not move ``seq``; a
step of B reads only Redis, the clock, B's own state and the model, none of which the
crash touches; and neither enables or disables the other (B's options do not depend
on A's). So from any state, ``crash A; u`` and ``u; crash A`` end in the same state.
(Assumption, stated: closing a paused generator performs no Redis I/O, i.e. queue
operations have no ``finally`` blocks that talk to Redis. The reference queues have
none.)

The engine explores the clock first, then crashes, then every other step, and passes
each child the sleep set of Godefroid's algorithm: the steps already explored from the
parent (or asleep there) that are independent of the step taken. With that order every
sleep set holds only crashes, so only crash transitions are ever skipped, and a skipped
``crash A`` out of ``p·u`` ends in ``p·crash A·u``, which the search reaches through
``u``: the same state, judged by the same state checks (only the finding's ``op``
label says ``u`` instead of ``crash``; a crash has no findings of its own). Sleep sets
never lose a reachable state; with the visited set, a state met again with a sleep set
that is not a superset of the one it was expanded with is expanded again for the
difference (see ``engine.py``).

Second, a symmetry: janitors have no identity the queue or the model can see (see
``fingerprint.py``), so of the idle janitors only the first may start a rescue. Any
run in which another idle janitor starts instead is the same run with the two
janitors' names swapped from that step on: the same findings at the same depth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from harness.explorer.actors import Action, Role, Step
from harness.explorer.world import CLOCK, World

# The order children are explored in (the sleep-set argument above relies on it):
# the clock, then crashes, then everything else in the world's own order.
FIRST = (Action.ADVANCE, Action.CRASH)


def independent(a: Step, b: Step) -> bool:
    """Whether ``a`` and ``b`` commute from every state where both are enabled."""
    if a.actor == b.actor or CLOCK in (a.actor, b.actor):
        return False
    return Action.CRASH in (a.action, b.action)


def child_sleep(asleep: frozenset[Step], explored: list[Step], taken: Step) -> frozenset[Step]:
    """The sleep set of the child reached by ``taken``."""
    return frozenset(s for s in (*asleep, *explored) if independent(s, taken))


def first_idle_janitor_only(world: World, steps: list[Step]) -> list[Step]:
    """Drop rescues started by any idle janitor but the first (the symmetry above)."""
    idle = [a.name for a in world.actors.values() if a.role is Role.JANITOR and a.idle]
    others = set(idle[1:])
    return [s for s in steps if not (s.action is Action.RESCUE and s.actor in others)]


def relabel(steps: frozenset[Step], names: Mapping[str, str]) -> frozenset[Step]:
    """The same steps with their actors renamed (to or from a representative's names)."""
    return frozenset(replace(s, actor=names.get(s.actor, s.actor)) for s in steps)
