"""Breadth-first bounded search of every interleaving, with a visited set and sleep sets.

The search starts after the setup (the producer submits the ``tasks`` ids, each to
its end) and takes every enabled step of every actor — start an operation, one more
round trip, crash, the clock jumping past the lease — level by level up to ``depth``
steps. Each step is judged by the explorer's model as it happens (the world's
``perform``); once every target has a matching finding the search ends, and
because levels are explored in order, no shorter run has a matching finding.

With ``cache`` on, a state whose fingerprint (``fingerprint.py``) was met before is not
expanded again (breadth-first: it was met at a depth no greater than now, so with at
least as many steps left). With ``reduce`` on, sleep sets skip crash transitions that
commute with the step just taken (``reduction.py``); a state met again with a sleep
set that is not a superset of the one it was expanded with is expanded again for the
transitions it skipped. Both off is the plain search the soundness test compares to.

States are restored from snapshots (``snapshot.py``): a quiet state's own snapshot, or
the nearest quiet ancestor's plus a replay of the steps since. Between siblings, a step
that left every operation in flight untouched (it started a new one, moved the clock,
or crashed an idle actor) is undone in place instead: the read after it also put the
parent's keys back, in the same MULTI, and the Python side comes from a copy
(``stepping.Light``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

import redis

from harness.contract import ManualClock
from harness.explorer.actors import Action, Step
from harness.explorer.machine import QueueFactory
from harness.explorer.oracle import Finding, Target
from harness.explorer.trace import Stage
from harness.explorer.world import PRODUCER, World, WorldConfig
from harness.verify.fingerprint import EXACT, FULL, Abstraction, Print, RedisReader, fingerprint
from harness.verify.reduction import FIRST, child_sleep, first_idle_janitor_only, relabel
from harness.verify.snapshot import Snapshot, quiet, restore, take
from harness.verify.stepping import Light, VerifyWorld

# Every kind of step the search takes (new submits: the setup submits every task).
ACTIONS: tuple[Action, ...] = (
    Action.ADVANCE,
    Action.CRASH,
    Action.STEP,
    Action.CLAIM,
    Action.COMPLETE,
    Action.FAIL,
    Action.HEARTBEAT,
    Action.RESCUE,
    Action.RESUBMIT,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounds:
    workers: int = 2
    janitors: int = 2
    tasks: int = 2
    depth: int = 6
    actions: tuple[Action, ...] = ACTIONS
    targets: tuple[Target, ...] = (Target(),)  # the default matches any finding
    cache: bool = True
    reduce: bool = True
    stop_at_first: bool = True  # stop once every target has a counterexample
    budget_s: float | None = None  # give up (``timed_out``) after this many seconds
    cheap_undo: bool = True  # False: every sibling from a full restore (for tests)
    # Which states count as the same (``fingerprint.py``); a replay's policy uses EXACT.
    abstraction: Abstraction = FULL
    # Record ``seen`` under another abstraction than the search's own (for tests: the
    # search with EXACT must reach the very states the abstracted one reaches).
    seen_as: Abstraction | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Counterexample:
    target: Target
    path: tuple[Step, ...]  # after the setup; the last step exposed the findings
    findings: tuple[Finding, ...]
    elapsed_s: float  # when the search found it


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    depth: int
    states: int
    transitions: int
    frontier: int
    elapsed_s: float


@dataclass(slots=True, kw_only=True)
class VerifyResult:
    """What a search did: the shortest counterexample per target, and the figures."""

    bounds: Bounds
    setup: list[Step] = field(default_factory=list)
    found: list[Counterexample] = field(default_factory=list)  # in the order found
    seen: set[bytes] = field(default_factory=set)  # every distinct state fingerprint
    violating: dict[str, int] = field(default_factory=dict)  # kind -> shortest depth
    expanded: int = 0
    transitions: int = 0
    depth_done: int = 0  # levels fully explored
    elapsed_s: float = 0.0
    interrupted: bool = False  # Ctrl-C
    timed_out: bool = False  # the budget ran out


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    path: tuple[Step, ...]
    anchor: int  # the state after path[:anchor] has a snapshot
    asleep: frozenset[Step] = frozenset()
    only: frozenset[Step] | None = None  # a re-expansion: just these transitions
    twins: frozenset[str] = frozenset()  # actors whose steps mirror another's here


class Policy(Protocol):
    """Narrows the search (``harness replay``: only schedules consistent with a run)."""

    def allowed(self, world: World, path: tuple[Step, ...], steps: list[Step]) -> list[Step]:
        """Which of the enabled ``steps`` may be taken after ``path``."""
        ...

    def key(self, path: tuple[Step, ...]) -> bytes:
        """What of ``path`` decides ``allowed`` from here on (part of the fingerprint)."""
        ...


class Verifier:
    """One bounded search on one database (the client is flushed first)."""

    def __init__(
        self,
        client: redis.Redis,
        factory: QueueFactory,
        bounds: Bounds,
        policy: Policy | None = None,
    ) -> None:
        self.client, self.bounds, self.policy = client, bounds, policy
        self.raw = _undecoded(client)
        client.flushdb()
        clock = ManualClock()
        config = WorldConfig(
            workers=bounds.workers, janitors=bounds.janitors, max_tasks=bounds.tasks
        )
        queue = factory(client, clock)
        self.world = VerifyWorld(queue, clock, config, RedisReader(self.raw))
        self.snapshots: dict[tuple[Step, ...], Snapshot] = {}
        self.visited: dict[bytes, frozenset[Step]] = {}
        self.result = VerifyResult(bounds=bounds)
        self.started = time.perf_counter()

    def run(self, progress: Callable[[Progress], None] | None = None) -> VerifyResult:
        started = self.started = time.perf_counter()
        try:
            self._search(progress or (lambda _: None), started)
        except KeyboardInterrupt:
            self.result.interrupted = True
        finally:
            self.result.elapsed_s = time.perf_counter() - started
        return self.result

    def close(self) -> None:
        self.raw.close()

    def _search(self, progress: Callable[[Progress], None], started: float) -> None:
        root = self.setup()
        frontier = [root]
        last = 0.0
        for depth in range(self.bounds.depth):
            following: list[Node] = []
            for node in frontier:
                if self._expand(node, following) and self.bounds.stop_at_first:
                    return
                now = time.perf_counter()
                budget = self.bounds.budget_s
                if budget is not None and now - started > budget:
                    self.result.timed_out = True
                    return
                if now - last >= 1.0:
                    last = now
                    progress(self._progress(depth, len(frontier) + len(following), now - started))
            self._forget(following)
            self.result.depth_done = depth + 1
            frontier = following
            if not frontier:
                break

    def _progress(self, depth: int, frontier: int, elapsed: float) -> Progress:
        o = self.result
        return Progress(
            depth=depth + 1,
            states=len(o.seen),
            transitions=o.transitions,
            frontier=frontier,
            elapsed_s=elapsed,
        )

    def setup(self) -> Node:
        """Submit every task (each to its end); the root state, snapshotted."""
        world = self.world
        for _ in range(self.bounds.tasks):
            world.run_to_end(Step(actor=PRODUCER, action=Action.SUBMIT))
        world.stage = Stage.SEARCH
        self.result.setup = world.trace.steps(Stage.SETUP)
        self.snapshots[()] = take(world)
        root = self._fingerprint(())
        self.visited[root.digest] = frozenset()
        return Node(path=(), anchor=0, twins=root.twins if self.bounds.reduce else frozenset())

    def _forget(self, frontier: list[Node]) -> None:
        """Drop the snapshots no node of the next level is restored from."""
        needed = {n.path[: n.anchor] for n in frontier}
        for path in [p for p in self.snapshots if p not in needed]:
            del self.snapshots[path]

    # ---- one node ---------------------------------------------------------------------

    def _restore(self, node: Node) -> None:
        restore(self.raw, self.world, self.snapshots[node.path[: node.anchor]])
        for step in node.path[node.anchor :]:
            self.world.perform(step)

    def enabled(self, twins: frozenset[str] = frozenset()) -> list[Step]:
        """Every step some actor can take now, clock first, then crashes; none of the
        ``twins`` (actors whose every step mirrors another actor's, see ``Print``)."""
        order = [a for a in FIRST if a in self.bounds.actions]
        order += [a for a in self.bounds.actions if a not in FIRST]
        out: list[Step] = []
        for action in order:
            for step in self.world.options(action):
                out.append(step)
                if action is Action.FAIL:
                    out.append(replace(step, retry=True))
        if self.bounds.reduce and self.policy is None:  # a policy tells actors apart
            out = [s for s in out if s.actor not in twins]
            return first_idle_janitor_only(self.world, out)
        return out

    def _expand(self, node: Node, following: list[Node]) -> bool:
        """Take every step out of ``node``; True when a counterexample was found."""
        self._restore(node)
        self.result.expanded += 1
        steps = self.enabled(node.twins)
        if self.policy is not None:
            steps = self.policy.allowed(self.world, node.path, steps)
        todo = [s for s in steps if s not in node.asleep]
        if node.only is not None:
            todo = [s for s in todo if s in node.only]
        explored: list[Step] = []
        # ``parent`` shares the generators in flight: it is taken again after every
        # full restore, whose replay made new ones (the old may have been stepped).
        parent = Light.of(self.world)
        cheap = False  # the last step can be undone by putting ``parent`` back
        for n, step in enumerate(todo):
            if n and cheap:
                parent.put_back(self.world)  # its keys were restored with the last read
            elif n:
                self._restore(node)
                parent = Light.of(self.world)
            cheap = self.bounds.cheap_undo and self.world.starts_fresh(step)
            if cheap and n < len(todo) - 1:
                self.world.rewind_to = parent.state.dumped
            found = self._take(node, step, explored, following)
            self.world.rewind_to = None  # unread: the step sent nothing, the keys stand
            if found:
                return True
            explored.append(step)
        return False

    def _take(self, node: Node, step: Step, explored: list[Step], following: list[Node]) -> bool:
        world, bounds = self.world, self.bounds
        found = world.perform(step)
        self.result.transitions += 1
        path = (*node.path, step)
        if found and self._judge(path, found) and bounds.stop_at_first:
            return True
        fp = self._fingerprint(path)
        asleep = child_sleep(node.asleep, explored, step) if bounds.reduce else frozenset()
        child = self._child(fp, path, node, asleep)
        if child is not None and len(path) < bounds.depth:
            if child.anchor == len(path):
                self.snapshots[path] = take(world)
            following.append(child)
        return False

    def _fingerprint(self, path: tuple[Step, ...]) -> Print:
        """The state's print under the search's abstraction (EXACT under a policy,
        which tells actors apart); recorded in ``seen``."""
        world, bounds = self.world, self.bounds
        if self.policy is None:
            found = fingerprint(world, world.state, abstraction=bounds.abstraction)
        else:
            found = fingerprint(world, world.state, self.policy.key(path), abstraction=EXACT)
        if bounds.seen_as is None or self.policy is not None:
            self.result.seen.add(found.digest)
        else:
            self.result.seen.add(fingerprint(world, world.state, abstraction=bounds.seen_as).digest)
        return found

    def _judge(self, path: tuple[Step, ...], found: list[Finding]) -> bool:
        """Record counterexamples; True once every target has one."""
        result = self.result
        for f in found:
            result.violating.setdefault(str(f.kind), len(path))
        done = {c.target for c in result.found}
        for target in self.bounds.targets:
            matching = tuple(f for f in found if target.matches(f))
            if matching and target not in done:
                elapsed = time.perf_counter() - self.started
                found_one = Counterexample(
                    target=target, path=path, findings=matching, elapsed_s=elapsed
                )
                result.found.append(found_one)
        return len(result.found) == len(self.bounds.targets)

    def _child(
        self, fp: Print, path: tuple[Step, ...], parent: Node, asleep: frozenset[Step]
    ) -> Node | None:
        """The node to expand for this arrival, or None when it adds nothing.

        The visited set keeps sleep sets in the representative's names (``fp.labels``):
        a state met again under other actor names compares like with like."""
        anchor = len(path) if quiet(self.world) else parent.anchor
        twins = fp.twins if self.bounds.reduce else frozenset()
        if not self.bounds.cache:
            return Node(path=path, anchor=anchor, asleep=asleep, twins=twins)
        named = relabel(asleep, fp.labels)
        before = self.visited.get(fp.digest)
        if before is None:
            self.visited[fp.digest] = named
            return Node(path=path, anchor=anchor, asleep=asleep, twins=twins)
        if before <= named:
            return None  # expanded (or queued) with no more asleep than now
        self.visited[fp.digest] = before & named
        back = {label: actor for actor, label in fp.labels.items()}
        return Node(
            path=path,
            anchor=anchor,
            asleep=relabel(before & named, back),
            only=relabel(before - named, back),
            twins=twins,
        )


def _undecoded(client: redis.Redis) -> redis.Redis:
    """A client on the same database that returns bytes (DUMP payloads are binary)."""
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "decode_responses": False}
    return redis.Redis(connection_pool=redis.ConnectionPool(pool.connection_class, **kwargs))
